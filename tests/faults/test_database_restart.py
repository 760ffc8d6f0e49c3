"""PostgreSQL restarted under the running web server and worker.

The test starts a PostgreSQL server of its own (initdb in a temporary folder, a free port),
never the machine's shared one, and restarts that.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.conftest import Site, free_port, migrate, wait_for

pytestmark = pytest.mark.faults


class PostgreSQL:
    """A throwaway PostgreSQL server: its own data folder and port."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        path = shutil.which("pg_ctl")
        self.bin = Path(found[-1]).parent if found else Path(path).parent if path else None
        assert self.bin is not None, "PostgreSQL's server programs (pg_ctl, initdb) are missing"
        self.folder = Path(tempfile.mkdtemp(prefix="careportal-faults-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/careportal"
        # initdb refuses to run as root: the server runs as the postgres user then.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.folder, account.pw_uid, account.pw_gid)

    def _run(self, *command: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run(
            [*prefix, *command], check=True, capture_output=True, timeout=timeout, cwd=self.folder
        )

    def create(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust")
        self.start()
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as db:
            db.execute("CREATE DATABASE careportal")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c fsync=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "server.log"), "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[PostgreSQL]:
    server = PostgreSQL()
    try:
        server.create()
        yield server
    finally:
        server.remove()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return 0, ""


def test_web_and_worker_ride_out_a_postgresql_restart(postgres, smtp, mailbox, tmp_path):
    site = Site(postgres.url, smtp.port, tmp_path)
    try:
        migrate(site.env)
        port = free_port()
        site.start("runserver", f"127.0.0.1:{port}", "--noreload", name="web")
        worker = site.start_worker()
        page = f"http://127.0.0.1:{port}/accounts/login/"
        wait_for(lambda: _get(page)[0] == 200, timeout=60)

        # Queued while the SMTP server is down: the worker will retry them.
        site.run("queue", "20")
        wait_for(lambda: site.states()["states"].get("retrying") == 20, timeout=30)

        postgres.stop()
        status, html = _get(page)
        assert status == 503 and "be right back" in html
        smtp.start()
        time.sleep(3)  # the worker meets the database down, and waits
        assert worker.poll() is None

        postgres.start()
        wait_for(lambda: _get(page)[0] == 200, timeout=30)
        site.run("queue", "20")

        def all_sent():
            """40 invitations sent after the restart"""
            return site.states()["states"].get("sent") == 40

        wait_for(all_sent, timeout=60)
        assert worker.poll() is None
        recipients = Counter(rcpt for rcpt, _content in mailbox.received)
        assert len(recipients) == 40 and set(recipients.values()) == {1}
    finally:
        site.stop_all()
