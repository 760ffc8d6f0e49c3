"""How long an import of many clients takes: a function `make bench` can call.

`time_client_import` writes a file of made-up clients (each with two emergency contacts
with emails), previews it and imports it as the worker would, and returns the seconds
each step took. It writes real rows in the agency: call it on a database made for timing.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from typing import Any

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.imports import clients as columns
from careportal.imports.services import preview_client_import, run_import, start_client_import


def sample_file(count: int, *, tag: str = "") -> bytes:
    """Return a CSV file of `count` clients, each with two contacts, all with new emails."""
    tag = tag or secrets.token_hex(3)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns.COLUMNS)
    for n in range(count):
        row = {
            "external_id": f"T{tag}-{n}",
            "first_name": f"Test{n}",
            "last_name": "Timing",
            "date_of_birth": "1940-05-17",
            "email": f"client.{tag}.{n}@timing.example",
            "status": "active",
            "contact_1_name": f"First Contact {n}",
            "contact_1_relationship": "daughter",
            "contact_1_email": f"first.{tag}.{n}@timing.example",
            "contact_2_name": f"Second Contact {n}",
            "contact_2_relationship": "son",
            "contact_2_email": f"second.{tag}.{n}@timing.example",
        }
        writer.writerow([row.get(name, "") for name in columns.COLUMNS])
    return out.getvalue().encode()


def time_client_import(
    *, agency: Agency, count: int = 5000, actor: User | None = None
) -> dict[str, Any]:
    """Preview and import `count` clients with 2 contacts each; return the figures."""
    data = sample_file(count)
    started = time.perf_counter()
    client_import = preview_client_import(
        agency=agency, data=data, file_name="timing.csv", actor=actor
    )
    previewed = time.perf_counter()
    start_client_import(client_import=client_import, actor=actor)
    state = run_import(client_import.pk)
    imported = time.perf_counter()
    client_import.refresh_from_db()
    return {
        "clients": count,
        "contacts": 2 * count,
        "state": state,
        "preview_seconds": round(previewed - started, 2),
        "import_seconds": round(imported - previewed, 2),
        "invitations_queued": client_import.invitations_queued,
    }
