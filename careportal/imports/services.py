"""Importing a CSV file of any kind (kinds.py): preview, import all, export.

`preview_client_import` reads and checks a file and keeps its rows (nothing else is
saved); `start_client_import` queues the import of a previewed file; `import_rows` (run by
the task in tasks.py) saves every row through the kind's `save_rows` in one transaction,
which goes through the people's services, so each person gets their portal login and
invitation as in the back office, and a row refused at that time leaves nothing saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.imports import cells, kinds
from careportal.imports.cells import RowRefused
from careportal.imports.models import ClientImport, ImportKind, ImportState
from careportal.invitations.models import Invitation

logger = logging.getLogger(__name__)

# Errors kept and shown for one file: enough to fix a file, never a page of thousands.
MAX_ERRORS = 500
# Progress is written each time it moves this many percent.
PROGRESS_STEP = 2
# The audit action of each kind's export.
EXPORTED: dict[str, Action] = {
    ImportKind.CLIENTS: Action.CLIENTS_EXPORTED,
    ImportKind.PAYERS: Action.PAYERS_EXPORTED,
    ImportKind.COMMUNITIES: Action.COMMUNITIES_EXPORTED,
    ImportKind.LINKS: Action.LINKS_EXPORTED,
    ImportKind.VISITS: Action.VISITS_EXPORTED,
}


class ImportNotReady(Exception):
    """The import was refused, has started or is over: it cannot be started again."""


def describe(error: dict[str, Any] | cells.RowError) -> str:
    """Return an error as the preview names it: "Line 14, date_of_birth: ..."."""
    if isinstance(error, cells.RowError):
        error = error.as_dict()
    if error["column"]:
        return _("Line %(line)d, %(column)s: %(message)s") % error
    return _("Line %(line)d: %(message)s") % error


def preview_client_import(
    *,
    agency: Agency,
    data: bytes,
    file_name: str,
    actor: User | None = None,
    kind: str = ImportKind.CLIENTS,
) -> ClientImport:
    """Read and check a file of the kind; keep its rows, errors and counts, and nothing else.

    Raise cells.FileRefused if the file as a whole cannot be read (too large, not text,
    wrong columns): then nothing at all is kept.
    """
    of_kind = kinds.kind_of(kind)
    try:
        rows = cells.read_rows(data, of_kind.columns)
    except cells.FileRefused:
        _refuse_other_kind(data, of_kind)
        raise
    return _preview(agency=agency, of_kind=of_kind, rows=rows, file_name=file_name, actor=actor)


def recheck_client_import(
    *, client_import: ClientImport, actor: User | None = None
) -> ClientImport:
    """Check the rows of an import again, against the agency as it is now: a new preview.

    After an import failed because the agency's records changed, the same file can be
    checked again without uploading it. Raise ImportNotReady if its rows are not kept.
    """
    if not client_import.rows:
        raise ImportNotReady
    return _preview(
        agency=client_import.agency,
        of_kind=kinds.kind_of(client_import.kind),
        rows=client_import.rows,
        file_name=client_import.file_name,
        actor=actor,
    )


def _refuse_other_kind(data: bytes, chosen: kinds.Kind) -> None:
    """Raise FileRefused naming the other kind whose columns the file has, if there is one."""
    for other in kinds.KINDS.values():
        if other is chosen:
            continue
        try:
            cells.read_rows(data, other.columns)
        except cells.FileRefused:
            continue
        raise cells.FileRefused(
            _(
                "This is a file of %(other)s, not of %(chosen)s: choose that kind, "
                "or use the template of %(chosen)s."
            )
            % {"other": other.label, "chosen": chosen.label}
        )


def _preview(
    *,
    agency: Agency,
    of_kind: kinds.Kind,
    rows: list[dict[str, Any]],
    file_name: str,
    actor: User | None,
) -> ClientImport:
    """Plan the rows and keep them, their errors and counts as a new import (nothing else)."""
    planned = of_kind.plan_rows(agency, rows)
    errors = [error.as_dict() for row in planned for error in row.errors]
    actions = [row.action for row in planned]
    return ClientImport.objects.create(
        agency=agency,
        kind=of_kind.name,
        uploaded_by=actor,
        file_name=file_name[:255],
        state=ImportState.REFUSED if errors else ImportState.READY,
        rows=rows if not errors else [],
        errors=errors[:MAX_ERRORS],
        row_count=len(rows),
        to_create=actions.count("create"),
        to_update=actions.count("update"),
        to_skip=actions.count("skip"),
    )


def start_client_import(*, client_import: ClientImport, actor: User | None = None) -> None:
    """Queue the import of a previewed file (its task, in the same transaction).

    `actor` pressed "Import all": the import's audit events name them, not the uploader.
    """
    from careportal.imports.tasks import run_client_import

    with transaction.atomic():
        started = ClientImport.objects.filter(pk=client_import.pk, state=ImportState.READY).update(
            state=ImportState.QUEUED, progress=0, started_by=actor
        )
        if not started:
            raise ImportNotReady
        run_client_import.enqueue(client_import.pk)
    client_import.state = ImportState.QUEUED
    client_import.started_by = actor


def run_import(import_id: int) -> str:
    """Import a queued file, all or nothing; return its final state."""
    claimed = ClientImport.objects.filter(pk=import_id, state=ImportState.QUEUED).update(
        state=ImportState.RUNNING, progress=0
    )
    if not claimed:
        return "not queued"
    client_import = ClientImport.objects.select_related("agency", "uploaded_by", "started_by").get(
        pk=import_id
    )
    progress, close = _progress_writer(import_id)
    try:
        with transaction.atomic(), translation.override(_language_of(client_import)):
            summary = import_rows(client_import=client_import, on_progress=progress)
    except RowRefused as exc:
        with translation.override(_language_of(client_import)):
            why = _(
                "Your agency's records changed after the file was checked, and a row no "
                "longer fits: %(error)s"
            ) % {"error": describe(exc.error)}
        _fail(import_id, why)
        return ImportState.FAILED
    except Exception:
        logger.exception("The import %s failed", import_id)
        with translation.override(_language_of(client_import)):
            why = _("Something went wrong on our side. Please try again.")
        _fail(import_id, why)
        raise
    finally:
        close()
    return str(summary.state)


def _language_of(client_import: ClientImport) -> str:
    """Return the language of whoever started the import (else the uploader), or the site's.

    The worker has no request: its messages would otherwise always be in English.
    """
    person = client_import.started_by or client_import.uploaded_by
    return (person.language if person is not None else "") or settings.LANGUAGE_CODE


def import_rows(
    *, client_import: ClientImport, on_progress: Callable[[int], None] | None = None
) -> ClientImport:
    """Save every row of the import, in the caller's transaction; return the import, done.

    Each row is checked again against the agency as it is now; a refused row raises
    RowRefused before anything is written (and the caller's transaction rolls back what a
    later failure leaves). The kind's `save_rows` writes the rows, telling how many rows
    of the file it has done as it goes; the progress moves by PROGRESS_STEP percent at least.
    Whoever pressed "Import all" is the records' author (else the uploader).
    """
    of_kind = kinds.kind_of(client_import.kind)
    agency = client_import.agency
    actor = client_import.started_by or client_import.uploaded_by
    invitations_before = Invitation.objects.filter(agency=agency).count()
    planned = of_kind.plan_rows(agency, client_import.rows)
    for row in planned:
        if row.errors:
            raise RowRefused(row.errors[0])
    total = len(planned) or 1
    last = 0

    def moved(done: int) -> None:
        nonlocal last
        percent = done * 100 // total
        if on_progress is not None and percent - last >= PROGRESS_STEP:
            last = percent
            on_progress(min(percent, 99))

    counts = of_kind.save_rows(planned, agency, actor, moved)
    client_import.state = ImportState.DONE
    client_import.progress = 100
    client_import.created = counts.created
    client_import.updated = counts.updated
    client_import.skipped = counts.skipped
    client_import.invitations_queued = (
        Invitation.objects.filter(agency=agency).count() - invitations_before
    )
    client_import.finished_at = timezone.now()
    client_import.failure = ""
    client_import.save()
    record(
        Action.CLIENT_IMPORT_IMPORTED,
        actor=actor,
        agency=agency,
        obj=client_import,
        kind=client_import.kind,
        created=client_import.created,
        updated=client_import.updated,
        skipped=client_import.skipped,
        invitations_queued=client_import.invitations_queued,
    )
    return client_import


def _fail(import_id: int, why: str) -> None:
    ClientImport.objects.filter(pk=import_id).update(
        state=ImportState.FAILED, failure=why, finished_at=timezone.now()
    )


def _progress_writer(import_id: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """Return how to write progress while the import's transaction is open, and to stop.

    The import is one transaction, which the page's polling cannot see into: on PostgreSQL
    progress goes through a second connection of its own, committed at once. SQLite has one
    writer at a time, so there the page sees the import's start and its end.
    """
    if connection.vendor != "postgresql":
        return (lambda percent: None), (lambda: None)
    side = connections.create_connection(DEFAULT_DB_ALIAS)

    def write(percent: int) -> None:
        with side.cursor() as cursor:
            # The table's name is the model's own; the values are parameters.
            cursor.execute(
                f"UPDATE {ClientImport._meta.db_table} SET progress = %s WHERE id = %s",  # noqa: S608
                [percent, import_id],
            )

    return write, side.close


def export_rows(
    *, agency: Agency, kind: str, actor: User | None, request: HttpRequest | None
) -> Iterator[list[str]]:
    """Record the export (EXPORTED) and return its rows, the header first."""
    of_kind = kinds.kind_of(kind)
    record(EXPORTED[of_kind.name], request=request, actor=actor, agency=agency)
    return of_kind.export_rows(agency)
