"""The CSV file of clients with their emergency contacts: its columns, checking and saving it.

One row per client, with up to two emergency contacts in columns `contact_1_...` and
`contact_2_...`. A client is matched by `external_id`, else by email within the agency
(one client a row: a second row matching the same client is an error); a contact of a
matched client by email, else by name. New clients are written a batch at a time
(`save_rows`), each with its portal login and invitation; a changed one goes through
`save_party`. The same columns go out in the export (`export_rows`), with formula
injection neutralised, and come back in unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.audit.actions import Action
from careportal.audit.events import audit_event, record_many
from careportal.imports import cells
from careportal.imports.cells import Counts, RowError
from careportal.invitations.services import invite_parties
from careportal.people.models import (
    Client,
    ClientStatus,
    EmergencyContact,
    Relationship,
)
from careportal.people.services import Party, review_portal_logins, save_party

CLIENT_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "email",
    "phone",
    "address",
    "status",
)
CONTACT_FIELDS = ("name", "relationship", "email", "phone")
CONTACTS_PER_ROW = 2
COLUMNS = CLIENT_FIELDS + tuple(
    f"contact_{n}_{name}" for n in range(1, CONTACTS_PER_ROW + 1) for name in CONTACT_FIELDS
)
EXAMPLE_ROWS = [
    {
        "external_id": "C-1001",
        "first_name": "Margaret",
        "last_name": "Example",
        "preferred_name": "Peggy",
        "date_of_birth": "1942-03-18",
        "email": "margaret@example.com",
        "phone": "555 0100",
        "address": "12 Maple Street, Springfield",
        "status": "active",
        "contact_1_name": "Ellen Example",
        "contact_1_relationship": "daughter",
        "contact_1_email": "ellen@example.com",
        "contact_1_phone": "555 0101",
    }
]

CHUNK = cells.CHUNK
# New clients written at once (with their contacts, logins and invitations).
BATCH = 500


@dataclass
class PlannedRow(cells.PlannedAction):
    """A row of the file made into records, not saved: what the import would write."""

    line: int
    client: Client
    contacts: list[EmergencyContact] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    is_new: bool = True
    has_changes: bool = True


@dataclass
class Seen:
    """What the file's earlier rows named, each with its line: a later row may not again."""

    external_ids: dict[str, int] = field(default_factory=dict)
    # The emails of rows without an external_id: clients may share an email.
    emails: dict[str, int] = field(default_factory=dict)
    # The stored clients matched, by pk.
    clients: dict[int, int] = field(default_factory=dict)


def read_rows(data: bytes) -> list[dict[str, Any]]:
    """Return the file's rows (cells.read_rows with this file's columns)."""
    return cells.read_rows(data, COLUMNS)


# Checking and planning -------------------------------------------------------------------


class Matcher:
    """The agency's clients and contacts that rows of a file may match, loaded in bulk."""

    def __init__(self, agency: Agency, rows: list[dict[str, Any]]) -> None:
        self.agency = agency
        external_ids = {cells.cell(row, "external_id") for row in rows} - {""}
        emails = {cells.cell(row, "email").lower() for row in rows} - {""}
        self.by_external_id: dict[str, Client] = {}
        self.by_email: dict[str, list[Client]] = {}
        clients = Client.objects.filter(agency=agency)
        for chunk in cells.chunks(sorted(external_ids)):
            for client in clients.filter(external_id__in=chunk):
                self.by_external_id[client.external_id] = client
        for chunk in cells.chunks(sorted(emails)):
            for client in clients.annotate(lower_email=Lower("email")).filter(
                lower_email__in=chunk
            ):
                self.by_email.setdefault(client.email.lower(), []).append(client)
        by_pk = {c.pk: c for c in self.by_external_id.values()} | {
            c.pk: c for found in self.by_email.values() for c in found
        }
        self.contacts: dict[int, list[EmergencyContact]] = {}
        for chunk in cells.chunks(sorted(by_pk)):
            contacts = EmergencyContact.objects.filter(client_id__in=chunk).select_related("user")
            for contact in contacts.order_by("pk"):
                # Its client at hand: checking the contact asks the database nothing more.
                contact.client = by_pk[contact.client_id]
                self.contacts.setdefault(contact.client_id, []).append(contact)
        all_emails = emails | {
            cells.cell(row, f"contact_{n}_email").lower()
            for row in rows
            for n in range(1, CONTACTS_PER_ROW + 1)
        } - {""}
        self.foreign_emails = cells.foreign_emails(agency, all_emails)

    def client_for(self, row: dict[str, Any]) -> tuple[Client | None, RowError | None]:
        external_id = cells.cell(row, "external_id")
        if external_id and external_id in self.by_external_id:
            return self.by_external_id[external_id], None
        email = cells.cell(row, "email").lower()
        found = self.by_email.get(email, []) if email else []
        # A client matched by email keeps the external id it has, unless the row gives one.
        found = [c for c in found if not external_id or not c.external_id]
        if len(found) > 1:
            return None, RowError(
                row["line"],
                "email",
                _("%(email)s belongs to more than one client: give the row an external_id.")
                % {"email": email},
            )
        return (found[0] if found else None), None

    def matched_by(self, row: dict[str, Any]) -> str:
        """Return the column a matched row was matched by: external_id, else email."""
        return "external_id" if cells.cell(row, "external_id") in self.by_external_id else "email"


