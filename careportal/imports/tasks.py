"""The background import of a previewed CSV file, run by `manage.py run_worker`."""

from __future__ import annotations

from django_tasks import task

from careportal.imports.services import run_import


@task()
def run_client_import(import_id: int) -> str:
    """Import the file's rows, of whichever kind, all or nothing (services.run_import)."""
    return run_import(import_id)
