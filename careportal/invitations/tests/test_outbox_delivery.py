"""Fast delivery: one SMTP connection a batch, its MIME form made once (the worker's
wake-up: emails/tests/test_worker.py)."""

import re
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.utils import timezone

from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.outbox import _message, _mime, deliver_invitations
from careportal.invitations.services import sync_portal_account
from careportal.people.models import Client


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
