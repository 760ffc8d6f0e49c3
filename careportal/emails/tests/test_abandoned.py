"""Tasks whose worker died: failed by the next worker, their handler told, others left."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from careportal.emails import abandoned
from careportal.emails.delivery import run_once
from careportal.emails.tests import tasks

HOST = socket.gethostname()


@contextlib.contextmanager
def _sleeping(*args: str) -> Iterator[int]:
    """Run a process that sleeps, with `args` on its command line; give its pid once it runs."""
    code = "import time; print('up', flush=True); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"up\n"
        yield process.pid
    finally:
        process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


@pytest.fixture
def live_worker_pid() -> Iterator[int]:
    """The pid of a live process whose command line names run_worker."""
    with _sleeping("run_worker") as pid:
        yield pid


@pytest.fixture
def other_program_pid() -> Iterator[int]:
    """The pid of a live process that is not a worker (as when a pid is reused)."""
    with _sleeping() as pid:
        yield pid


@pytest.fixture
def handled(monkeypatch) -> list[tuple]:
    """The calls of a handler registered for the `add` task, and a first pass to come."""
    calls: list[tuple] = []
    monkeypatch.setitem(
        abandoned._handlers, tasks.add.module_path, lambda *args, **kwargs: calls.append(args)
    )
    monkeypatch.setattr(abandoned, "_last_sweep", None)
    return calls


def _running(worker_id: str, *args: int) -> DBTaskResult:
    """Enqueue `add` and claim it for `worker_id`, as a worker does before it runs it."""
    result = DBTaskResult.objects.get(pk=tasks.add.enqueue(*(args or (2, 3))).id)
    result.claim(worker_id)
    return result


def _status(result: DBTaskResult) -> str:
    result.refresh_from_db()
    return result.status


def test_it_fails_the_task_of_a_dead_worker_and_tells_its_handler(db, handled, dead_pid):
    result = _running(f"run_worker:{HOST}:{dead_pid}", 2, 3)

    assert run_once()["abandoned_tasks"] == 1

    assert _status(result) == TaskResultStatus.FAILED
    assert result.finished_at is not None
    failed = result.task_result
    assert failed.errors[0].exception_class_path == "careportal.emails.abandoned.WorkerStopped"
    assert f"run_worker:{HOST}:{dead_pid} stopped before this task ended" in (
        failed.errors[0].traceback
    )
    assert handled == [(2, 3)]


def test_it_fails_the_task_of_a_pid_now_used_by_another_program(db, handled, other_program_pid):
    result = _running(f"run_worker:{HOST}:{other_program_pid}")

    assert abandoned.fail_abandoned_tasks() == 1

    assert _status(result) == TaskResultStatus.FAILED
    assert handled == [(2, 3)]


def test_it_leaves_the_task_of_a_live_worker(db, handled, live_worker_pid):
    result = _running(f"run_worker:{HOST}:{live_worker_pid}")

    assert abandoned.fail_abandoned_tasks() == 0

    assert _status(result) == TaskResultStatus.RUNNING
    assert handled == []


@pytest.mark.parametrize(
    "worker_id",
    [
        # Cannot be seen from here.
        lambda pid: f"run_worker:another-host.example:{pid}",
        # Cut to 64 characters: its pid may be cut too.
        lambda pid: f"run_worker:{HOST}:{pid}".ljust(64, "0")[:64],
        # django-tasks-db's own db_worker, with its random id.
        lambda pid: "Kq3cVbX0tT9mZ2yLwR8pN5sJ1dF7hG4e",
    ],
    ids=["another host", "cut short", "db_worker"],
)
def test_it_leaves_the_tasks_it_cannot_judge(db, handled, dead_pid, worker_id):
    result = _running(worker_id(dead_pid))

    assert abandoned.fail_abandoned_tasks() == 0

    assert _status(result) == TaskResultStatus.RUNNING
    assert handled == []


def test_it_fails_a_task_without_a_handler_too(db, dead_pid):
    result = DBTaskResult.objects.get(pk=tasks.fail.enqueue().id)
    result.claim(f"run_worker:{HOST}:{dead_pid}")

    assert abandoned.fail_abandoned_tasks() == 1

    assert _status(result) == TaskResultStatus.FAILED


def test_it_fails_a_task_once_when_two_workers_look_at_once(db, handled, dead_pid):
    worker_id = f"run_worker:{HOST}:{dead_pid}"
    result = _running(worker_id)
    seen_by_the_second = DBTaskResult.objects.get(pk=result.pk)

    assert abandoned.fail_abandoned_tasks() == 1
    assert abandoned._fail(seen_by_the_second, worker_id) == 0

    assert handled == [(2, 3)]


def test_it_keeps_the_task_running_when_its_handler_fails_and_tries_again(
    db, monkeypatch, dead_pid
):
    def broken(*args: int) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setitem(abandoned._handlers, tasks.add.module_path, broken)
    result = _running(f"run_worker:{HOST}:{dead_pid}")

    assert abandoned.fail_abandoned_tasks() == 0
    assert _status(result) == TaskResultStatus.RUNNING

    monkeypatch.setitem(abandoned._handlers, tasks.add.module_path, lambda *args: None)
    assert abandoned.fail_abandoned_tasks() == 1
    assert _status(result) == TaskResultStatus.FAILED


def test_it_looks_at_the_first_pass_then_every_few_minutes(
    db, handled, monkeypatch, dead_pid, django_assert_num_queries
):
    clock = [1000.0]
    monkeypatch.setattr(abandoned, "monotonic", lambda: clock[0])
    with django_assert_num_queries(1):  # one query when no task runs
        assert abandoned.fail_abandoned_tasks_now_and_then() == 0
    result = _running(f"run_worker:{HOST}:{dead_pid}")

    clock[0] += abandoned.SWEEP_INTERVAL - 1
    with django_assert_num_queries(0):
        assert abandoned.fail_abandoned_tasks_now_and_then() == 0
    assert _status(result) == TaskResultStatus.RUNNING

    clock[0] += 1
    assert abandoned.fail_abandoned_tasks_now_and_then() == 1
    assert _status(result) == TaskResultStatus.FAILED
