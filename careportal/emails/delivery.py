"""The worker's loop: post_office mail, the other apps' steps, background tasks, upkeep.

`run_once` is one pass of `manage.py run_worker`. Other apps add their own steps from their
AppConfig.ready with `register_step` (invitations: its outbox and new-invitation requests;
accounts: forgot-password requests), so this app imports none of them. A pass runs those
steps in the order they were registered, then sends post_office's queued mail, runs due
background tasks (django-tasks, database backend) and does the upkeep of sent mail. This
app's own registered step fails the tasks of workers that died (abandoned.py).

post_office's queue is not locked by post_office itself, so one worker at a time sends it,
a batch at a time, under a lock in the shared cache. A task is claimed with SELECT ... FOR
UPDATE SKIP LOCKED, so several workers share the tasks too.

Waking: the services that queue an email, an invitation, a request or a task call
`wake_worker()` in their transaction; once it commits, `NOTIFY careportal_outbox` tells
every worker waiting in `wait_for_work`, so the work starts at once rather than at the end
of the worker's interval. A rolled-back write wakes nobody. On other databases (SQLite)
nothing is sent and the worker sleeps its interval.
"""

from __future__ import annotations

import datetime
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import get_connection
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

logger = logging.getLogger(__name__)

CHANNEL = "careportal_outbox"
POST_OFFICE_LOCK = "careportal:post_office:sending"
POST_OFFICE_LOCK_SECONDS = 10 * 60
# Sent mail blanked or deleted in one pass; a backlog goes over the next passes.
UPKEEP_BATCH = 1000
# Background tasks run in one pass: email due meanwhile waits at most for these.
TASK_BATCH = 10
DATABASE_TASK_BACKEND = "django_tasks_db.DatabaseBackend"
# A worker's id, `run_worker:<host>:<pid>`, cut to the 64 characters django-tasks-db allows.
WORKER_ID_PREFIX = "run_worker:"
WORKER_ID_LENGTH = 64


def mail_connection() -> Any:
    """Return a connection to the backend that delivers email (EMAIL_URL), not yet open."""
    return get_connection(settings.DELIVERY_EMAIL_BACKEND, fail_silently=False)


# The other apps' steps ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A job of each pass: `run` does a batch; `waiting` says whether more is due now."""

    name: str
    run: Callable[[], Any]
    waiting: Callable[[], bool] | None = None


_steps: dict[str, Step] = {}


def register_step(
    name: str, run: Callable[[], Any], *, waiting: Callable[[], bool] | None = None
) -> None:
    """Add a step to every pass of the worker (from an AppConfig.ready); once per name."""
    _steps[name] = Step(name=name, run=run, waiting=waiting)


# post_office mail -------------------------------------------------------------------------


def send_post_office_mail() -> tuple[int, int, int]:
    """Send post_office's queued mail, one worker at a time; return (sent, failed, requeued)."""
    from post_office.mail import get_queued, send_queued

    if not get_queued().exists():
        return (0, 0, 0)  # and no log line every few seconds for nothing
    token = secrets.token_hex(8)
    if not cache.add(POST_OFFICE_LOCK, token, POST_OFFICE_LOCK_SECONDS):
        return (0, 0, 0)
    try:
        result: tuple[int, int, int] = send_queued(processes=1)
        return result
    finally:
        if cache.get(POST_OFFICE_LOCK) == token:
            cache.delete(POST_OFFICE_LOCK)


def blank_sent_mail_bodies() -> int:
    """Blank the bodies of post_office email once sent; return how many were blanked.

    Bodies hold reset links and families' messages (kept on their own in messaging). What
    staff and operators need stays: recipient, subject, state and times.
    """
    from post_office.models import STATUS, Email

    sent = Email.objects.filter(status=STATUS.sent).exclude(message="", html_message="")
    ids = list(sent.order_by().values_list("pk", flat=True)[:UPKEEP_BATCH])
    if not ids:
        return 0
    blanked: int = Email.objects.filter(pk__in=ids).update(
        message="", html_message="", context=None
    )
    return blanked


def delete_old_sent_mail() -> int:
    """Delete post_office email sent over SENT_EMAIL_RETENTION_DAYS ago; return how many.

    post_office's own cleanup (utils.cleanup_expired_mails) deletes by age whatever the
    status, queued and failed mail too, so sent mail is picked out here. A batch a pass
    keeps each pass short; a backlog goes over the next passes.
    """
    from post_office.models import STATUS, Email

    cutoff = timezone.now() - datetime.timedelta(days=settings.SENT_EMAIL_RETENTION_DAYS)
    old = Email.objects.filter(status=STATUS.sent, last_updated__lt=cutoff)
    ids = list(old.order_by().values_list("pk", flat=True)[:UPKEEP_BATCH])
    if not ids:
        return 0
    _total, per_model = old.filter(pk__in=ids).delete()
    deleted: int = per_model.get(Email._meta.label, 0)
    return deleted


