"""Run one function of `tests/journeys/records.py` in the journey server's database.

    python -m tests.journeys.run_record give_care '{"email": "iris@mail.example"}'

Run by `JourneyServer.record(...)` with the server's environment, so its DATABASE_URL
names the server's SQLite file. The function is named, its arguments are a JSON object,
and the last line printed is `RECORD <json>`: what it returned. No code travels as text.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from typing import Any

import django

PREFIX = "RECORD "


def run(name: str, arguments: dict[str, Any]) -> Any:
    """Return what records.<name>(**arguments) returns, refusing any other name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careportal.settings")
    django.setup()
    from tests.journeys import records

    function = getattr(records, name, None)
    if (
        name.startswith("_")
        or not inspect.isfunction(function)
        or function.__module__ != records.__name__
    ):
        raise SystemExit(f"records.py has no function {name!r}")
    return function(**arguments)


def result(output: str) -> Any:
    """Return the value a run printed, from its output."""
    line = next(line for line in reversed(output.splitlines()) if line.startswith(PREFIX))
    return json.loads(line[len(PREFIX) :])


if __name__ == "__main__":
    value = run(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    print(PREFIX + json.dumps(value), flush=True)
