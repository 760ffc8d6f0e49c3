"""Importing clients with their emergency contacts from CSV: preview, import all, export.

`preview_client_import` reads and checks a file and keeps its rows (nothing else is saved);
`start_client_import` queues the import of a previewed file; `import_clients` (run by the
task in tasks.py) saves every row through `people.services.save_party` in one transaction,
so each client and contact gets its portal login and invitation as in the back office,
and a row refused at that time leaves nothing saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from careportal.audit.events import audit_event, record, record_many
from careportal.imports import cells, clients
from careportal.imports.models import ClientImport, ImportState
from careportal.invitations.models import Invitation
from careportal.invitations.services import invite_parties
from careportal.people.models import Client, EmergencyContact
from careportal.people.services import review_portal_logins, save_party

logger = logging.getLogger(__name__)

# Errors kept and shown for one file: enough to fix a file, never a page of thousands.
MAX_ERRORS = 500
# Progress is written each time it moves this many percent.
PROGRESS_STEP = 2
# New clients written at once (with their contacts, logins and invitations).
BATCH = 500


class ImportNotReady(Exception):
    """The import was refused, has started or is over: it cannot be started again."""


class RowRefused(Exception):
    """A row cannot be saved at import time; nothing of the file is saved."""

    def __init__(self, error: cells.RowError) -> None:
        super().__init__(error.message)
        self.error = error


def describe(error: dict[str, Any] | cells.RowError) -> str:
    """Return an error as the preview names it: "Line 14, date_of_birth: ..."."""
    if isinstance(error, cells.RowError):
        error = error.as_dict()
    if error["column"]:
        return _("Line %(line)d, %(column)s: %(message)s") % error
    return _("Line %(line)d: %(message)s") % error


def preview_client_import(
    *, agency: Any, data: bytes, file_name: str, actor: Any = None
) -> ClientImport:
    """Read and check the file; keep its rows, errors and counts. Nothing else is saved.

    Raise cells.FileRefused if the file as a whole cannot be read (too large, not text,
    wrong columns): then nothing at all is kept.
    """
    rows = clients.read_rows(data)
    planned = clients.plan_rows(agency, rows)
    errors = [error.as_dict() for row in planned for error in row.errors]
    actions = [row.action for row in planned]
    return ClientImport.objects.create(
        agency=agency,
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


def start_client_import(*, client_import: ClientImport) -> None:
    """Queue the import of a previewed file (its task, in the same transaction)."""
    from careportal.imports.tasks import run_client_import

    with transaction.atomic():
        started = ClientImport.objects.filter(pk=client_import.pk, state=ImportState.READY).update(
            state=ImportState.QUEUED, progress=0
        )
        if not started:
            raise ImportNotReady
        run_client_import.enqueue(client_import.pk)
    client_import.state = ImportState.QUEUED


def run_import(import_id: int) -> str:
    """Import a queued file, all or nothing; return its final state."""
    claimed = ClientImport.objects.filter(pk=import_id, state=ImportState.QUEUED).update(
        state=ImportState.RUNNING, progress=0
    )
    if not claimed:
        return "not queued"
    client_import = ClientImport.objects.select_related("agency", "uploaded_by").get(pk=import_id)
    progress, close = _progress_writer(import_id)
    try:
        with transaction.atomic():
            summary = import_clients(client_import=client_import, on_progress=progress)
    except RowRefused as exc:
        _fail(import_id, describe(exc.error))
        return ImportState.FAILED
    except Exception:
        logger.exception("The client import %s failed", import_id)
        _fail(import_id, _("Something went wrong on our side. Please try again."))
        raise
    finally:
        close()
    return str(summary.state)


def import_clients(
    *, client_import: ClientImport, on_progress: Callable[[int], None] | None = None
) -> ClientImport:
    """Save every row of the import, in the caller's transaction; return the import, done.

    Each row is checked again against the agency as it is now; a refused row raises
    RowRefused before anything is written (and the caller's transaction rolls back what a
    later failure leaves). New clients with their contacts are written a batch at a time
    (`_create_batch`: the invitations through `invite_parties`); a client that changes goes
    through `save_party`, as in the back office.
    """
    agency = client_import.agency
    actor = client_import.uploaded_by
    invitations_before = Invitation.objects.filter(agency=agency).count()
    planned = clients.plan_rows(agency, client_import.rows)
    for row in planned:
        if row.errors:
            raise RowRefused(row.errors[0])
    new = [row for row in planned if row.action == "create"]
    changed = [row for row in planned if row.action == "update"]
    total = len(new) + len(changed) or 1
    done = last = 0

    def moved(rows: int) -> None:
        nonlocal done, last
        done += rows
        percent = done * 100 // total
        if on_progress is not None and percent - last >= PROGRESS_STEP:
            last = percent
            on_progress(min(percent, 99))

    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        _create_batch(batch, agency=agency, actor=actor)
        moved(len(batch))
    for row in changed:
        _save_row(row, agency=agency, actor=actor)
        moved(1)
    client_import.state = ImportState.DONE
    client_import.progress = 100
    client_import.created = len(new)
    client_import.updated = len(changed)
    client_import.skipped = len(planned) - len(new) - len(changed)
    client_import.invitations_queued = (
        Invitation.objects.filter(agency=agency).count() - invitations_before
    )
    client_import.finished_at = timezone.now()
    client_import.failure = ""
    client_import.save()
    record(
        "client_import.imported",
        actor=actor,
        agency=agency,
        obj=client_import,
        created=client_import.created,
        updated=client_import.updated,
        skipped=client_import.skipped,
        invitations_queued=client_import.invitations_queued,
    )
    return client_import


def _create_batch(rows: list[clients.PlannedRow], *, agency: Any, actor: Any) -> None:
    """Write new clients and their contacts as save_party would, with fixed queries a batch.

    The records were checked (full_clean) when planned; the database's constraints are the
    last word. Logins and invitations: `invite_parties`, the back office's bulk door, which
    links a contact to the agency's login of the same email as `sync_portal_account` does;
    a login given back a relationship is reactivated (`review_portal_logins`); and each
    record's "party.created" event, as save_party writes it.
    """
    new_clients = [row.client for row in rows]
    for client in new_clients:
        client.agency = agency
    Client.objects.bulk_create(new_clients)
    contacts = []
    for row in rows:
        for contact in row.contacts:
            contact.agency = agency
            contact.client = row.client
            contacts.append(contact)
    EmergencyContact.objects.bulk_create(contacts)
    parties: list[Any] = [*new_clients, *contacts]
    invite_parties(agency=agency, parties=parties, actor=actor)
    user_ids = set(
        EmergencyContact.objects.filter(pk__in=[c.pk for c in contacts])
        .exclude(user=None)
        .values_list("user_id", flat=True)
    )
    inactive = get_user_model()._default_manager.filter(pk__in=user_ids, is_active=False)
    review_portal_logins(user_ids=inactive.values_list("pk", flat=True), actor=actor)
    record_many(
        [audit_event("party.created", actor=actor, obj=party, agency=agency) for party in parties]
    )


def _save_row(row: clients.PlannedRow, *, agency: Any, actor: Any) -> None:
    column = ""
    try:
        save_party(party=row.client, agency=agency, actor=actor)
        for n, contact in enumerate(row.contacts, start=1):
            column = f"contact_{n}_"
            contact.client = row.client
            save_party(party=contact, agency=agency, actor=actor)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise RowRefused(
            cells.RowError(
                row.line, column + name if name != "__all__" else column.rstrip("_"), messages[0]
            )
        ) from exc


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


def export_client_rows(*, agency: Any, actor: Any, request: HttpRequest | None) -> Any:
    """Record the export and return its rows (the header first), read a few hundred at a time."""
    record("clients.exported", request=request, actor=actor, agency=agency)
    return clients.export_rows(agency)
