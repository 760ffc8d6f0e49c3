"""The CSV file of clients with their emergency contacts: its columns, reading and checking it.

One row per client, with up to two emergency contacts in columns `contact_1_...` and
`contact_2_...`. A client is matched by `external_id`, else by email within the agency; a
contact of a matched client by email, else by name. The same columns go out in the export
(`export_rows`), with formula injection neutralised, and come back in unchanged.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from careportal.people.models import (
    Client,
    ClientStatus,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Relationship,
)

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
EXAMPLE_ROW = {
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

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone number in international form is not a formula, though it starts with "+".
INTERNATIONAL_PHONE = re.compile(r"^\+[\d\s().-]+$")
# Bytes that never appear in a text file (all control characters but tab, LF and CR).
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CHUNK = 500
StoredRow = TypeVar("StoredRow", bound=models.Model)


class FileRefused(Exception):
    """The file as a whole cannot be read as our CSV; the message says why, in plain words."""


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class PlannedRow:
    """A row of the file made into records, not saved: what the import would write."""

    line: int
    client: Client
    contacts: list[EmergencyContact] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    is_new: bool = True
    has_changes: bool = True

    @property
    def action(self) -> str:
        if self.is_new:
            return "create"
        return "update" if self.has_changes else "skip"


def too_large() -> str:
    return _(
        "This file is too large. A file can be up to %(mb)d MB: split it into smaller files."
    ) % {"mb": MAX_BYTES // (1024 * 1024)}


# Reading ---------------------------------------------------------------------------------


def read_rows(data: bytes) -> list[dict[str, Any]]:
    """Return the file's rows as dicts of the columns, each with its "line"; or FileRefused.

    UTF-8 with or without a byte order mark, or Windows-1252 (Excel's "CSV (Comma
    delimited)"); comma or semicolon, whichever the header line uses.
    """
    if len(data) > MAX_BYTES:
        raise FileRefused(too_large())
    if not data.strip():
        raise FileRefused(_("This file is empty."))
    if CONTROL_BYTES.search(data):
        raise FileRefused(
            _(
                "This file is not a CSV text file. In your spreadsheet, choose File, Save as, "
                "and the type CSV."
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileRefused(
                _("This file's characters cannot be read. Save it as CSV UTF-8.")
            ) from None
    header_line = text.lstrip("\ufeff").splitlines()[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
        _check_columns(header)
        rows: list[dict[str, Any]] = []
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(rows) >= MAX_ROWS:
                    raise FileRefused(
                        _("This file has more than %(max)d rows: split it into smaller files.")
                        % {"max": MAX_ROWS}
                    )
                row: dict[str, Any] = {"line": line}
                for index, name in enumerate(header):
                    row[name] = cells[index] if index < len(cells) else ""
                if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                    row["_extra_cells"] = True
                rows.append(row)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise FileRefused(
            _("Line %(line)d cannot be read: %(reason)s") % {"line": reader.line_num, "reason": exc}
        ) from None
    if not rows:
        raise FileRefused(_("This file has the column names but no clients."))
    return rows


def _check_columns(header: list[str]) -> None:
    missing = [name for name in COLUMNS if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    repeated = sorted({name for name in header if header.count(name) > 1})
    problems = []
    if missing:
        problems.append(_("These columns are missing: %(names)s.") % {"names": ", ".join(missing)})
    if unknown:
        problems.append(_("These columns are not ours: %(names)s.") % {"names": ", ".join(unknown)})
    if repeated:
        problems.append(
            _("These columns appear twice: %(names)s.") % {"names": ", ".join(repeated)}
        )
    if problems:
        problems.append(_("Please start from the template, which has the right columns."))
        raise FileRefused(" ".join(problems))


# Checking and planning -------------------------------------------------------------------


class Matcher:
    """The agency's clients and contacts that rows of a file may match, loaded in bulk."""

    def __init__(self, agency: Any, rows: list[dict[str, Any]]) -> None:
        self.agency = agency
        external_ids = {_cell(row, "external_id") for row in rows} - {""}
        emails = {_cell(row, "email").lower() for row in rows} - {""}
        self.by_external_id: dict[str, Client] = {}
        self.by_email: dict[str, list[Client]] = {}
        clients = Client.objects.filter(agency=agency)
        for chunk in _chunks(sorted(external_ids)):
            for client in clients.filter(external_id__in=chunk):
                self.by_external_id[client.external_id] = client
        for chunk in _chunks(sorted(emails)):
            for client in clients.annotate(lower_email=Lower("email")).filter(
                lower_email__in=chunk
            ):
                self.by_email.setdefault(client.email.lower(), []).append(client)
        matched = {c.pk for c in self.by_external_id.values()} | {
            c.pk for found in self.by_email.values() for c in found
        }
        self.contacts: dict[int, list[EmergencyContact]] = {}
        for chunk in _chunks(sorted(matched)):
            for contact in EmergencyContact.objects.filter(client_id__in=chunk).order_by("pk"):
                self.contacts.setdefault(contact.client_id, []).append(contact)
        all_emails = emails | {
            _cell(row, f"contact_{n}_email").lower()
            for row in rows
            for n in range(1, CONTACTS_PER_ROW + 1)
        } - {""}
        self.foreign_emails = foreign_emails(agency, all_emails)

    def client_for(self, row: dict[str, Any]) -> tuple[Client | None, RowError | None]:
        external_id = _cell(row, "external_id")
        if external_id and external_id in self.by_external_id:
            return self.by_external_id[external_id], None
        email = _cell(row, "email").lower()
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


