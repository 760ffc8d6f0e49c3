import contextlib
import datetime
import re
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.invitations.models import OTP_ALPHABET, Invitation, InvitationState
from careportal.invitations.outbox import deliver_invitations, expire_invitations
from careportal.invitations.services import sync_portal_account
from careportal.people.models import Client


def _invite(cast, email="june@mail.example"):
    client = Client.objects.create(
        agency=cast.sunrise, first_name="June", last_name="Park", email=email
    )
    sync_portal_account(party=client, previous_email=None)
    return Invitation.objects.get(user__client_record=client)


def test_it_writes_the_invitation_email(cast, sent_invitation):
    cast.sunrise.phone = "555-0100"
    cast.sunrise.save()
    invitation = _invite(cast)
    link, username, otp = sent_invitation()

    message = mail.outbox[-1]
    assert message.to == ["june@mail.example"]
    assert "Sunrise Home Care" in message.subject
    assert username == "june.park"
    assert username not in link
    assert len(otp) >= 12 and set(otp) <= set(OTP_ALPHABET)
    assert not set(otp) & set("0O1lI")
    assert "555-0100" in message.body and "owner@sunrise.example" in message.body
    html = message.alternatives[0][0]
    assert "Username:" in html and otp in html and link in html
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT
    assert otp not in invitation.otp_hash and invitation.check_one_time_password(otp)
    assert invitation.expires_at == invitation.sent_at + datetime.timedelta(hours=72)
    assert AuditEvent.objects.filter(action="invitation.sent", object_id=str(invitation.pk))


def test_it_writes_in_the_recipients_language(cast):
    invitation = _invite(cast)
    invitation.user.language = "es"
    invitation.user.save()
    deliver_invitations()

    message = mail.outbox[-1]
    assert message.subject == "Su invitación al portal de Sunrise Home Care"
    assert "Nombre de usuario: june.park" in message.body
    assert "Contraseña de un solo uso:" in message.body
    assert "Contraseña de un solo uso:" in message.alternatives[0][0]
    assert "One-time password" not in message.body
    # The date in Spanish words, whichever verb the catalog uses ("hasta el", "vence el").
    assert re.search(r"(hasta|vence) el \w+ \d{1,2} de \w+ de \d{4}, ", message.body)


def test_it_takes_the_expiry_from_the_agency(cast, sent_invitation):
    cast.sunrise.invitation_valid_hours = 24
    cast.sunrise.save()
    invitation = _invite(cast)
    sent_invitation()

    invitation.refresh_from_db()
    assert invitation.expires_at - invitation.sent_at == datetime.timedelta(hours=24)


class Refusing:
    def send_messages(self, messages):
        raise ConnectionRefusedError("Connection refused")

    def close(self):
        pass


def test_it_retries_with_a_new_password_then_gives_up(cast, settings, monkeypatch):
    invitation = _invite(cast)
    monkeypatch.setattr("careportal.invitations.outbox._connection", Refusing)

    assert deliver_invitations() == 0
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RETRYING
    assert invitation.attempts == 1 and invitation.otp_hash == ""
    assert "Connection refused" in invitation.last_error
    assert invitation.next_attempt_at > timezone.now()
    assert deliver_invitations() == 0  # not due yet
    assert Invitation.objects.get(pk=invitation.pk).attempts == 1

    Invitation.objects.filter(pk=invitation.pk).update(
        next_attempt_at=timezone.now(),
        created_at=timezone.now() - settings.OUTBOX_GIVE_UP_AFTER,
    )
    deliver_invitations()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.FAILED
    assert AuditEvent.objects.filter(action="invitation.failed").count() == 2


def test_it_expires_sent_invitations(cast, sent_invitation):
    invitation = _invite(cast)
    sent_invitation()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    assert expire_invitations() == 1
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.EXPIRED and invitation.otp_hash == ""
    assert AuditEvent.objects.filter(action="invitation.expired").exists()


class Mailbox:
    """An SMTP server's behaviour: refuse while `refusing`, else keep what it receives."""

    def __init__(self):
        self.refusing = True
        self.received = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            return "451 4.3.0 Try again later"
        with self.lock:
            self.received.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    port = _free_port()
    smtp_backend = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DELIVERY_EMAIL_BACKEND = smtp_backend
    settings.POST_OFFICE = {**settings.POST_OFFICE, "BACKENDS": {"default": smtp_backend}}
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    yield mailbox, controller
    with contextlib.suppress(AssertionError):  # never started
        controller.stop()


class Picky(Mailbox):
    """Refuse one recipient with 550; count the connections."""

    def __init__(self, refused):
        super().__init__()
        self.refusing = False
        self.refused = refused
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.mark.django_db(transaction=True)
def test_it_fails_only_the_refused_recipient_over_one_connection(cast, smtp):
    _mailbox, controller = smtp
    picky = Picky("bad@mail.example")
    controller.handler = picky
    emails = ["ann@mail.example", "bad@mail.example", "cy@mail.example"]
    for n, email in enumerate(emails):
        _invite(cast, email=email)
        Invitation.objects.filter(email=email).update(
            next_attempt_at=timezone.now() - datetime.timedelta(seconds=10 - n)
        )
    controller.start()

    assert deliver_invitations() == 2

    assert picky.connections == 1
    assert sorted(r for rcpts, _c in picky.received for r in rcpts) == [
        "ann@mail.example",
        "cy@mail.example",
    ]
    refused = Invitation.objects.get(email="bad@mail.example")
    assert refused.state == InvitationState.RETRYING and refused.otp_hash == ""
    assert "550" in refused.last_error and "No such mailbox" in refused.last_error
    assert refused.next_attempt_at > timezone.now()
    assert set(Invitation.objects.exclude(pk=refused.pk).values_list("state", flat=True)) == {
        InvitationState.SENT
    }


def test_it_gives_each_email_of_a_batch_its_own_login_and_password(cast):
    names = [("Ann", "Lee"), ("Bo", "Chan"), ("Cy", "Diaz")]
    for first, last in names:
        client = Client.objects.create(
            agency=cast.sunrise, first_name=first, last_name=last, email=f"{first}@mail.example"
        )
        sync_portal_account(party=client, previous_email=None)

    assert deliver_invitations() == 3

    passwords = set()
    for message in mail.outbox:
        invitation = Invitation.objects.select_related("user").get(email=message.to[0])
        username = re.search(r"^Username: (\S+)$", message.body, re.M).group(1)
        otp = re.search(r"^One-time password: (\S+)$", message.body, re.M).group(1)
        assert username == invitation.user.username
        assert f"Hello {invitation.user.first_name}," in message.body
        assert invitation.check_one_time_password(otp)
        # The link names this invitation (its token is signed with the time it was sent).
        links = re.findall(r'href="[^"]*/accounts/setup/([^/"]+)/"', message.alternatives[0][0])
        assert [Invitation.pk_from_token(token) for token in links] == [invitation.pk]
        passwords.add(otp)
    assert len(passwords) == 3
