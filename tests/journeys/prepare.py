"""Prepare a journey server's database in one process: migrate, cache table, data.

    python -m tests.journeys.prepare cast|demo

Run by JourneyServer with the server's environment (DATABASE_URL names its fresh SQLite file).
One process instead of one `manage.py` per step saves a Django start-up for each. The last line
printed is `PREPARED <json>`: the management commands that exist, and run_worker's options.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main(data: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careportal.settings")
    django.setup()
    from django.core.management import call_command, get_commands, load_command_class

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    commands = get_commands()
    if data == "demo" and "seed_demo" in commands:
        call_command("seed_demo")
    else:
        from tests.cast import build_cast

        build_cast()
    worker_help = ""
    if "run_worker" in commands:
        worker = load_command_class(commands["run_worker"], "run_worker")
        worker_help = worker.create_parser("manage.py", "run_worker").format_help()
    report = {"commands": sorted(commands), "worker_interval": "--interval" in worker_help}
    print("PREPARED " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cast")
