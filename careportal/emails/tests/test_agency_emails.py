"""The agency's emails in the back office: what was sent, what failed and is retried."""

from __future__ import annotations

from smtplib import SMTPServerDisconnected

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone
from post_office.models import STATUS, Email

from careportal.accounts.recovery import request_password_reset
from careportal.backoffice.tests.conftest import sign_in
from careportal.emails.delivery import send_post_office_mail
from careportal.emails.models import AgencyEmail, EmailKind
from careportal.emails.queue import queue_email
from careportal.messaging.services import send_message_to_owner

LIST = "backoffice:emails_agencyemail_changelist"


class Refusing(BaseEmailBackend):
    """An SMTP server that hangs up, with a second line that must not be shown."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed\nsecond line")


@pytest.fixture
def refusing(settings):
    settings.POST_OFFICE = {
        **settings.POST_OFFICE,
        "BACKENDS": {"default": f"{__name__}.Refusing"},
        "MAX_RETRIES": 1,
    }


def _row(html: str, subject: str) -> str:
    """Return the change-list row (<tr>...</tr>) that shows the subject."""
    start = html.rindex("<tr", 0, html.index(subject))
    return html[start : html.index("</tr>", start)]


def _fail_again() -> None:
    Email.objects.update(scheduled_time=timezone.now())
    send_post_office_mail()


def test_it_shows_a_reset_email_queued_then_retrying_then_failed_to_its_agency_only(
    client, cast, refusing
):
    user = cast.margaret.user
    user.security_answer_hash = "set"  # else the email has no link
    user.save(update_fields=["security_answer_hash"])
    request_password_reset(typed=user.username, request=None)
    row = AgencyEmail.objects.get()
    assert (row.agency, row.kind, row.recipient) == (cast.sunrise, EmailKind.RESET, user.email)
    assert row.email.to == [user.email]
    reset_link = next(
        line for line in row.email.message.splitlines() if "/accounts/" in line and "http" in line
    )
    url = reverse(LIST)

    # Queued: listed for Sunrise's owner, without the body and its reset link.
    html = sign_in(client, cast.owner).get(url).content.decode()
    tr = _row(html, row.subject)
    assert user.email in tr and "Password reset" in tr and "Queued" in tr
    assert reset_link.strip() not in html
    detail = client.get(reverse("backoffice:emails_agencyemail_change", args=[row.pk]))
    assert detail.status_code == 200
    assert reset_link.strip() not in detail.content.decode()
    assert b'name="_save"' not in detail.content

    # The SMTP server hangs up: failed, retrying, with the attempts and the error's first line.
    assert send_post_office_mail() == (0, 0, 1)
    html = client.get(url).content.decode()
    tr = _row(html, row.subject)
    assert "Failed, retrying" in tr
    assert ">1<" in tr
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in tr
    assert "second line" not in html
    filtered = client.get(url, {"delivery": "retrying"}).content.decode()
    assert row.subject in filtered
    assert row.subject not in client.get(url, {"delivery": "queued"}).content.decode()

    # Past MAX_RETRIES post_office gives up.
    _fail_again()
    html = client.get(url).content.decode()
    tr = _row(html, row.subject)
    assert "Failed, gave up" in tr and ">2<" in tr
    assert row.subject in client.get(url, {"delivery": "failed"}).content.decode()

    # Never in Harbor's list, and Harbor's owner opens it like a missing row.
    client.logout()
    sign_in(client, cast.harriet)
    html = client.get(url).content.decode()
    assert user.email not in html and row.subject not in html
    change = reverse("backoffice:emails_agencyemail_change", args=[row.pk])
    missing = reverse("backoffice:emails_agencyemail_change", args=[987654])
    assert client.get(change).status_code == client.get(missing).status_code == 302
    assert client.get(change)["Location"] == client.get(missing)["Location"]


def test_it_shows_a_sent_email_without_an_old_error(client, cast, refusing, settings):
    request_password_reset(typed=cast.margaret.user.username, request=None)
    send_post_office_mail()
    settings.POST_OFFICE = {
        **settings.POST_OFFICE,
        "BACKENDS": {"default": "django.core.mail.backends.locmem.EmailBackend"},
    }
    _fail_again()
    assert Email.objects.get().status == STATUS.sent
    row = AgencyEmail.objects.get()
    html = sign_in(client, cast.owner).get(reverse(LIST)).content.decode()
    tr = _row(html, row.subject)
    assert "Sent" in tr and "SMTPServerDisconnected" not in tr


@pytest.mark.parametrize("who", ["owner", "administrator"])
def test_it_lets_the_owner_and_administrators_read_the_list(client, cast, who):
    assert sign_in(client, getattr(cast, who)).get(reverse(LIST)).status_code == 200


@pytest.mark.parametrize("who", ["scheduler", "billing"])
def test_it_hides_the_list_from_other_roles(client, cast, who):
    sign_in(client, getattr(cast, who))
    assert client.get(reverse(LIST)).status_code == 404
    assert reverse(LIST) not in client.get(reverse("backoffice:index")).content.decode()


def test_it_records_each_kind_of_email_with_its_agency(cast):
    send_message_to_owner(user=cast.margaret.user, subject="Hello", body="Hi", request=None)
    row = AgencyEmail.objects.get()
    assert (row.agency, row.kind) == (cast.sunrise, EmailKind.MESSAGE)
    assert row.recipient == cast.sunrise.portal_message_email

    # An email of no agency (to a platform operator's address) has no row.
    queue_email(
        name="email_changed_old",
        to="ops@mail.example",
        context={"party_name": "June Park"},
    )
    assert Email.objects.count() == 2 and AgencyEmail.objects.count() == 1


def test_it_goes_with_its_email(cast):
    request_password_reset(typed=cast.margaret.user.username, request=None)
    Email.objects.all().delete()
    assert not AgencyEmail.objects.exists()


def test_it_says_sent_of_an_invitation_and_of_an_email_each_in_its_own_spanish_form():
    from django.utils import translation

    from careportal.emails.admin import Delivery
    from careportal.invitations.models import InvitationState

    with translation.override("es"):
        assert str(InvitationState.SENT.label) == "Enviada"
        assert str(InvitationState.EXPIRED.label) == "Vencida"
        assert str(Delivery.SENT.label) == "Enviado"
