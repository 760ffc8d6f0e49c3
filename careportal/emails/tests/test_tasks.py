"""Background tasks (django-tasks, database backend) run by `manage.py run_worker`."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from careportal.emails import delivery
from careportal.emails.delivery import CHANNEL, run_due_tasks, run_once, wait_for_work
from careportal.emails.tests import tasks


@pytest.mark.django_db(transaction=True)
def test_it_runs_an_enqueued_task_under_run_worker():
    result = tasks.add.enqueue(2, 3)
    assert result.status == TaskResultStatus.READY

    call_command("run_worker", "--once")

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert not DBTaskResult.objects.ready().exists()


def test_it_records_a_failing_task_and_runs_the_next(db):
    failing = tasks.fail.enqueue()
    adding = tasks.add.enqueue(1, 1)

    assert run_once()["tasks"] == 2

    failing.refresh()
    adding.refresh()
    assert failing.status == TaskResultStatus.FAILED
    assert "this task always fails" in failing.errors[0].traceback
    assert adding.status == TaskResultStatus.SUCCESSFUL and adding.return_value == 2


def test_it_runs_a_batch_of_tasks_a_pass_and_says_more_wait(db, monkeypatch):
    monkeypatch.setattr(delivery, "TASK_BATCH", 2)
    results = [tasks.add.enqueue(n, n) for n in range(3)]

    first = run_once()
    assert (first["tasks"], first["waiting"]) == (2, True)
    second = run_once()
    assert (second["tasks"], second["waiting"]) == (1, False)
    for n, result in enumerate(results):
        result.refresh()
        assert result.return_value == 2 * n


def test_it_sends_an_email_a_task_queued_in_the_next_pass(db):
    tasks.tell.enqueue("june@mail.example")

    first = run_once()
    assert first["tasks"] == 1 and first["waiting"] is True
    run_once()

    assert [message.to for message in mail.outbox] == [["june@mail.example"]]


def test_it_leaves_a_task_of_later_for_later(db):
    from datetime import timedelta

    from django.utils import timezone

    later = tasks.add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1, 2)

    assert run_due_tasks() == 0
    later.refresh()
    assert later.status == TaskResultStatus.READY


@pytest.mark.django_db(transaction=True)
def test_it_wakes_the_worker_when_a_task_is_enqueued():
    if connection.vendor != "postgresql":
        # No LISTEN/NOTIFY on SQLite: the worker finds the task after its interval.
        tasks.add.enqueue(1, 2)
        assert wait_for_work(0) is False
        assert run_due_tasks() == 1
        return
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {CHANNEL}")
    try:
        tasks.add.enqueue(1, 2)
        assert wait_for_work(2) is True
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"UNLISTEN {CHANNEL}")
