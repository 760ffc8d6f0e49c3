"""The worker (`manage.py run_worker`): every email once through a failing SMTP server, a
pass that outlives a failing step, the upkeep of sent mail, and waking an idle worker."""

import contextlib
import datetime
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from post_office.models import STATUS, Email

from careportal.accounts.emails import queue_account_email
from careportal.emails import delivery
from careportal.emails.delivery import (
    CHANNEL,
    Step,
    delete_old_sent_mail,
    run_once,
    send_post_office_mail,
    wait_for_work,
    wake_worker,
)
from careportal.emails.queue import queue_email
from careportal.invitations import outbox
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.services import sync_portal_account
from careportal.people.models import Client

ROOT = Path(__file__).resolve().parents[3]


def _invite(cast, email="june@mail.example"):
    with transaction.atomic():  # as the back office saves a client
        client = Client.objects.create(
            agency=cast.sunrise, first_name="June", last_name="Park", email=email
        )
        sync_portal_account(party=client, previous_email=None)
    return Invitation.objects.get(user__client_record=client)


class Mailbox:
    """An SMTP server's behaviour: refuse while `refusing`, else keep what it receives,
    with the connection (client port) each message came over."""

    def __init__(self, refusing=False):
        self.refusing = refusing
        self.received = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refusing:
            return "451 4.3.0 Try again later"
        with self.lock:
            self.received.append((envelope.rcpt_tos, envelope.content.decode(), session.peer))
        return "250 OK"

    def recipients(self):
        with self.lock:
            return [rcpt for rcpts, _content, _peer in self.received for rcpt in rcpts]

    def connections(self):
        with self.lock:
            return {peer for _rcpts, _content, peer in self.received}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """An SMTP server on loopback, not started: (mailbox, controller, port)."""
    port = _free_port()
    backend = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DELIVERY_EMAIL_BACKEND = backend
    settings.POST_OFFICE = {**settings.POST_OFFICE, "BACKENDS": {"default": backend}}
    mailbox = Mailbox(refusing=True)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    yield mailbox, controller, port
    with contextlib.suppress(AssertionError):  # never started
        controller.stop()


def _due_again():
    now = timezone.now()
    Invitation.objects.update(next_attempt_at=now)
    Email.objects.update(scheduled_time=now)


@pytest.mark.django_db(transaction=True)
def test_it_delivers_every_email_once_through_a_down_then_refusing_smtp_server(cast, smtp):
    mailbox, controller, _port = smtp
    invitation = _invite(cast, email="june@mail.example")
    queue_email(
        name="email_changed_old",
        to="owner@sunrise.example",
        context={"party_name": "June Park"},
        agency=cast.sunrise,
    )

    # 1. The server is down: nothing goes, the worker carries on.
    call_command("run_worker", "--once")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RETRYING
    assert Email.objects.get().status == STATUS.requeued

    # 2. The server answers but refuses.
    controller.start()
    _due_again()
    call_command("run_worker", "--once")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RETRYING and invitation.attempts == 2
    assert Email.objects.get().status == STATUS.requeued
    assert mailbox.received == []

    # 3. The server accepts: each email goes once.
    mailbox.refusing = False
    _due_again()
    call_command("run_worker", "--once")
    _due_again()
    call_command("run_worker", "--once")

    assert sorted(mailbox.recipients()) == ["june@mail.example", "owner@sunrise.example"]
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT and invitation.attempts == 3
    assert Email.objects.get().status == STATUS.sent
    invitation_mail = next(c for r, c, _p in mailbox.received if r == ["june@mail.example"])
    assert "One-time password:" in invitation_mail


def test_it_keeps_working_when_one_step_fails(cast, monkeypatch):
    def broken():
        raise ConnectionError("database went away")

    invitation = _invite(cast)
    outbox.deliver_invitations()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    monkeypatch.setitem(delivery._steps, "invitations", Step("invitations", broken))

    result = run_once()

    assert result["invitations"] is None
    assert result["expired"] == 1
    assert Invitation.objects.get(pk=invitation.pk).state == InvitationState.EXPIRED


def test_it_runs_the_steps_of_every_app_in_one_pass(db):
    result = run_once()

    for step in ("password_resets", "new_invitation_requests", "invitations", "expired"):
        assert result[step] == 0
    for step in ("abandoned_tasks", "mail", "tasks", "mail_blanked", "mail_deleted"):
        assert step in result
    assert result["waiting"] is False


def test_it_sends_post_office_mail_once(cast):
    queue_email(
        name="email_changed_old",
        to="someone@mail.example",
        context={"party_name": "June Park"},
        reply_to="owner@sunrise.example",
        agency=cast.sunrise,
    )

    assert send_post_office_mail() == (1, 0, 0)
    assert send_post_office_mail() == (0, 0, 0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["someone@mail.example"]
    assert message.extra_headers.get("Reply-To") == "owner@sunrise.example" or (
        message.reply_to == ["owner@sunrise.example"]
    )
    assert "June Park" in message.body


def test_it_deletes_sent_mail_after_the_retention_days_and_keeps_the_rest(cast, settings):
    settings.SENT_EMAIL_RETENTION_DAYS = 7
    now = timezone.now()

    def email(status, days_ago):
        row = Email.objects.create(
            from_email="no-reply@careportal.example",
            to=["someone@mail.example"],
            subject="Reset your password",
            message="https://careportal.example/accounts/password/reset/x/y/",
            status=status,
        )
        # auto_now fields: set the age with an update.
        age = now - datetime.timedelta(days=days_ago)
        Email.objects.filter(pk=row.pk).update(created=age, last_updated=age)
        return row.pk

    old_sent = email(STATUS.sent, 8)
    recent_sent = email(STATUS.sent, 6)
    old_failed = email(STATUS.failed, 30)

    assert run_once()["mail_deleted"] == 1
    assert not Email.objects.filter(pk=old_sent).exists()
    assert set(Email.objects.values_list("pk", flat=True)) == {recent_sent, old_failed}

    old_queued = email(STATUS.queued, 30)
    assert delete_old_sent_mail() == 0
    assert Email.objects.filter(pk=old_queued, status=STATUS.queued).exists()


def test_it_takes_the_next_batch_at_once_while_work_waits(cast, monkeypatch):
    monkeypatch.setattr(outbox, "BATCH_SIZE", 2)
    for n in range(5):
        _invite(cast, email=f"p{n}@mail.example")

    assert run_once()["waiting"] is True
    assert run_once()["waiting"] is True
    assert run_once()["waiting"] is False
    assert len(mail.outbox) == 5


def test_it_sends_queued_account_emails_over_one_connection(cast, smtp):
    mailbox, controller, _port = smtp
    mailbox.refusing = False
    controller.start()
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
    mailbox, controller, port = smtp
    if connection.vendor != "postgresql":
        # No LISTEN/NOTIFY on SQLite: nothing is sent and the worker sleeps its interval.
        wake_worker()
        started = time.monotonic()
        assert wait_for_work(0.2) is False
        assert time.monotonic() - started >= 0.2
        return

    mailbox.refusing = False
    controller.start()
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
