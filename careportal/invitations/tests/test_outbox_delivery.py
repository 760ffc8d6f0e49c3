"""Fast delivery: an idle worker woken by what is queued, and one SMTP connection a batch."""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.utils import timezone

from careportal.accounts.emails import queue_account_email
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.outbox import (
    _message,
    _mime,
    deliver_invitations,
    send_post_office_mail,
)
from careportal.invitations.services import sync_portal_account
from careportal.invitations.wakeup import CHANNEL, wait_for_work, wake_worker
from careportal.people.models import Client

ROOT = Path(__file__).resolve().parents[3]


class Mailbox:
    """Keep each message's recipients and the connection (client port) it came over."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.received.append((envelope.rcpt_tos, session.peer))
        return "250 OK"

    def recipients(self):
        with self.lock:
            return [rcpt for rcpts, _peer in self.received for rcpt in rcpts]

    def connections(self):
        with self.lock:
            return {peer for _rcpts, peer in self.received}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    port = _free_port()
    backend = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DELIVERY_EMAIL_BACKEND = backend
    settings.POST_OFFICE = {**settings.POST_OFFICE, "BACKENDS": {"default": backend}}
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def _invite(cast, email):
    with transaction.atomic():  # as the back office saves a client
        client = Client.objects.create(
            agency=cast.sunrise, first_name="June", last_name="Park", email=email
        )
        sync_portal_account(party=client, previous_email=None)
    return Invitation.objects.get(user__client_record=client)


def test_it_sends_a_batch_of_invitations_over_one_connection(cast, smtp):
    mailbox, _port = smtp
    for n in range(5):
        _invite(cast, f"june{n}@mail.example")

    assert deliver_invitations() >= 5
    assert {f"june{n}@mail.example" for n in range(5)} <= set(mailbox.recipients())
    assert len(mailbox.connections()) == 1
    assert not Invitation.objects.filter(email__startswith="june").exclude(
        state=InvitationState.SENT
    )


def test_it_sends_queued_account_emails_over_one_connection(cast, smtp):
    mailbox, _port = smtp
    for n in range(5):
        queue_account_email(
            to=f"june{n}@mail.example",
            template="password_changed",
            context={},
            user=cast.ellen,
        )

    sent, failed, _requeued = send_post_office_mail()

    assert (sent, failed) == (5, 0)
    assert sorted(mailbox.recipients()) == [f"june{n}@mail.example" for n in range(5)]
    assert len(mailbox.connections()) == 1


def _comparable(data):
    """Return an email's bytes without what differs between two sendings of it."""
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    lines = data.replace(boundary, b"BOUNDARY").split(b"\r\n")
    return [line for line in lines if not line.startswith((b"Date: ", b"Message-ID: "))]


@pytest.mark.parametrize(
    ("first_name", "language", "email"),
    [
        ("June", "en", "june@mail.example"),
        ("June", "es", "june@mail.example"),
        ("Zoë & <María>", "en", "june@mail.example"),
        ("Zoë", "es", "june@mail.example"),
        ("June", "en", f"june.{'x' * 52}@mail.example"),  # 70 characters
    ],
)
def test_it_sends_the_bytes_django_would_send(cast, first_name, language, email):
    invitation = _invite(cast, email)
    invitation.user.first_name = first_name
    invitation.user.language = language
    invitation.user.save()
    invitation = Invitation.objects.select_related("user", "agency").get(pk=invitation.pk)
    invitation.expires_at = timezone.now()
    rendered = {}

    fast = _mime(invitation, "ABCDEFGHJKLMNP", rendered)
    django = _message(invitation, "ABCDEFGHJKLMNP", rendered).message().as_bytes(linesep="\r\n")

    assert fast is not None
    assert _comparable(fast) == _comparable(django)
    assert b"Date: " in fast and b"Message-ID: " in fast


@pytest.mark.parametrize("email", ["zoë@mail.example", f"june.{'x' * 53}@mail.example"])
def test_it_leaves_an_address_django_must_encode_or_fold_to_django(cast, email):
    invitation = _invite(cast, email)
    invitation = Invitation.objects.select_related("user", "agency").get(pk=invitation.pk)

    assert _mime(invitation, "ABCDEFGHJKLMNP", {}) is None


def _start_worker(port, log):
    """Start `manage.py run_worker` on the test database, waiting 30 seconds when idle."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db["PASSWORD"]:
        url = url.replace(f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": url,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "30", "--verbosity", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached in {timeout} seconds"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_it_wakes_an_idle_worker_when_an_invitation_is_queued(cast, smtp, tmp_path):
    mailbox, port = smtp
    if connection.vendor != "postgresql":
        # No LISTEN/NOTIFY on SQLite: nothing is sent and the worker sleeps its interval.
        wake_worker()
        started = time.monotonic()
        assert wait_for_work(0.2) is False
        assert time.monotonic() - started >= 0.2
        return

    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = _start_worker(port, log)
    try:
        # Idle: its first pass is done and nothing else is due for 30 seconds.
        _wait(lambda: "Worker pass" in log_path.read_text(), timeout=60)
        time.sleep(0.5)
        assert "june@mail.example" not in mailbox.recipients()

        started = time.monotonic()
        invitation = _invite(cast, "june@mail.example")
        _wait(lambda: "june@mail.example" in mailbox.recipients(), timeout=20)

        assert time.monotonic() - started < 3, log_path.read_text()
        invitation.refresh_from_db()
        assert invitation.state == InvitationState.SENT
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(timeout=20)


@pytest.mark.django_db(transaction=True)
def test_it_wakes_no_one_when_the_write_is_rolled_back(db):
    if connection.vendor != "postgresql":
        assert wait_for_work(0) is False
        return
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {CHANNEL}")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            wake_worker()
            raise RuntimeError("the save failed")
        assert wait_for_work(0.3) is False

        with transaction.atomic():
            wake_worker()
        assert wait_for_work(2) is True
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"UNLISTEN {CHANNEL}")


def test_it_stores_the_times_of_a_sent_invitation_as_the_orm_does(cast, sent_invitation):
    invitation = _invite(cast, "june@mail.example")
    sent_invitation()

    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT
    # Found by the same comparisons the worker and the pages make.
    assert Invitation.objects.filter(pk=invitation.pk, sent_at=invitation.sent_at).exists()
    assert Invitation.objects.filter(
        pk=invitation.pk, expires_at__lte=invitation.expires_at, expires_at__gt=timezone.now()
    ).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM invitations_invitation WHERE id = %s AND sent_at = %s",
            [invitation.pk, connection.ops.adapt_datetimefield_value(invitation.sent_at)],
        )
        assert cursor.fetchone()[0] == 1
