"""Work whose worker was killed: the real worker process, killed with SIGKILL mid-import,
and the next worker that fails the import so that it no longer shows "Importing"."""

import contextlib
import signal
import sqlite3

import pytest

from tests.faults.conftest import wait_for

pytestmark = pytest.mark.faults

# Rows enough for the import to run some seconds after it starts, even on a fast machine.
ROWS = 8000
STOPPED = (
    "The import stopped before it finished, because the server's background worker stopped. "
    "Nothing was saved. Upload the file again to import it."
)


def _read(site, sql, *params):
    """Return the rows of a query, or None while the import's transaction locks the file."""
    path = site.database_url[len("sqlite:///") :]
    with (
        contextlib.suppress(sqlite3.OperationalError),
        contextlib.closing(sqlite3.connect(path, timeout=0.2)) as db,
    ):
        return db.execute(sql, params).fetchall()
    return None


def _import(site, import_id):
    rows = _read(site, "SELECT state, failure FROM imports_clientimport WHERE id = ?", import_id)
    return rows[0] if rows else None


def test_a_new_worker_fails_the_import_of_a_killed_one_and_nothing_is_saved(site):
    started = site.run("import", str(ROWS))
    import_id, agency_id = started["import"], started["agency"]
    worker = site.start_worker("killed")

    def importing():
        """the import running"""
        found = _import(site, import_id)
        return found is not None and found[0] == "running"

    wait_for(importing, timeout=30, step=0.05)
    # Into the import's one transaction, rows written but not committed.
    wait_for(lambda: site.workdir.joinpath("faults.sqlite3-journal").exists(), timeout=10)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    # Without a live worker the import would show "Importing" for ever, its task too.
    assert _import(site, import_id) == ("running", "")
    site.start_worker("next")

    def failed():
        """the import failed by the next worker"""
        found = _import(site, import_id)
        return found is not None and found[0] == "failed" and found

    assert wait_for(failed, timeout=20) == ("failed", STOPPED)
    clients = _read(site, "SELECT count(*) FROM people_client WHERE agency_id = ?", agency_id)
    assert clients == [(0,)]
    tasks = _read(site, "SELECT status, traceback FROM django_tasks_database_dbtaskresult")
    assert len(tasks) == 1 and tasks[0][0] == "FAILED"
    assert "stopped before this task ended" in tasks[0][1]
