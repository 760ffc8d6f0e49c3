"""The fault tests' harness: real processes (the worker, the web server, PostgreSQL) and a
real SMTP server on loopback, each stopped in a `finally` and bounded in time.

The processes share a database of the tests' own (an SQLite file migrated once per run,
copied for each test), never the suite's test database nor the machine's PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
# aiosmtpd logs every SMTP command at INFO: thousands of lines a test.
logging.getLogger("mail.log").setLevel(logging.WARNING)
SETTINGS = "tests.faults.settings"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], *, timeout: float, step: float = 0.25) -> Any:
    """Return the first true value of condition(), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Not reached in {timeout} seconds: {condition.__doc__ or condition}")
        time.sleep(step)


class Mailbox:
    """An SMTP server's behaviour: keep what it receives, refuse one recipient with 550,
    and take `delay` seconds over each message."""

    def __init__(self, refused: str = "", delay: float = 0.0) -> None:
        self.refused = refused
        self.delay = delay
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, envelope.content.decode()))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def passwords(self) -> dict[str, str]:
        """Return {username: one-time password} of the invitations received."""
        found = {}
        with self.lock:
            for _rcpt, content in self.received:
                body = email.message_from_string(content)
                text = next(
                    part.get_payload(decode=True).decode()
                    for part in body.walk()
                    if part.get_content_type() == "text/plain"
                )
                username = re.search(r"^Username: (\S+)\s*$", text, re.M).group(1)
                found[username] = re.search(r"^One-time password: (\S+)\s*$", text, re.M).group(1)
        return found


class SMTPServer:
    """aiosmtpd on a loopback port, started and stopped at will."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            with contextlib.suppress(Exception):
                self.controller.stop()
            self.controller = None


class Site:
    """The environment of the processes a test starts, and the commands it runs."""

    def __init__(self, database_url: str, smtp_port: int, workdir: Path) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DEBUG": "true",
            "DATABASE_URL": database_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "PYTHONPATH": str(ROOT),
        }

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> dict:
        """Run `python -m tests.faults.scenario ...`; return its JSON answer."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.faults.scenario", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def states(self) -> dict[str, Any]:
        """Return the invitations' states, read straight from the database (no Django
        process to start on every poll: the machine's cores are for the worker)."""
        sql = "SELECT email, state, attempts, last_error FROM invitations_invitation"
        if self.database_url.startswith("sqlite:"):
            with contextlib.closing(sqlite3.connect(self.database_url[len("sqlite:///") :])) as db:
                rows = db.execute(sql).fetchall()
        else:
            import psycopg

            with psycopg.connect(self.database_url.replace("postgres://", "postgresql://")) as db:
                rows = db.execute(sql).fetchall()
        by_email = {
            row[0]: {"state": row[1], "attempts": row[2], "last_error": row[3]} for row in rows
        }
        return {"states": dict(Counter(row[1] for row in rows)), "by_email": by_email}

    def start(self, *args: str, name: str) -> subprocess.Popen:
        """Start `manage.py <args>` in the background, its output in a log of the test."""
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def start_worker(self, name: str = "worker") -> subprocess.Popen:
        return self.start("run_worker", "--interval", "0.5", name=name)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def migrate(env: dict[str, str], timeout: float = 240) -> None:
    """Create the tables of the database `env` names."""
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=timeout,
            check=True,
        )


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """Return an SQLite file with every table, made once per run and copied by each test."""
    path = tmp_path_factory.mktemp("faults-db") / "template.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{path}",
        "PYTHONPATH": str(ROOT),
    }
    migrate(env)
    return path


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp(mailbox) -> Iterator[SMTPServer]:
    server = SMTPServer(mailbox)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def site(migrated_sqlite, smtp, tmp_path) -> Iterator[Site]:
    database = tmp_path / "faults.sqlite3"
    shutil.copy(migrated_sqlite, database)
    site = Site(f"sqlite:///{database}", smtp.port, tmp_path)
    try:
        yield site
    finally:
        site.stop_all()
