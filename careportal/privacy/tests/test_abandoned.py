"""A copy of a record whose worker was killed while it was made: failed, and asked again."""

from __future__ import annotations

import socket
import subprocess
import sys

from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from careportal.emails.abandoned import fail_abandoned_tasks
from careportal.privacy import abandoned, tasks
from careportal.privacy.models import CopyState, RecordCopy
from tests.cast import sign_in

ASK = reverse("privacy:record_ask")


def _dead_worker_id() -> str:
    """The id of a run_worker of this host whose process has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return f"run_worker:{socket.gethostname()}:{process.pid}"


def test_it_fails_a_copy_whose_worker_died_and_lets_the_client_ask_again(client, cast):
    margaret = cast.margaret
    sign_in(client, margaret.user)
    client.post(ASK)
    copy = RecordCopy.objects.get(client=margaret)
    result = DBTaskResult.objects.get(task_path=tasks.build_record_copy.module_path)
    result.claim(_dead_worker_id())
    # The worker had begun: the copy showed "Being made" when it was killed.
    RecordCopy.objects.filter(pk=copy.pk).update(state=CopyState.BUILDING, progress=40)

    assert fail_abandoned_tasks() == 1

    copy.refresh_from_db()
    assert copy.state == CopyState.FAILED
    body = client.get(reverse("privacy:my_privacy")).content.decode()
    assert "We could not make your copy. Please ask again." in body
    assert "Ask for a copy of my record" in body
    client.post(ASK)
    assert RecordCopy.objects.filter(client=margaret, state=CopyState.QUEUED).count() == 1


def test_it_leaves_a_copy_that_is_ready(cast):
    copy = RecordCopy.objects.create(
        agency=cast.sunrise, client=cast.margaret, state=CopyState.READY
    )

    abandoned.fail_abandoned_copy(copy.pk)

    copy.refresh_from_db()
    assert copy.state == CopyState.READY


def test_it_handles_the_task_that_makes_copies():
    assert tasks.build_record_copy.module_path == abandoned.TASK_PATH