def plan_rows(agency: Agency, rows: list[dict[str, Any]]) -> list[PlannedRow]:
    """Make each row into its client and contacts (unsaved), with every error found."""
    matcher = Matcher(agency, rows)
    seen = Seen()
    planned = [plan_row(agency, row, matcher, seen) for row in rows]
    return cells.flag_examples(planned, rows, EXAMPLE_ROWS, COLUMNS)


def plan_row(agency: Agency, row: dict[str, Any], matcher: Matcher, seen: Seen) -> PlannedRow:
    line = row["line"]
    errors: list[RowError] = []
    if row.get("_extra_cells"):
        errors.append(RowError(line, "", _("This row has more cells than the file has columns.")))
    texts: dict[str, str] = {}
    for name in COLUMNS:
        value, problem = cells.clean_cell(name, row.get(name, ""))
        texts[name] = value
        if problem:
            errors.append(RowError(line, name, problem))
    repeats = _repeated(line, texts, seen)
    errors += repeats
    stored, match_error = matcher.client_for(row)
    if match_error is not None:
        errors.append(match_error)
    if stored is not None and not repeats:
        message = _("Line %(line)d already stands for this client.")
        errors += cells.claim(seen.clients, stored.pk, line, matcher.matched_by(row), message)
    client = Client(agency=agency) if stored is None else cells.copy_of(stored)
    before = cells.values_of(client, CLIENT_FIELDS) if stored is not None else None
    for name in CLIENT_FIELDS:
        value = texts[name]
        if name == "date_of_birth":
            parsed, problem = cells.parse_date(value)
            if problem:
                errors.append(RowError(line, name, problem))
            client.date_of_birth = parsed
        elif name == "status":
            status, problem = _status(value, client.status)
            if problem:
                errors.append(RowError(line, name, problem))
            client.status = status
        elif name == "external_id" and not value and stored is not None:
            continue  # a client matched by email keeps its external id
        else:
            setattr(client, name, value)
    planned = PlannedRow(line=line, client=client, is_new=stored is None)
    changed = before != cells.values_of(client, CLIENT_FIELDS)
    existing = list(matcher.contacts.get(stored.pk, [])) if stored is not None else []
    for n in range(1, CONTACTS_PER_ROW + 1):
        prefix = f"contact_{n}_"
        values = {name: texts[prefix + name] for name in CONTACT_FIELDS}
        if not any(values.values()):
            continue
        contact = _contact_for(values, existing)
        contact_before = cells.values_of(contact, ("name", "relationship", "relationship_other",
                                           "email", "phone")) if contact.pk else None  # fmt: skip
        contact.agency = agency
        contact.name = values["name"]
        contact.email = values["email"]
        contact.phone = values["phone"]
        contact.relationship, contact.relationship_other = _relationship(values["relationship"])
        errors += cells.model_errors(contact, line, prefix, exclude=["client", "agency", "user"])
        changed = changed or contact_before != cells.values_of(
            contact, ("name", "relationship", "relationship_other", "email", "phone")
        )
        planned.contacts.append(contact)
    errors += cells.model_errors(client, line, "", exclude=["agency", "user"])
    for column in ("email", *(f"contact_{n}_email" for n in range(1, CONTACTS_PER_ROW + 1))):
        if texts[column] and texts[column].lower() in matcher.foreign_emails:
            errors.append(
                RowError(
                    line,
                    column,
                    _("%(email)s belongs to a person of another agency: it cannot be used here.")
                    % {"email": texts[column]},
                )
            )
    planned.errors = cells.unique(errors)
    planned.has_changes = changed
    return planned


def _repeated(line: int, texts: dict[str, str], seen: Seen) -> list[RowError]:
    """Return an error for an external_id an earlier row has, or its email without one.

    Two clients may share an email (a couple's), so rows with external ids may too.
    """
    external_id, email = texts["external_id"], texts["email"].lower()
    keys = [(external_id, seen.external_ids, "external_id")]
    if not external_id:
        keys.append((email, seen.emails, "email"))
    errors = []
    for key, earlier, column in keys:
        if key and key in earlier:
            message = _("%(value)s is already on line %(line)d.")
            errors.append(RowError(line, column, message % {"value": key, "line": earlier[key]}))
        elif key:
            earlier[key] = line
    return errors


