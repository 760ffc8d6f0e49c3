"""What every CSV file of an import shares: reading the file, checking cells, naming errors.

Each kind of file (clients.py and the others, listed in kinds.py) has its columns and its
planning; the file's encoding, delimiter and size limits, formula injection, dates, the
errors "line, column, message", a row refused at save time (RowRefused), what an import
saved (Counts) and the export's neutralised cells are the same for all and live here.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from careportal.agencies.models import Agency
from careportal.people.models import (
    Client,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
)

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone number in international form is not a formula, though it starts with "+".
INTERNATIONAL_PHONE = re.compile(r"^\+[\d\s().-]+$")
# Bytes that never appear in a text file (all control characters but tab, LF and CR).
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CHUNK = 500
# The years a date of a file may have.
FIRST_YEAR = 1900
LAST_YEAR = 2100
StoredRow = TypeVar("StoredRow", bound=models.Model)


class HasErrors(Protocol):
    """A planned row: its errors can be replaced."""

    errors: list[RowError]


PlannedRow = TypeVar("PlannedRow", bound=HasErrors)


class FileRefused(Exception):
    """The file as a whole cannot be read as our CSV; the message says why, in plain words."""


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


class RowRefused(Exception):
    """A row cannot be saved at import time; nothing of the file is saved."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


class PlannedAction:
    """What a planned row of a file would do: "create" a new record, "update" a stored one
    it changes, or "skip" one it leaves as it is (the preview's counts, the import's work)."""

    is_new: bool
    has_changes: bool

    @property
    def action(self) -> str:
        if self.is_new:
            return "create"
        return "update" if self.has_changes else "skip"


@dataclass(frozen=True)
class Counts:
    """What an import saved: records created, records updated, rows without changes."""

    created: int = 0
    updated: int = 0
    skipped: int = 0


