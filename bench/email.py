"""Email at scale: accounts created and queued per second, deliveries per second.

`measure_email(database_url)` returns the figures; `python -m bench.email [DATABASE_URL]`
prints them. The run happens in a process of its own with production settings (DEBUG
off), so it does not disturb the caller's Django. On the given database (PostgreSQL; the
tables are made if missing) it:

1. makes sure 5,000 logins exist already (the agency that moves in is not the first);
2. creates 10,000 clients of a new agency and times `invite_parties` giving them logins and
   queued invitations, in one call;
3. times the real worker (`manage.py run_worker`) delivering 3,000 of them to an SMTP
   server on loopback (aiosmtpd), then two workers delivering 4,000 more, and checks that
   no invitation went twice; then one worker delivering 2,000 other emails (account
   notices, through post_office), and how long an idle worker (30-second interval) takes
   to deliver an invitation queued while it waits (woken by NOTIFY);
4. times one sign-in (`authenticate`) and, apart, the Argon2 check inside it.

The agency of an earlier run is deleted first, so runs do not pile up.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AGENCY_NAME = "Email Bench Home Care"
EXISTING_LOGINS = 5_000
NEW_ACCOUNTS = 10_000
ONE_WORKER = 3_000
TWO_WORKERS = 4_000
OTHER_EMAILS = 2_000
FIRST = [
    "James",
    "Mary",
    "John",
    "Linda",
    "Robert",
    "Maria",
    "Ana",
    "Luis",
    "Wei",
    "Fatima",
    "Olga",
    "Ivan",
    "Kim",
    "Sara",
    "Tom",
]
LAST = [
    "Smith",
    "Johnson",
    "Garcia",
    "Lee",
    "Brown",
    "Davis",
    "Lopez",
    "Nguyen",
    "Patel",
    "Kim",
    "Cohen",
    "Silva",
    "Rossi",
    "Khan",
]


def measure_email(database_url: str) -> dict[str, Any]:
    """Return the email figures measured on `database_url` (see the module's docstring)."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.email", "--inner", database_url],
        cwd=ROOT,
        env=_environment(database_url, smtp_port=0),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.email failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _environment(database_url: str, *, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "careportal.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "https://portal.example.org",
        "DATABASE_URL": database_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}" if smtp_port else "dummymail://",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def _inner(database_url: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("createcachetable", verbosity=0)
    figures: dict[str, Any] = {}
    agency = _fresh_agency()
    figures.update(_measure_creation(agency))
    figures.update(_measure_delivery(database_url))
    figures.update(_measure_sign_in(agency))
    figures.update(_measure_import())
    return figures


IMPORT_AGENCY_NAME = "Import Bench Home Care"
IMPORTED_CLIENTS = 5_000


def _measure_import() -> dict[str, Any]:
    """Time a CSV import of 5,000 clients with two emergency contacts each (issue 13), in
    an agency of its own made anew: the preview, then the import with its logins and
    invitations queued, as the worker runs it."""
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency
    from careportal.imports.timing import time_client_import
    from careportal.invitations.models import Invitation

    for old in Agency.objects.filter(name=IMPORT_AGENCY_NAME):
        Invitation.objects.filter(agency=old).delete()
        User.objects.filter(agency=old).delete()
        old.delete()
    agency = Agency.objects.create(name=IMPORT_AGENCY_NAME)
    timed = time_client_import(agency=agency, count=IMPORTED_CLIENTS)
    return {
        "import_clients": timed["clients"],
        "import_contacts": timed["contacts"],
        "import_preview_seconds": timed["preview_seconds"],
        "import_seconds": timed["import_seconds"],
        "import_invitations_queued": timed["invitations_queued"],
    }


def _fresh_agency() -> Any:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency
    from careportal.invitations.models import Invitation

    for old in Agency.objects.filter(name=AGENCY_NAME):
        Invitation.objects.filter(agency=old).delete()
        User.objects.filter(agency=old).delete()
        old.delete()
    missing = EXISTING_LOGINS - User.objects.count()
    if missing > 0:
        from django.contrib.auth.hashers import make_password

        others = Agency.objects.create(name="Email Bench Neighbours")
        User.objects.bulk_create(
            [
                User(
                    agency=others,
                    username=f"{FIRST[n % len(FIRST)]}.{LAST[n // len(FIRST) % len(LAST)]}"
                    f"{n // (len(FIRST) * len(LAST)) or ''}".lower(),
                    email=f"neighbour{n}@mail.example",
                    password=make_password(None),
                )
                for n in range(missing)
            ],
            batch_size=2000,
        )
    return Agency.objects.create(name=AGENCY_NAME)


def _measure_creation(agency: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from careportal.accounts.models import User
    from careportal.invitations.services import invite_parties
    from careportal.people.models import Client

    clients = Client.objects.bulk_create(
        [
            Client(
                agency=agency,
                first_name=FIRST[n % len(FIRST)],
                last_name=LAST[(n // len(FIRST)) % len(LAST)],
                email=f"client{n}@mail.example",
            )
            for n in range(NEW_ACCOUNTS)
        ],
        batch_size=2000,
    )
    existing = User.objects.count()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        summary = invite_parties(agency=agency, parties=clients)
    seconds = time.perf_counter() - started
    assert len(summary.invited) == NEW_ACCOUNTS, summary
    return {
        "accounts_existing_logins": existing,
        "accounts_created": NEW_ACCOUNTS,
        "accounts_seconds": round(seconds, 2),
        "accounts_per_second": round(NEW_ACCOUNTS / seconds),
        "accounts_queries": len(queries),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Counting:
    """An SMTP server that accepts everything and counts the recipients."""

    def __init__(self) -> None:
        self.recipients: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.recipients.update(envelope.rcpt_tos)
        return "250 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.recipients.values())


def _measure_delivery(database_url: str) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    server = _Counting()
    port = _free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    env = _environment(database_url, smtp_port=port)
    figures: dict[str, Any] = {}
    try:
        for workers, target in ((1, ONE_WORKER), (2, ONE_WORKER + TWO_WORKERS)):
            figures[f"deliveries_per_second_{workers}_worker{'s' if workers > 1 else ''}"] = (
                _deliver(env, server, workers=workers, target=target)
            )
        # Counted now: the next legs write to the same people again.
        figures["deliveries_sent_twice"] = sum(n - 1 for n in server.recipients.values() if n > 1)
        _hold_remaining_invitations()
        _queue_other_emails()
        figures["other_emails_per_second_1_worker"] = _deliver(
            env, server, workers=1, target=server.total() + OTHER_EMAILS
        )
        figures["idle_worker_wake_ms"] = _wake(env, server)
    finally:
        controller.stop()
    return figures


def _hold_remaining_invitations() -> None:
    """Put the invitations not yet sent out of the next legs' way (this run's data)."""
    import datetime

    from django.utils import timezone

    from careportal.agencies.models import Agency
    from careportal.invitations.models import PENDING_STATES, Invitation

    Invitation.objects.filter(
        agency__in=Agency.objects.filter(name=AGENCY_NAME), state__in=PENDING_STATES
    ).update(next_attempt_at=timezone.now() + datetime.timedelta(days=1))


def _queue_other_emails() -> None:
    """Queue OTHER_EMAILS account notices (post_office), as a busy afternoon would."""
    from django.db import transaction

    from careportal.accounts.emails import queue_account_email
    from careportal.accounts.models import User

    users = User.objects.filter(agency__name=AGENCY_NAME).select_related("agency")
    with transaction.atomic():
        for user in users.order_by("pk")[:OTHER_EMAILS]:
            queue_account_email(to=user.email, template="password_changed", context={}, user=user)


def _wake(env: dict[str, str], server: _Counting) -> int:
    """Return the milliseconds from queuing an invitation to its arrival, with an idle
    worker waiting 30 seconds between passes (PostgreSQL wakes it with NOTIFY)."""
    from django.db import transaction

    from careportal.invitations.models import Invitation, InvitationState
    from careportal.invitations.services import queue_invitation

    user = Invitation.objects.filter(state=InvitationState.SENT).order_by("pk").first().user
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "run_worker", "--interval", "30"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(5)  # started, one pass made, and waiting
        before = server.total()
        started = time.monotonic()
        with transaction.atomic():
            queue_invitation(user=user)
        while server.total() == before and time.monotonic() - started < 60:
            time.sleep(0.002)
        return round((time.monotonic() - started) * 1000)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _deliver(env: dict[str, str], server: _Counting, *, workers: int, target: int) -> int:
    """Run `workers` workers until `target` emails arrived in all; return this leg's rate."""
    start_count = server.total()
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--interval", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _n in range(workers)
    ]
    try:
        # Timed from the first email in, so that the processes' start is not counted.
        deadline = time.monotonic() + 600
        while server.total() == start_count and time.monotonic() < deadline:
            time.sleep(0.01)
        started, first = time.monotonic(), server.total()
        while server.total() < target and time.monotonic() < deadline:
            time.sleep(0.05)
        seconds = time.monotonic() - started
        return round((server.total() - first) / seconds)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _measure_sign_in(agency: Any) -> dict[str, Any]:
    from django.contrib.auth import authenticate
    from django.contrib.auth.hashers import check_password
    from django.test import RequestFactory

    from careportal.accounts.models import User

    password = "Bench-sign-in-2026!"  # noqa: S105 - a benchmark login, deleted next run
    user = User.objects.filter(agency=agency).order_by("pk").first()
    user.set_password(password)
    user.must_change_password = False
    user.save()
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="127.0.0.1")
    rounds = 5
    started = time.perf_counter()
    for _n in range(rounds):
        assert authenticate(request, username=user.username, password=password) is not None
    sign_in = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    for _n in range(rounds):
        assert check_password(password, user.password)
    argon2 = (time.perf_counter() - started) / rounds
    return {
        "sign_in_ms": round(sign_in * 1000, 1),
        "sign_in_argon2_ms": round(argon2 * 1000, 1),
        "sign_in_without_argon2_ms": round((sign_in - argon2) * 1000, 1),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inner"]:
        print(json.dumps(_inner(sys.argv[2])))
    else:
        url = (sys.argv[1:] or [os.environ.get("DATABASE_URL", "")])[0]
        if not url.startswith("postgres"):
            raise SystemExit("Usage: python -m bench.email postgres://.../database")
        print(json.dumps(measure_email(url), indent=2))