def plan_rows(agency: Any, rows: list[dict[str, Any]]) -> list[PlannedRow]:
    """Make each row into its client and contacts (unsaved), with every error found."""
    matcher = Matcher(agency, rows)
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    return [plan_row(agency, row, matcher, seen_ids, seen_emails) for row in rows]


def plan_row(
    agency: Any,
    row: dict[str, Any],
    matcher: Matcher,
    seen_ids: dict[str, int],
    seen_emails: dict[str, int],
) -> PlannedRow:
    line = row["line"]
    errors: list[RowError] = []
    if row.get("_extra_cells"):
        errors.append(RowError(line, "", _("This row has more cells than the file has columns.")))
    cells: dict[str, str] = {}
    for name in COLUMNS:
        value, problem = _clean_cell(name, row.get(name, ""))
        cells[name] = value
        if problem:
            errors.append(RowError(line, name, problem))
    for key, seen, column in (
        (cells["external_id"], seen_ids, "external_id"),
        (cells["email"].lower(), seen_emails, "email"),
    ):
        if key and key in seen:
            errors.append(
                RowError(
                    line,
                    column,
                    _("%(value)s is already on line %(line)d.") % {"value": key, "line": seen[key]},
                )
            )
        elif key:
            seen[key] = line
    stored, match_error = matcher.client_for(row)
    if match_error is not None:
        errors.append(match_error)
    client = Client(agency=agency) if stored is None else _copy(stored)
    before = _values(client, CLIENT_FIELDS) if stored is not None else None
    for name in CLIENT_FIELDS:
        value = cells[name]
        if name == "date_of_birth":
            parsed, problem = _date(value)
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
    changed = before != _values(client, CLIENT_FIELDS)
    existing = list(matcher.contacts.get(stored.pk, [])) if stored is not None else []
    for n in range(1, CONTACTS_PER_ROW + 1):
        prefix = f"contact_{n}_"
        values = {name: cells[prefix + name] for name in CONTACT_FIELDS}
        if not any(values.values()):
            continue
        contact = _contact_for(values, existing)
        contact_before = _values(contact, ("name", "relationship", "relationship_other",
                                           "email", "phone")) if contact.pk else None  # fmt: skip
        contact.agency = agency
        contact.name = values["name"]
        contact.email = values["email"]
        contact.phone = values["phone"]
        contact.relationship, contact.relationship_other = _relationship(values["relationship"])
        errors += _model_errors(contact, line, prefix, exclude=["client", "agency", "user"])
        changed = changed or contact_before != _values(
            contact, ("name", "relationship", "relationship_other", "email", "phone")
        )
        planned.contacts.append(contact)
    errors += _model_errors(client, line, "", exclude=["agency", "user"])
    for column in ("email", *(f"contact_{n}_email" for n in range(1, CONTACTS_PER_ROW + 1))):
        if cells[column] and cells[column].lower() in matcher.foreign_emails:
            errors.append(
                RowError(
                    line,
                    column,
                    _("%(email)s belongs to a person of another agency: it cannot be used here.")
                    % {"email": cells[column]},
                )
            )
    planned.errors = _unique(errors)
    planned.has_changes = changed
    return planned


