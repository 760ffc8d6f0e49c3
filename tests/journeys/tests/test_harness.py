"""The harness itself: the test SMTP server collects what it is sent."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.journeys.server import SmtpServer


def test_it_collects_a_message_sent_over_smtp_on_loopback() -> None:
    smtp = SmtpServer()
    smtp.start()
    try:
        message = EmailMessage()
        message["From"] = "owner@sunrise.example"
        message["To"] = "margaret.hale@mail.example"
        message["Subject"] = "Your invitation"
        message.set_content("Username: margaret.hale\nOne-time password: ABCD-EFGH-JKLM\n")
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as client:
            client.send_message(message)

        mail = smtp.mailbox.wait_for("Margaret.Hale@mail.example", timeout=10)
    finally:
        smtp.stop()

    assert mail.subject == "Your invitation"
    assert "One-time password: ABCD-EFGH-JKLM" in mail.text
    assert mail.recipients == ["margaret.hale@mail.example"]


def test_it_says_what_arrived_when_the_expected_email_does_not() -> None:
    smtp = SmtpServer()
    smtp.start()
    try:
        with pytest.raises(AssertionError, match="No email to 'nobody@mail.example'"):
            smtp.mailbox.wait_for("nobody@mail.example", timeout=0.2)
    finally:
        smtp.stop()
