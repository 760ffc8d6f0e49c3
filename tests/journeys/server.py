"""A real CarePortal for the browser journeys: a server process, a worker, an SMTP mailbox.

Everything listens on loopback only and everything it starts is stopped by `stop()`. The
server uses a fresh SQLite file in a temporary folder, whatever DATABASE_URL the caller has,
so the journeys never touch a developer's database and run the same on every machine.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.journeys import run_record

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
COMMAND_TIMEOUT = 300.0


def free_port() -> int:
    """Return a TCP port that is free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass
class Mail:
    """One message received by the test SMTP server."""

    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def text(self) -> str:
        """Return the plain-text body (or the only body there is)."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def find(self, pattern: str) -> str:
        """Return the first group of `pattern` (or the whole match) in the plain-text body.

        For example `mail.find(r"One-time password:\\s*(\\S+)")`.
        """
        found = re.search(pattern, self.text)
        if found is None:
            raise AssertionError(f"{pattern!r} is not in the email {self.subject!r}:\n{self.text}")
        return found.group(1) if found.groups() else found.group(0)

    def links(self) -> list[str]:
        """Return the http(s) links of the plain-text body, in order."""
        return re.findall(r"https?://[^\s<>\"')]+", self.text)


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given, for tests to read."""

    def __init__(self) -> None:
        self._mails: list[Mail] = []
        self._lock = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mail = Mail(sender=envelope.mail_from, recipients=list(envelope.rcpt_tos), message=message)
        with self._lock:
            self._mails.append(mail)
            self._lock.notify_all()
        return "250 Message accepted for delivery"

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def clear(self) -> None:
        with self._lock:
            self._mails.clear()

    def wait_for(
        self,
        to: str | None = None,
        *,
        match: Callable[[Mail], bool] | None = None,
        timeout: float = 30.0,
    ) -> Mail:
        """Return the first message to `to` (and matching `match`), waiting up to `timeout`.

        Raise AssertionError naming what did arrive when nothing matches in time.
        """

        def found() -> Mail | None:
            for mail in self._mails:
                if to is not None and to.lower() not in (r.lower() for r in mail.recipients):
                    continue
                if match is not None and not match(mail):
                    continue
                return mail
            return None

        deadline = time.monotonic() + timeout
        with self._lock:
            while (mail := found()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.recipients, m.subject) for m in self._mails]
                    raise AssertionError(f"No email to {to!r} within {timeout}s; received {seen}")
                self._lock.wait(left)
            return mail


class SmtpServer:
    """An SMTP server on loopback, run by aiosmtpd in a thread of its own."""

    def __init__(self) -> None:
        # aiosmtpd narrates every connection at INFO; only its warnings help a failing test.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(
            self.mailbox, hostname=LOOPBACK, port=self.port, ready_timeout=10
        )

    @property
    def url(self) -> str:
        return f"smtp://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._controller.stop()


class JourneyServer:
    """CarePortal served by `manage.py runserver` on a fresh SQLite file, with its worker.

    `data` is "cast" (tests.cast.build_cast, the suite's shared cast) or "demo"
    (`manage.py seed_demo` when that command exists, the cast otherwise).
    """

    def __init__(self, *, data: str = "cast") -> None:
        if data not in ("cast", "demo"):
            raise ValueError(f"data must be 'cast' or 'demo', not {data!r}")
        self.data = data
        self.folder = Path(tempfile.mkdtemp(prefix="careportal-journeys-"))
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.smtp = SmtpServer()
        while self.smtp.port == self.port:  # two free ports, not the same one twice
            self.smtp = SmtpServer()
        self.worker_started = False
        self.seed_output = ""
        self._processes: list[tuple[str, subprocess.Popen, Path]] = []
        self._commands: set[str] | None = None

    @property
    def mailbox(self) -> Mailbox:
        return self.smtp.mailbox

    @property
    def env(self) -> dict[str, str]:
        """Return the environment of every process this server starts."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "EMAIL_", "SITE_", "PG"))
        }
        database = self.folder / "careportal.sqlite3"
        env.update(
            DJANGO_SETTINGS_MODULE="careportal.settings",
            DEBUG="true",
            # Several processes share the file: wait for a lock rather than fail at once.
            DATABASE_URL=f"sqlite:///{database}?timeout=20&transaction_mode=IMMEDIATE",
            SITE_URL=self.url,
            EMAIL_URL=self.smtp.url,
            MEDIA_ROOT=str(self.folder / "media"),
            ALLOWED_HOSTS=f"{LOOPBACK},localhost",
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def manage(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run a management command against this server's database and return its output."""
        return self._run(str(ROOT / "manage.py"), *args, timeout=timeout)

    def record(self, function: str, **arguments: Any) -> Any:
        """Run `function(**arguments)` of tests/journeys/records.py in this server's database
        and return what it returned (JSON values both ways)."""
        output = self._run(
            "-m",
            "tests.journeys.run_record",
            function,
            json.dumps(arguments),
            timeout=COMMAND_TIMEOUT,
        )
        return run_record.result(output)

    def _run(self, *args: str, timeout: float) -> str:
        result = subprocess.run(  # noqa: S603 (our own scripts, arguments from our code)
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout + result.stderr

    def has_command(self, name: str) -> bool:
        """Return whether `manage.py <name>` exists in this tree."""
        if self._commands is None:
            output = self.manage("help", "--commands", timeout=60)
            self._commands = {line.strip() for line in output.splitlines()}
        return name in self._commands

    def _prepare(self) -> dict:
        """Migrate, make the cache table and load the data, in one process; return its report."""
        output = self._run("-m", "tests.journeys.prepare", self.data, timeout=COMMAND_TIMEOUT)
        lines = output.splitlines()
        report = json.loads(
            next(line for line in reversed(lines) if line.startswith("PREPARED "))[9:]
        )
        self.seed_output = output
        self._commands = set(report["commands"])
        return report

    def start(self) -> JourneyServer:
        try:
            self.smtp.start()
            report = self._prepare()
            self._spawn(
                "server",
                "runserver",
                "--noreload",
                "--skip-checks",
                f"{LOOPBACK}:{self.port}",
            )
            self._wait_until_ready()
            if self.has_command("run_worker"):
                # A pass every second (when the worker takes --interval) keeps journeys quick.
                fast = ["--interval", "1"] if report["worker_interval"] else []
                self._spawn("worker", "run_worker", *fast)
                self.worker_started = True
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, *args: str) -> None:
        log_path = self.folder / f"{name}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(  # noqa: S603 (our own manage.py, arguments from our code)
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._processes.append((name, process, log_path))

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        probe = f"{self.url}/accounts/login/"
        while time.monotonic() < deadline:
            for name, process, _ in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"The {name} process exited ({process.returncode}):\n{self.log(name)}"
                    )
            try:
                with urllib.request.urlopen(probe, timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"No answer from {probe} in {START_TIMEOUT}s:\n{self.log('server')}")

    def log(self, name: str = "server", tail: int = 6000) -> str:
        """Return the end of a process's output ("server" or "worker"), to explain a failure."""
        for process_name, _, path in self._processes:
            if process_name == name and path.exists():
                return path.read_text(errors="replace")[-tail:]
        return ""

    def stop(self) -> None:
        # Each process leads a session of its own, so its children (if any) end with it.
        for _, process, _ in reversed(self._processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for _, process, _ in reversed(self._processes):
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)
        self._processes.clear()
        self.smtp.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> JourneyServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