def _contact_for(values: dict[str, str], existing: list[EmergencyContact]) -> EmergencyContact:
    """Return the client's stored contact this row's cells stand for, or a new one.

    The contact of the row's email; else, of the row's name, one without an email (which
    the row may be giving it) or, for a row without an email, any.
    """
    email = values["email"].lower()
    name = values["name"].strip().lower()
    found = next((c for c in existing if email and c.email.lower() == email), None)
    if found is None and name:
        found = next(
            (c for c in existing if c.name.strip().lower() == name and not (email and c.email)),
            None,
        )
    if found is None:
        return EmergencyContact()
    existing.remove(found)
    return cells.copy_of(found)


def _status(value: str, current: str) -> tuple[str, str]:
    if not value:
        return current or ClientStatus.ACTIVE, ""
    wanted = value.strip().lower()
    for choice, label in ClientStatus.choices:
        if wanted in (choice, str(label).lower()):
            return choice, ""
    return current or ClientStatus.ACTIVE, _("%(value)s is not a status (one of: %(choices)s).") % {
        "value": value,
        "choices": ", ".join(ClientStatus.values),
    }


def _relationship(value: str) -> tuple[str, str]:
    """Return the relationship's choice and, for any other words, "other" with the words."""
    wanted = value.strip().lower()
    if not wanted:
        return "", ""
    for choice, label in Relationship.choices:
        if wanted in (choice, str(label).lower()):
            return choice, ""
    return Relationship.OTHER, value.strip()


# Saving ----------------------------------------------------------------------------------


def save_rows(
    planned: Sequence[PlannedRow],
    agency: Agency,
    actor: User | None,
    progress: Callable[[int], None],
) -> Counts:
    """Save the planned rows in the caller's transaction; return what was saved.

    New clients with their contacts are written a batch at a time (`_create_batch`); a
    client that changes goes through `save_party`, as in the back office. `progress` is
    told how many rows of the file are done after each step (the skipped ones first).
    """
    new = [row for row in planned if row.action == "create"]
    changed = [row for row in planned if row.action == "update"]
    skipped = len(planned) - len(new) - len(changed)
    done = skipped
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        _create_batch(batch, agency=agency, actor=actor)
        done += len(batch)
        progress(done)
    for row in changed:
        _save_row(row, agency=agency, actor=actor)
        done += 1
        progress(done)
    return Counts(created=len(new), updated=len(changed), skipped=skipped)


def _create_batch(rows: list[PlannedRow], *, agency: Agency, actor: User | None) -> None:
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
    parties: list[Party] = [*new_clients, *contacts]
    invite_parties(agency=agency, parties=parties, actor=actor)
    user_ids = set(
        EmergencyContact.objects.filter(pk__in=[c.pk for c in contacts])
        .exclude(user=None)
        .values_list("user_id", flat=True)
    )
    inactive = get_user_model()._default_manager.filter(pk__in=user_ids, is_active=False)
    review_portal_logins(user_ids=inactive.values_list("pk", flat=True), actor=actor)
    record_many(
        [
            audit_event(Action.PARTY_CREATED, actor=actor, obj=party, agency=agency)
            for party in parties
        ]
    )


def _save_row(row: PlannedRow, *, agency: Agency, actor: User | None) -> None:
    prefix = ""
    try:
        save_party(party=row.client, agency=agency, actor=actor)
        for n, contact in enumerate(row.contacts, start=1):
            prefix = f"contact_{n}_"
            contact.client = row.client
            save_party(party=contact, agency=agency, actor=actor)
    except ValidationError as exc:
        raise cells.refused(exc, row.line, prefix) from exc


# Export ----------------------------------------------------------------------------------


def export_rows(agency: Agency) -> Iterator[list[str]]:
    """Yield the header and one row per client of the agency, a few hundred at a time."""
    yield list(COLUMNS)
    clients = (
        Client.objects.filter(agency=agency).order_by("pk").prefetch_related("emergency_contacts")
    )
    for client in clients.iterator(chunk_size=CHUNK):
        row = [
            client.date_of_birth.isoformat()
            if name == "date_of_birth" and client.date_of_birth
            else getattr(client, name) or ""
            for name in CLIENT_FIELDS
        ]
        contacts = sorted(client.emergency_contacts.all(), key=lambda c: c.pk)
        for n in range(CONTACTS_PER_ROW):
            contact = contacts[n] if n < len(contacts) else None
            if contact is None:
                row += [""] * len(CONTACT_FIELDS)
                continue
            relationship = (
                contact.relationship_other
                if contact.relationship == Relationship.OTHER
                else contact.relationship
            )
            row += [contact.name, relationship, contact.email, contact.phone]
        yield [cells.neutralise(cell) for cell in row]