def mail_waiting() -> bool:
    from post_office.mail import get_queued

    return bool(get_queued().exists())


# Background tasks (django-tasks, database backend) ----------------------------------------


def database_backends() -> list[str]:
    """Return the aliases of TASKS whose tasks are rows of the database (django-tasks-db)."""
    return [
        alias
        for alias, options in getattr(settings, "TASKS", {}).items()
        if options.get("BACKEND") == DATABASE_TASK_BACKEND
    ]


def _due_tasks() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().filter(backend_name__in=database_backends())


def _worker_id() -> str:
    return f"{WORKER_ID_PREFIX}{socket.gethostname()}:{os.getpid()}"[:WORKER_ID_LENGTH]


def run_due_tasks(*, limit: int | None = None) -> int:
    """Run up to `limit` (TASK_BATCH) due tasks, each claimed first; return how many ran.

    A task that raises is recorded as failed (its result shows the error) and the next one
    runs. The running is django-tasks-db's own (its `db_worker`'s), signals and all.
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.utils import exclusive_transaction

    if not tasks_waiting():
        return 0  # and no write lock every pass for nothing (SQLite takes the whole file)
    worker_id = _worker_id()
    runner = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    limit = TASK_BATCH if limit is None else limit
    ran = 0
    while ran < limit:
        due = _due_tasks()
        with exclusive_transaction(due.db):
            task_result = due.get_locked()
            if task_result is not None:
                task_result.claim(worker_id)  # no other worker takes it now
        if task_result is None:
            break
        runner.run_task(task_result)
        ran += 1
    return ran


def tasks_waiting() -> bool:
    return bool(_due_tasks().exists())


# One pass ---------------------------------------------------------------------------------


def steps() -> list[Step]:
    """Return a pass's steps in order: the registered ones, the mail, the tasks, the upkeep."""
    return [
        # Before the mail step, so an email they queue goes out in the same pass.
        *_steps.values(),
        Step("mail", send_post_office_mail, mail_waiting),
        Step("tasks", run_due_tasks, tasks_waiting),
        Step("mail_blanked", blank_sent_mail_bodies),
        Step("mail_deleted", delete_old_sent_mail),
    ]


def work_waiting() -> bool:
    """Return True if a step has work due now: email, invitations, requests or tasks."""
    return any(step.waiting() for step in steps() if step.waiting is not None)


def run_once() -> dict[str, Any]:
    """One pass of the worker: every step once, a batch each.

    A failing step is logged and the others still run. `result["waiting"]` says whether
    due work remains, for the worker to go on at once rather than sleep.
    """
    result: dict[str, Any] = {}
    for step in steps():
        try:
            result[step.name] = step.run()
        except Exception:  # the worker outlives a down database or server
            logger.exception("Worker step %s failed", step.name)
            result[step.name] = None
    try:
        result["waiting"] = work_waiting()
    except Exception:  # the database is down: sleep, then try again
        logger.warning("Worker cannot read the queues", exc_info=True)
        result["waiting"] = False
    return result


# Waking an idle worker (PostgreSQL's LISTEN/NOTIFY) ----------------------------------------


def wake_worker(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Tell the workers, once the current transaction commits, that work is queued."""
    if connections[using].vendor == "postgresql":
        # robust: the write is done by then; a lost notice only costs the interval.
        transaction.on_commit(lambda: _notify(using), using=using, robust=True)


def _notify(using: str = DEFAULT_DB_ALIAS) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}")


def _task_enqueued(sender: Any, **kwargs: Any) -> None:
    wake_worker()


def connect_task_wakeup() -> None:
    """Wake the workers when a task is enqueued, as when an email is queued."""
    from django_tasks.signals import task_enqueued

    task_enqueued.connect(_task_enqueued, dispatch_uid="careportal.emails.task_enqueued")


def listen(connection: BaseDatabaseWrapper) -> None:
    """Subscribe a new database connection of the worker to the channel (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")


def wait_for_work(timeout: float, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Wait up to `timeout` seconds for a notice; return True if one came.

    Notices that came while the worker was busy are kept by the connection and count: the
    worker looks again at once. On SQLite, or with the database down, this just sleeps.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        time.sleep(timeout)
        return False
    try:
        connection.ensure_connection()  # a new connection LISTENs (see run_worker)
        notices = connection.connection.notifies
        woke = bool(list(notices(timeout=timeout, stop_after=1)))
        if woke:
            list(notices(timeout=0))  # the rest of a burst: one pass serves them all
    except Exception:  # the database went away: the next pass logs it and waits
        logger.debug("Cannot wait for notices", exc_info=True)
        time.sleep(timeout)
        return False
    return woke