def too_large() -> str:
    return _(
        "This file is too large. A file can be up to %(mb)d MB: split it into smaller files."
    ) % {"mb": MAX_BYTES // (1024 * 1024)}


# Reading ---------------------------------------------------------------------------------


def read_rows(data: bytes, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Return the file's rows as dicts of the columns, each with its "line"; or FileRefused.

    UTF-8 with or without a byte order mark, or Windows-1252 (Excel's "CSV (Comma
    delimited)"); comma or semicolon, whichever the header line uses. The header must
    name exactly `columns`, in any order.
    """
    if len(data) > MAX_BYTES:
        raise FileRefused(too_large())
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
    text = text.lstrip("\ufeff")
    # Checked once decoded: Excel saves an empty sheet as a byte order mark alone.
    if not text.strip():
        raise FileRefused(_("This file is empty."))
    header_line = text.splitlines()[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    # Strict: a quotation mark never closed is an error, not the rest of the file in a cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[dict[str, Any]] = []
    # The line the row being read starts on (a quoted cell may go on over several lines).
    line = 1
    try:
        header = [name.strip().lower() for name in next(reader)]
        check_columns(header, columns)
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
    except csv.Error:
        # Strict, the reader stumbles on a quotation mark that starts a cell and is not
        # closed where the cell ends: `line` is the row that cell is in.
        raise FileRefused(
            _(
                'Line %(line)d cannot be read: a cell there starts with a quotation mark (") '
                "that is not closed at the end of the cell. Remove that quotation mark, or put "
                "another one at the end of the cell."
            )
            % {"line": line}
        ) from None
    if not rows:
        raise FileRefused(_("This file has the column names but no rows."))
    return rows


def check_columns(header: list[str], columns: Sequence[str]) -> None:
    missing = [name for name in columns if name not in header]
    unknown = [name for name in header if name not in columns]
    repeated = sorted({name for name in header if header.count(name) > 1})
    problems = []
    if missing:
        problems.append(_("These columns are missing: %(names)s.") % {"names": ", ".join(missing)})
    if unknown:
        problems.append(
            _("These columns are not in the template: %(names)s.") % {"names": ", ".join(unknown)}
        )
    if repeated:
        problems.append(
            _("These columns appear twice: %(names)s.") % {"names": ", ".join(repeated)}
        )
    if problems:
        problems.append(_("Please start from the template, which has the right columns."))
        raise FileRefused(" ".join(problems))


def flag_examples(
    planned: list[PlannedRow],
    rows: list[dict[str, Any]],
    example_rows: list[dict[str, str]],
    columns: Sequence[str],
) -> list[PlannedRow]:
    """Make each row that is one of the template's example rows an error of its own.

    A template uploaded as it is would add "Margaret Example" and invite example.com
    addresses. The example's other errors (a client it names is not found) would only
    confuse, so the row has this error alone. `planned` is in the order of `rows`.
    """
    examples = [tuple(example.get(name, "") for name in columns) for example in example_rows]
    for row, plan in zip(rows, planned, strict=True):
        if tuple(str(row.get(name, "")).strip() for name in columns) in examples:
            message = _(
                "This row is the template's example: delete it (or change it to a real record)."
            )
            plan.errors = [RowError(row["line"], "", message)]
    return planned


# Checking cells --------------------------------------------------------------------------


def model_errors(
    obj: models.Model, line: int, prefix: str, *, exclude: list[str]
) -> list[RowError]:
    """Return the record's field errors as the row's, each column named `prefix + field`."""
    try:
        # The constraints are the database's (and the services' full_clean) at import time.
        obj.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        return [
            RowError(line, prefix + name if name != "__all__" else "", str(message))
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return []


def refused(exc: ValidationError, line: int, prefix: str = "") -> RowRefused:
    """Return a save's first error as the row's, its column `prefix + field`."""
    if hasattr(exc, "error_dict"):
        name, messages = next(iter(exc.message_dict.items()))
    else:
        name, messages = "__all__", exc.messages
    column = prefix + name if name != "__all__" else prefix.rstrip("_")
    return RowRefused(RowError(line, column, messages[0]))


def choice_of(value: str, choices: type[models.TextChoices]) -> str | None:
    """Return the choice a cell names (its value or its label, in any case), or None."""
    wanted = value.strip().lower()
    for choice, label in choices.choices:
        if wanted in (choice, str(label).lower()):
            return str(choice)
    return None


def clean_cell(column: str, value: Any) -> tuple[str, str]:
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


def parse_date(value: str) -> tuple[datetime.date | None, str]:
    """Return the cell's date (2026-03-18 or 03/18/2026), or a message naming the cell.

    Only the years FIRST_YEAR to LAST_YEAR: a date far off is a typing slip, and one near
    the ends of the calendar cannot be moved between time zones.
    """
    if not value:
        return None, ""
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            day = datetime.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            return None, _(
                "%(value)s is too far off: give a date between the years %(first)d and %(last)d."
            ) % {"value": value, "first": FIRST_YEAR, "last": LAST_YEAR}
        return day, ""
    return None, _("%(value)s is not a date (write it as 1942-03-18).") % {"value": value}


def foreign_emails(agency: Agency, emails: Iterable[str]) -> set[str]:
    """Return those of the (lower-case) emails that a person of another agency has."""
    found: set[str] = set()
    user_model = get_user_model()
    for chunk in chunks(sorted(emails)):
        for model in (
            user_model,
            Client,
            EmergencyContact,
            Payer,
            PayerPerson,
            Community,
            CommunityPerson,
        ):
            # Any of the people's tables: each has an email and an agency.
            manager: models.Manager[Any] = model._default_manager
            found.update(
                manager.annotate(lower_email=Lower("email"))
                .filter(lower_email__in=chunk, agency__isnull=False)
                .exclude(agency=agency)
                .values_list("lower_email", flat=True)
            )
    return found


def claim(claims: dict[Any, int], key: Any, line: int, column: str, message: str) -> list[RowError]:
    """Note that this line stands for the stored record `key`; an error if one did already.

    Two rows of a file that match the same record would both change it, the last one
    winning unseen. `message` names the earlier line as %(line)d.
    """
    if key in claims:
        return [RowError(line, column, message % {"line": claims[key]})]
    claims[key] = line
    return []


def values_of(obj: Any, names: Iterable[str]) -> tuple[Any, ...]:
    return tuple(getattr(obj, name) for name in names)


def copy_of(obj: StoredRow) -> StoredRow:
    """Return a fresh instance of a stored row (a matcher's own stays as it was).

    The copy keeps the related records the stored row has loaded (its client, its login),
    so checking it (check_same_agency) asks the database nothing more for each row.
    """
    copy = type(obj)(**{f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields})
    copy._state.adding = False
    copy._state.db = obj._state.db
    copy._state.fields_cache = dict(obj._state.fields_cache)
    return copy


def cell(row: dict[str, Any], name: str) -> str:
    """Return a row's cell as matching reads it: stripped, an export's apostrophe removed."""
    value = str(row.get(name) or "").strip()
    return value[1:] if value[:1] == "'" and value[1:2] in FORMULA_STARTS else value


def unique(errors: list[RowError]) -> list[RowError]:
    """Return the errors with repeats (the same column and message) left out."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for error in errors:
        if (error.column, error.message) not in seen:
            seen.add((error.column, error.message))
            kept.append(error)
    return kept


def chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# Export ----------------------------------------------------------------------------------


def neutralise(value: Any) -> str:
    """Return the cell's text with a leading apostrophe if a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS and text else text
