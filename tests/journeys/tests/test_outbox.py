"""The journey server's email path: the outbox, the worker, SMTP on loopback, the mailbox."""

from __future__ import annotations

import pytest

from tests.journeys.server import JourneyServer

pytestmark = pytest.mark.browser


def test_it_delivers_queued_email_over_smtp_through_the_worker(
    journey_server: JourneyServer,
) -> None:
    assert journey_server.worker_started, "manage.py run_worker is missing: no email would go out"

    journey_server.record(
        "queue_email",
        to="harness@mail.example",
        subject="Harness check",
        body="Queued, then sent by the worker: https://example.invalid/x",
    )

    mail = journey_server.mailbox.wait_for("harness@mail.example", timeout=30)
    assert mail.subject == "Harness check"
    assert mail.find(r"Queued, then (\w+) by the worker") == "sent"
    assert mail.links() == ["https://example.invalid/x"]
