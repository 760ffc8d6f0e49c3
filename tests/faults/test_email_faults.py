"""Email through faults: the real worker process against a real SMTP server on loopback."""

import json
import signal
from collections import Counter

import pytest

from tests.faults.conftest import wait_for

pytestmark = pytest.mark.faults

RETRY_SECONDS = 4  # tests.faults.settings.OUTBOX_RETRY_INTERVAL


def test_it_delivers_every_invitation_once_after_the_smtp_server_comes_back(site, smtp, mailbox):
    site.run("queue", "1000")
    site.start_worker()

    def all_retrying():
        """1,000 invitations retrying"""
        return site.states()["states"].get("retrying") == 1000

    wait_for(all_retrying, timeout=60)
    assert mailbox.count() == 0
    assert "sent" not in site.states()["states"]

    smtp.start()

    def all_sent():
        """1,000 invitations sent"""
        return site.states()["states"].get("sent") == 1000

    # Bounded by the machine's pace (a shared 2-core machine sends some tens a second).
    wait_for(all_sent, timeout=RETRY_SECONDS + 150)
    recipients = Counter(rcpt for rcpt, _content in mailbox.received)
    assert len(recipients) == 1000 and set(recipients.values()) == {1}
    # Each email's one-time password opens its login: it is the one made for that email.
    passwords = mailbox.passwords()
    opened = site.run("check", stdin=json.dumps(passwords))["opened"]
    assert sorted(opened) == sorted(passwords) and len(opened) == 1000
    # Each failed while the server was down (more than once if the down time outlasted a
    # retry interval), then went once.
    by_email = site.states()["by_email"]
    assert min(row["attempts"] for row in by_email.values()) >= 2


def test_it_fails_only_the_refused_recipient_and_retries_it(site, smtp, mailbox):
    mailbox.refused = "refused@mail.example"
    smtp.start()
    site.run("queue", "30", "refused@mail.example")
    site.start_worker()

    def refused_twice():
        """the refused invitation tried twice"""
        row = site.states()["by_email"]["refused@mail.example"]
        return row["attempts"] >= 2 and row

    row = wait_for(refused_twice, timeout=RETRY_SECONDS + 30)
    assert row["state"] == "retrying"
    assert "550" in row["last_error"] and "No such mailbox" in row["last_error"]
    states = site.states()["states"]
    assert states == {"sent": 29, "retrying": 1}
    recipients = Counter(rcpt for rcpt, _content in mailbox.received)
    assert len(recipients) == 29 and set(recipients.values()) == {1}


def test_a_restarted_worker_finishes_the_batch_of_a_killed_one(site, smtp, mailbox):
    mailbox.delay = 0.03  # about 3 seconds a batch of 100
    smtp.start()
    site.run("queue", "150")
    worker = site.start_worker("first")

    wait_for(lambda: mailbox.count() >= 30, timeout=60)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = mailbox.count()
    assert killed_at < 150
    site.start_worker("second")

    def all_sent():
        """150 invitations sent"""
        return site.states()["states"].get("sent") == 150

    wait_for(all_sent, timeout=60)
    recipients = Counter(rcpt for rcpt, _content in mailbox.received)
    assert len(recipients) == 150
    # At most the one message in flight when the worker died went twice.
    assert sum(count - 1 for count in recipients.values()) <= 1
