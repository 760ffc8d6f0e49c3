"""Once an email has gone, its body (reset links, families' messages) is not kept."""

from __future__ import annotations

import pytest
from post_office.models import STATUS, Email

from careportal.emails.delivery import blank_sent_mail_bodies, run_once

pytestmark = pytest.mark.django_db

LINK = "https://portal.example.org/accounts/password/reset/abc/def/"


def _email(status: int) -> Email:
    return Email.objects.create(
        from_email="no-reply@careportal.local",
        to=["margaret@mail.example"],
        subject="Reset your password",
        message=f"Open {LINK}",
        html_message=f'<a href="{LINK}">Open</a>',
        status=status,
    )


def test_it_blanks_the_body_of_a_sent_email_and_keeps_what_staff_need():
    sent = _email(STATUS.sent)

    assert blank_sent_mail_bodies() == 1

    sent.refresh_from_db()
    assert (sent.message, sent.html_message) == ("", "")
    assert sent.subject == "Reset your password"
    assert sent.to == ["margaret@mail.example"]
    assert sent.status == STATUS.sent


def test_it_keeps_the_body_of_queued_and_failed_email_for_the_next_try():
    queued = _email(STATUS.queued)
    failed = _email(STATUS.failed)

    blank_sent_mail_bodies()

    for email in (queued, failed):
        email.refresh_from_db()
        assert LINK in email.message
        assert LINK in email.html_message


def test_it_blanks_sent_bodies_in_every_pass_of_the_worker():
    sent = _email(STATUS.sent)

    result = run_once()

    sent.refresh_from_db()
    assert result["mail_blanked"] == 1
    assert LINK not in sent.message and LINK not in sent.html_message
