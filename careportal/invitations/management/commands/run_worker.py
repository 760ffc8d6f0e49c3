"""manage.py run_worker: deliver invitations and queued email, expire old invitations.

Run one or more in production (they share the work through the database). A down SMTP
server or a database hiccup is logged and tried again at the next pass.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from careportal.invitations.outbox import run_once


class Command(BaseCommand):
    help = "Deliver invitations and queued email, and expire old invitations, in a loop."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between passes (default 5)."
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
            self.stdout.write(f"Worker started, a pass every {interval:g} seconds.")
        while True:
            close_old_connections()
            result = run_once()
            if once or options.get("verbosity", 1) > 1:
                self.stdout.write(f"Worker pass: {result}")
            if once or stopping:
                break
            slept = 0.0
            while slept < interval and not stopping:
                time.sleep(min(0.5, interval - slept))
                slept += 0.5
        close_old_connections()
