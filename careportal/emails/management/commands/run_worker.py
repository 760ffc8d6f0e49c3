"""manage.py run_worker: deliver queued email and invitations, run background tasks.

Each pass is `emails.delivery.run_once`: the steps other apps register (invitations,
forgot-password requests), post_office's mail, due django-tasks tasks, the upkeep. At its
start, and every few minutes, it also fails the tasks left running by a worker of this host
that died, so that an import or a copy of a record does not stay under way (emails.abandoned).
Run one or more in production (they share the work through the database). While due
work waits, the worker takes the next batch at once; it waits `--interval` seconds only
when the queues are empty. On PostgreSQL it wakes early when something is queued (the
services NOTIFY careportal_outbox on commit; see emails.delivery), so an email leaves
within a second; on SQLite it sleeps the interval. A down SMTP server or database is
logged and tried again after the interval, without the worker exiting.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.db.backends.signals import connection_created

from careportal.emails.delivery import listen, run_once, wait_for_work


class Command(BaseCommand):
    help = "Deliver queued email and invitations, and run background tasks, in a loop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="Seconds to wait when nothing is due (default 5; woken early on PostgreSQL).",
        )
        parser.add_argument("--once", action="store_true", help="Run one pass and stop.")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        if not once:
            # Finish the pass in hand on SIGTERM/SIGINT rather than dying mid-send.
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            self.stdout.write(f"Worker started, waiting {interval:g} seconds when idle.")
        connection_created.connect(_set_up_connection)
        while True:
            # A database that went away: run_once logs it, and the worker waits.
            with contextlib.suppress(Exception):
                close_old_connections()
            result = run_once()
            if once or options.get("verbosity", 1) > 1:
                self.stdout.write(f"Worker pass: {result}")
            if once or stopping:
                break
            if result.get("waiting"):
                continue  # more is due: the next batch now
            # In short waits, so that SIGTERM stops an idle worker at once.
            deadline = time.monotonic() + interval
            while not stopping and (left := deadline - time.monotonic()) > 0:
                if wait_for_work(min(0.5, left)):
                    break
        close_old_connections()


def _set_up_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Set up each new database connection of the worker (again after a restart).

    It listens for the services' notices from the start, so none sent while the worker is
    busy is missed when it next waits.
    """
    _commit_without_waiting_for_disk(connection)
    listen(connection)


def _commit_without_waiting_for_disk(connection: Any) -> None:
    """On PostgreSQL, let the worker's commits return before they reach the disk.

    The worker commits once per email sent; waiting for the disk each time would halve its
    pace. Everything it writes can be redone: a database crash may lose its last commits,
    so the emails they marked sent go again (with new one-time passwords).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
