"""Waking an idle worker when email is queued, with PostgreSQL's LISTEN/NOTIFY.

The services that queue an invitation, an email or a request the worker handles call
`wake_worker()` in their transaction; once it commits, `NOTIFY careportal_outbox` tells
every worker waiting in `wait_for_work`, so the email leaves at once rather than at the end
of the worker's interval. A rolled-back write wakes nobody. On other databases (SQLite)
nothing is sent and the worker sleeps its interval.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "careportal_outbox"


def wake_worker(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Tell the workers, once the current transaction commits, that work is queued."""
    if connections[using].vendor == "postgresql":
        # robust: the write is done by then; a lost notice only costs the interval.
        transaction.on_commit(_notify, using=using, robust=True)


def _notify(using: str = DEFAULT_DB_ALIAS) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}")


def listen(connection: Any) -> None:
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
