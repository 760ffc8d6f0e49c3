"""Background tasks whose worker died: marked failed, and what they showed people told.

A task that `manage.py run_worker` runs stays RUNNING in the database until it ends. If the
worker is killed while it runs (kill -9, out of memory, a deploy that does not wait),
nothing ends it: the task stays RUNNING, and what it shows people (an import "Importing", a
copy of a record "Being made") stays under way for ever, blocking a new one.

`fail_abandoned_tasks` finds such tasks: RUNNING, and claimed last by a `run_worker` of this
host (worker id `run_worker:<host>:<pid>`, see delivery) whose process is gone, that is no
such pid, or on Linux a pid that is no longer a run_worker (`/proc/<pid>/cmdline`: the pid
was reused, or the process is a zombie). Each is marked failed with the fields django-tasks-db
writes for a task that raised, and the handler its app registered for the task
(`register_abandoned_handler`, from an AppConfig.ready) is called with the task's arguments,
in the same transaction, to set the import or copy to failed.

Only this host's workers can be checked. A worker of another host cannot be seen from here,
so its tasks are left alone whether it lives or not: a deployment with workers on several
hosts would need a heartbeat (each worker writing "alive at" every pass, and a task whose
worker has not written for some minutes counted as abandoned). A task of a live worker is
never touched, nor one whose worker id was cut to its 64 characters (its pid may be cut).

When: the worker's first pass, and then every SWEEP_INTERVAL. The usual case is a killed
worker that is restarted: the new one finds the dead one's tasks at once. A worker that
lives on beside one that died finds them within the interval. Not every pass: a pass can
come several times a second, and on PostgreSQL no index holds RUNNING tasks
(django-tasks-db's index is partial, on READY tasks), so the query reads the table of task
results: cheap every few minutes, wasteful every pass.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from pathlib import Path
from time import monotonic
from typing import Any

from django.db import transaction
from django.utils import timezone

from careportal.emails.delivery import WORKER_ID_LENGTH, WORKER_ID_PREFIX, database_backends

logger = logging.getLogger(__name__)

# Seconds between two looks after the first pass's.
SWEEP_INTERVAL = 5 * 60

AbandonedHandler = Callable[..., object]
_handlers: dict[str, AbandonedHandler] = {}
_last_sweep: float | None = None


class WorkerStopped(Exception):
    """The worker running a task stopped before the task ended."""


def register_abandoned_handler(task_path: str, handler: AbandonedHandler) -> None:
    """Call `handler(*args, **kwargs)` with the task's arguments when a task of `task_path`
    (its module path, "careportal.imports.tasks.run_client_import") is found abandoned."""
    _handlers[task_path] = handler


def fail_abandoned_tasks_now_and_then() -> int:
    """The worker's step: `fail_abandoned_tasks` at the first pass, then every
    SWEEP_INTERVAL seconds; return how many tasks it failed (0 between looks)."""
    global _last_sweep
    now = monotonic()
    if _last_sweep is not None and now - _last_sweep < SWEEP_INTERVAL:
        return 0
    failed = fail_abandoned_tasks()
    _last_sweep = now  # after the look: a down database is tried again at the next pass
    return failed


def fail_abandoned_tasks() -> int:
    """Mark failed the RUNNING tasks of this host's dead workers, calling their handlers;
    return how many were failed."""
    from django_tasks_db.models import DBTaskResult

    running = (
        DBTaskResult.objects.running()
        .filter(backend_name__in=database_backends())
        .only("id", "task_path", "args_kwargs", "worker_ids")
    )
    failed = 0
    for result in running:
        worker_id = result.worker_ids[-1] if result.worker_ids else ""
        pid = pid_of_local_worker(worker_id)
        if pid is None or worker_is_alive(pid):
            continue
        failed += _fail(result, worker_id)
    return failed


def pid_of_local_worker(worker_id: str) -> int | None:
    """Return the pid of a run_worker of this host from its worker id, else None (another
    host's worker, another kind of worker, or an id cut short)."""
    prefix = f"{WORKER_ID_PREFIX}{socket.gethostname()}:"
    if len(worker_id) >= WORKER_ID_LENGTH or not worker_id.startswith(prefix):
        return None
    pid = worker_id[len(prefix) :]
    return int(pid) if pid.isdigit() else None


def worker_is_alive(pid: int) -> bool:
    """Return whether process `pid` of this host is a live run_worker.

    Where there is no /proc (not Linux), a live pid counts as the worker. A pid of another
    user's process counts as alive: nothing more can be known of it.
    """
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not (proc / "self").exists():
        return True
    try:
        arguments = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False  # it ended meanwhile
    return b"run_worker" in arguments


def _fail(result: Any, worker_id: str) -> int:
    """Mark one task failed and call its handler, together; return 1, or 0 if another
    worker was first or the handler failed (then it is tried again at the next look)."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    error = WorkerStopped(f"The worker {worker_id} stopped before this task ended.")
    handler = _handlers.get(result.task_path)
    arguments = result.args_kwargs or {}
    try:
        with transaction.atomic():
            # Only while still RUNNING: of two workers that look at once, one fails it.
            marked = DBTaskResult.objects.filter(
                pk=result.pk, status=TaskResultStatus.RUNNING
            ).update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path=f"{__name__}.{WorkerStopped.__qualname__}",
                traceback="".join(traceback.format_exception(error)),
                return_value=None,
            )
            if marked and handler is not None:
                handler(*arguments.get("args", []), **arguments.get("kwargs", {}))
    except Exception:
        logger.exception("Cannot mark failed the task %s of a stopped worker", result.pk)
        return 0
    if marked:
        logger.warning("Task %s (%s) failed: %s", result.pk, result.task_path, error)
    return int(bool(marked))