def _contact_for(values: dict[str, str], existing: list[EmergencyContact]) -> EmergencyContact:
    """Return the client's stored contact this row's cells stand for, or a new one."""
    email = values["email"].lower()
    name = values["name"].strip().lower()
    for contact in existing:
        if (email and contact.email.lower() == email) or (
            not email and name and contact.name.strip().lower() == name
        ):
            existing.remove(contact)
            return _copy(contact)
    return EmergencyContact()


def _model_errors(obj: Any, line: int, prefix: str, *, exclude: list[str]) -> list[RowError]:
    try:
        # The constraints are the database's (and save_party's full_clean) at import time.
        obj.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        return [
            RowError(line, prefix + name if name != "__all__" else "", str(message))
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return []


def _clean_cell(column: str, value: Any) -> tuple[str, str]:
    """Return the cell's text, stripped, and a message if it is refused (a formula)."""
    text = str(value if value is not None else "")
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS and text[1:2]:
        # Our export's neutralised cell: its apostrophe is not part of the value.
        return text[1:].strip(), ""
    if text[:1] in FORMULA_STARTS and text[:1]:
        if column.endswith("phone") and INTERNATIONAL_PHONE.match(text.strip()):
            return text.strip(), ""
        return text.strip(), _(
            "%(value)s starts with %(char)s, which a spreadsheet runs as a formula. "
            "Remove it, or put an apostrophe (') before it."
        ) % {"value": text.strip()[:40], "char": repr(text[0])}
    return text.strip(), ""


def _date(value: str) -> tuple[datetime.date | None, str]:
    if not value:
        return None, ""
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.datetime.strptime(value, pattern).date(), ""
        except ValueError:
            continue
    return None, _("%(value)s is not a date (write it as 1942-03-18).") % {"value": value}


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


def foreign_emails(agency: Any, emails: Iterable[str]) -> set[str]:
    """Return those of the (lower-case) emails that a person of another agency has."""
    found: set[str] = set()
    user_model = get_user_model()
    for chunk in _chunks(sorted(emails)):
        for model in (
            user_model,
            Client,
            EmergencyContact,
            Payer,
            PayerPerson,
            Community,
            CommunityPerson,
        ):
            found.update(
                model._default_manager.annotate(lower_email=Lower("email"))
                .filter(lower_email__in=chunk, agency__isnull=False)
                .exclude(agency=agency)
                .values_list("lower_email", flat=True)
            )
    return found


def _values(obj: Any, names: Iterable[str]) -> tuple[Any, ...]:
    return tuple(getattr(obj, name) for name in names)


def _copy(obj: StoredRow) -> StoredRow:
    """Return a fresh instance of a stored row (the matcher's own stays as it was)."""
    copy = type(obj)(**{f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields})
    copy._state.adding = False
    copy._state.db = obj._state.db
    return copy


def _cell(row: dict[str, Any], name: str) -> str:
    value = str(row.get(name) or "").strip()
    return value[1:] if value[:1] == "'" and value[1:2] in FORMULA_STARTS else value


def _unique(errors: list[RowError]) -> list[RowError]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for error in errors:
        if (error.column, error.message) not in seen:
            seen.add((error.column, error.message))
            kept.append(error)
    return kept


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# Export ----------------------------------------------------------------------------------


def neutralise(value: Any) -> str:
    """Return the cell's text with a leading apostrophe if a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS and text else text


def export_rows(agency: Any) -> Iterator[list[str]]:
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
        yield [neutralise(cell) for cell in row]


def template_rows() -> list[list[str]]:
    """Return the template's header and its example row."""
    return [list(COLUMNS), [EXAMPLE_ROW.get(name, "") for name in COLUMNS]]
