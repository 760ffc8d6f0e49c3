"""An import whose worker was killed while it ran: failed, with what to do, nothing saved."""

from __future__ import annotations

import csv
import io
import socket
import subprocess
import sys

from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from careportal.backoffice.tests.conftest import sign_in
from careportal.emails.abandoned import fail_abandoned_tasks
from careportal.imports import abandoned, clients, services, tasks
from careportal.imports.models import ClientImport, ImportState
from careportal.people.models import Client
from tests.page import polling

STOPPED = (
    "The import stopped before it finished, because the server&#x27;s background worker "
    "stopped. Nothing was saved. Upload the file again to import it."
)


def _dead_worker_id() -> str:
    """The id of a run_worker of this host whose process has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return f"run_worker:{socket.gethostname()}:{process.pid}"


def _queued_import(cast) -> ClientImport:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=clients.COLUMNS, restval="")
    writer.writeheader()
    for n in range(3):
        writer.writerow({"first_name": f"Iris{n}", "last_name": "Import", "status": "active"})
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=out.getvalue().encode(), file_name="clients.csv"
    )
    services.start_client_import(client_import=client_import)
    return client_import


def _claimed_by(worker_id: str) -> DBTaskResult:
    result = DBTaskResult.objects.get(task_path=tasks.run_client_import.module_path)
    result.claim(worker_id)
    return result


def test_it_fails_an_import_whose_worker_died_and_says_what_to_do(client, cast):
    clients_before = Client.objects.count()
    client_import = _queued_import(cast)
    _claimed_by(_dead_worker_id())
    # The worker had begun: the import showed "Importing" when it was killed.
    ClientImport.objects.filter(pk=client_import.pk).update(state=ImportState.RUNNING)

    assert fail_abandoned_tasks() == 1

    client_import.refresh_from_db()
    assert client_import.state == ImportState.FAILED
    assert client_import.finished_at is not None
    sign_in(client, cast.owner)
    page = client.get(reverse("backoffice:imports_clientimport_change", args=[client_import.pk]))
    body = page.content.decode()
    assert "Nothing was imported, and nothing was saved." in body
    assert STOPPED in body
    assert polling(body) is None  # the page stops asking
    assert Client.objects.count() == clients_before


def test_it_fails_an_import_whose_worker_died_before_it_began(cast):
    client_import = _queued_import(cast)
    _claimed_by(_dead_worker_id())

    assert fail_abandoned_tasks() == 1

    client_import.refresh_from_db()
    assert client_import.state == ImportState.FAILED


def test_it_leaves_an_import_that_is_over(cast):
    client_import = _queued_import(cast)
    ClientImport.objects.filter(pk=client_import.pk).update(state=ImportState.DONE)

    abandoned.fail_abandoned_import(client_import.pk)

    client_import.refresh_from_db()
    assert (client_import.state, client_import.failure) == (ImportState.DONE, "")


def test_it_handles_the_task_that_runs_imports():
    assert tasks.run_client_import.module_path == abandoned.TASK_PATH
