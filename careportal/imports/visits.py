"""The CSV file of visits: its columns, reading and checking it, saving it, and its export.

One row per visit. The columns:

- `external_id`: the visit's id in the agency's own system. A row with one updates the
  agency's visit of that id, or creates it. A row without one stands for the client's visit
  that starts at the same time and has no external id (so a file imported twice, or an
  export brought back, changes nothing); to move such a visit to another time, give it an
  external id first. A row whose external id is new to us may also claim that visit, which
  then takes the id. The same external id twice in a file is an error, and so are two
  rows that stand for the same visit.
- `client_external_id`, `client_email`: the client, of this agency. The external id, when
  given, decides; else the email, which must belong to one client only. A client of another
  agency is answered as unknown.
- `caregiver_external_id`, `caregiver_name`: the caregiver (first and last name), found by
  external id, else by name, in this agency. Both empty: the visit is not yet assigned. An
  unknown caregiver is an error: the import never adds caregivers (add them first).
- `date`, `start_time`, `end_time`, `end_date`: local times in the agency's time zone
  (2026-03-18 or 03/18/2026; 09:00, 9:00 AM or 09:00:00). `end_date` is for a visit that
  goes past midnight; empty, the visit ends on its `date`. The visit must end after it
  starts. A time the clocks skip (2:30 on the night they go forward) is an error; a time
  they pass twice (1:30 on the night they go back) is the first one, unless the matched
  visit starts (or ends) at the second.
- `service`: what the visit is for (Personal care, Companionship...).
- `status`: scheduled, in progress, completed, missed or cancelled (the value or its
  words); empty, a new visit is scheduled and a matched one keeps its status. A matched
  visit's status changes only as the calendar allows (`change_visit_status`): scheduled to
  any other, in progress to completed or missed; the others are final.

Planning loads the matched clients, caregivers and visits a few queries per 500 rows (as
`clients.Matcher` does); saving goes through `scheduling.services`, row by row, so every
visit gets its audit events as in the back office. The export writes the same columns,
with formula injection neutralised, and comes back in unchanged.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower
from django.utils.translation import gettext as _

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.imports import cells
from careportal.imports.cells import RowError, RowRefused
from careportal.people.models import Client
from careportal.scheduling.models import (
    Caregiver,
    Visit,
    VisitStatus,
    visit_status_move_problem,
)
from careportal.scheduling.services import change_visit_status, save_visit

COLUMNS: tuple[str, ...] = (
    "external_id",
    "client_external_id",
    "client_email",
    "caregiver_external_id",
    "caregiver_name",
    "date",
    "start_time",
    "end_time",
    "end_date",
    "service",
    "status",
)
EXAMPLE_ROWS: list[dict[str, str]] = [
    {
        "external_id": "V-5001",
        "client_external_id": "C-1001",
        "client_email": "margaret@example.com",
        "caregiver_external_id": "CG-20",
        "caregiver_name": "Carla Giver",
        "date": "2026-03-18",
        "start_time": "09:00",
        "end_time": "11:00",
        "service": "Personal care",
        "status": "scheduled",
    },
    {
        "external_id": "V-5002",
        "client_external_id": "C-1001",
        "client_email": "margaret@example.com",
        "caregiver_name": "Carla Giver",
        "date": "2026-03-16",
        "start_time": "22:00",
        "end_time": "06:00",
        "end_date": "2026-03-17",
        "service": "Overnight care",
        "status": "completed",
    },
]
# The visit's fields a row sets, besides its status.
VISIT_FIELDS = ("external_id", "client_id", "caregiver_id", "service", "start", "end")
# The column a service's error on a visit's field is shown in.
FIELD_COLUMNS = {
    "client": "client_external_id",
    "caregiver": "caregiver_external_id",
    "start": "start_time",
    "end": "end_time",
}
TIME_PATTERNS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I:%M:%S %p")
PROGRESS_EVERY = 100


@dataclass
class PlannedVisit:
    """A row of the file made into its visit, not saved: what the import would write.

    `previous_status` is the matched visit's status as stored ("" for a new visit): the
    visit's own `status` is the one the row asks for.
    """

    line: int
    visit: Visit
    errors: list[RowError] = field(default_factory=list)
    previous_status: str = ""
    has_changes: bool = True

    @property
    def action(self) -> str:
        if not self.previous_status:
            return "create"
        moved = self.visit.status != self.previous_status
        return "update" if self.has_changes or moved else "skip"


@dataclass
class _Cells:
    """A row's cells read: the client, caregiver and times they name, and their errors."""

    line: int
    texts: dict[str, str]
    errors: list[RowError]
    client: Client | None = None
    caregiver: Caregiver | None = None
    # Each time with its other reading on the night the clocks go back (else None).
    start: datetime.datetime | None = None
    start_other: datetime.datetime | None = None
    end: datetime.datetime | None = None
    end_other: datetime.datetime | None = None


@dataclass
class _Seen:
    """What the file's earlier rows named, each with its line: a later row may not again."""

    external_ids: dict[str, int] = field(default_factory=dict)
    # The client and start of rows without an external id.
    starts: dict[tuple[int, datetime.datetime], int] = field(default_factory=dict)
    # The stored visits matched, by pk.
    visits: dict[int, int] = field(default_factory=dict)


# Checking and planning -------------------------------------------------------------------


class Matcher:
    """The agency's clients, caregivers and visits that rows of a file name, loaded in bulk."""

    def __init__(self, agency: Agency, rows: list[dict[str, Any]]) -> None:
        self.agency = agency
        self.clients_by_id = _by_external_id(Client.objects.filter(agency=agency), rows, "client_")
        self.clients_by_email: dict[str, list[Client]] = {}
        emails = {cells.cell(row, "client_email").lower() for row in rows} - {""}
        for chunk in cells.chunks(sorted(emails)):
            found = Client.objects.filter(agency=agency).annotate(lower_email=Lower("email"))
            for client in found.filter(lower_email__in=chunk).order_by("pk"):
                self.clients_by_email.setdefault(client.email.lower(), []).append(client)
        caregivers = Caregiver.objects.filter(agency=agency)
        self.caregivers_by_id = _by_external_id(caregivers, rows, "caregiver_")
        self.caregivers_by_name: dict[str, list[Caregiver]] = {}
        names = {_name_key(cells.cell(row, "caregiver_name")) for row in rows} - {""}
        full_name = Lower(Concat("first_name", Value(" "), "last_name"))
        for chunk in cells.chunks(sorted(names)):
            for caregiver in (
                caregivers.annotate(full_name=full_name).filter(full_name__in=chunk).order_by("pk")
            ):
                key = _name_key(str(caregiver))
                self.caregivers_by_name.setdefault(key, []).append(caregiver)
        self.visits_by_id = _by_external_id(Visit.objects.filter(agency=agency), rows, "")
        self.visits_by_start: dict[tuple[int, datetime.datetime], list[Visit]] = {}

    def load_visits_by_start(self, read: list[_Cells]) -> None:
        """Load the visits without an external id that rows name by client and start."""
        pairs = sorted(
            {
                (row.client.pk, start)
                for row in read
                if row.client is not None and row.texts["external_id"] not in self.visits_by_id
                for start in (row.start, row.start_other)
                if start is not None
            }
        )
        for chunk in cells.chunks(pairs):
            wanted = set(chunk)
            for visit in Visit.objects.filter(
                agency=self.agency,
                external_id="",
                client_id__in={pk for pk, _start in chunk},
                start__in={start for _pk, start in chunk},
            ).order_by("pk"):
                if (visit.client_id, visit.start) in wanted:
                    self.visits_by_start.setdefault((visit.client_id, visit.start), []).append(
                        visit
                    )

    def client_for(self, line: int, texts: dict[str, str]) -> tuple[Client | None, RowError | None]:
        external_id, email = texts["client_external_id"], texts["client_email"]
        if external_id:
            found = self.clients_by_id.get(external_id)
            if found is None:
                message = _("No client has the external id %(value)s here.")
                return None, RowError(line, "client_external_id", message % {"value": external_id})
            return found, None
        if not email:
            message = _("Give the client's external id or email.")
            return None, RowError(line, "client_external_id", message)
        clients = self.clients_by_email.get(email.lower(), [])
        if len(clients) == 1:
            return clients[0], None
        if clients:
            message = _("%(value)s belongs to more than one client: give the client_external_id.")
        else:
            message = _("No client has the email %(value)s here.")
        return None, RowError(line, "client_email", message % {"value": email})

    def caregiver_for(
        self, line: int, texts: dict[str, str]
    ) -> tuple[Caregiver | None, RowError | None]:
        external_id, name = texts["caregiver_external_id"], texts["caregiver_name"]
        if external_id:
            found = self.caregivers_by_id.get(external_id)
            if found is None:
                message = _(
                    "No caregiver has the external id %(value)s here. Add them first, or "
                    "leave the caregiver empty."
                )
                return None, RowError(
                    line, "caregiver_external_id", message % {"value": external_id}
                )
            return found, None
        if not name:
            return None, None
        caregivers = self.caregivers_by_name.get(_name_key(name), [])
        if len(caregivers) == 1:
            return caregivers[0], None
        if caregivers:
            message = _(
                "More than one caregiver is called %(value)s: give the caregiver_external_id."
            )
        else:
            message = _(
                "No caregiver is called %(value)s here. Add them first, or leave the "
                "caregiver empty."
            )
        return None, RowError(line, "caregiver_name", message % {"value": name})

    def visit_for(self, read: _Cells) -> tuple[Visit | None, RowError | None]:
        """Return the stored visit the row stands for (by external id, else client and start)."""
        found = self.visits_by_id.get(read.texts["external_id"])
        if found is not None or read.client is None:
            return found, None
        for start in (read.start, read.start_other):
            visits = self.visits_by_start.get((read.client.pk, start), []) if start else []
            if len(visits) > 1:
                message = _(
                    "This client has more than one visit at this time: give the row an external_id."
                )
                return None, RowError(read.line, "external_id", message)
            if visits:
                return visits[0], None
        return None, None


def plan_rows(agency: Agency, rows: list[dict[str, Any]]) -> list[PlannedVisit]:
    """Make each row into its visit (unsaved), with every error found."""
    matcher = Matcher(agency, rows)
    read = [_read(agency, row, matcher) for row in rows]
    matcher.load_visits_by_start(read)
    seen = _Seen()
    planned = [_plan(agency, row, matcher, seen) for row in read]
    return cells.flag_examples(planned, rows, EXAMPLE_ROWS, COLUMNS)


def _read(agency: Agency, row: dict[str, Any], matcher: Matcher) -> _Cells:
    """Return the row's cells, checked, with the client, caregiver and times they name."""
    line = row["line"]
    read = _Cells(line=line, texts={}, errors=[])
    if row.get("_extra_cells"):
        read.errors.append(
            RowError(line, "", _("This row has more cells than the file has columns."))
        )
    for name in COLUMNS:
        value, problem = cells.clean_cell(name, row.get(name, ""))
        read.texts[name] = value
        if problem:
            read.errors.append(RowError(line, name, problem))
    read.client, client_error = matcher.client_for(line, read.texts)
    read.caregiver, caregiver_error = matcher.caregiver_for(line, read.texts)
    read.errors += [e for e in (client_error, caregiver_error) if e is not None]
    _read_times(agency, read)
    return read


def _read_times(agency: Agency, read: _Cells) -> None:
    """Set the row's start and end from its date and time cells, or its errors."""
    texts, line = read.texts, read.line
    day, problem = cells.parse_date(texts["date"])
    if not texts["date"]:
        problem = _("Give the visit's date (for example 2026-03-18).")
    if problem:
        read.errors.append(RowError(line, "date", problem))
    end_day, problem = cells.parse_date(texts["end_date"])
    if problem:
        read.errors.append(RowError(line, "end_date", problem))
    if day is None:
        return
    start = _moment(day, texts["start_time"], agency.tz, line, "start_time", read.errors)
    end = _moment(end_day or day, texts["end_time"], agency.tz, line, "end_time", read.errors)
    if not start or not end:
        return
    (read.start, read.start_other), (read.end, read.end_other) = start, end
    if read.end <= read.start:
        message = _("The visit must end after it starts.")
        if not texts["end_date"]:
            message += " " + _("For a visit that goes past midnight, give its end_date.")
        read.errors.append(RowError(line, "end_time", message))


def _moment(
    day: datetime.date,
    text: str,
    tz: Any,
    line: int,
    column: str,
    errors: list[RowError],
) -> tuple[datetime.datetime, datetime.datetime | None] | None:
    """Return the local time on `day` as an instant in UTC, with its other reading if any.

    On the night the clocks go back a time happens twice: both readings are returned, the
    first one first. A time the clocks skip, or not a time, adds an error and returns None.
    """
    if not text:
        errors.append(RowError(line, column, _("Give the time (for example 09:00).")))
        return None
    wall: datetime.time | None = None
    for pattern in TIME_PATTERNS:
        try:
            wall = datetime.datetime.strptime(text.upper(), pattern).time()
            break
        except ValueError:
            continue
    if wall is None:
        message = _("%(value)s is not a time (write it as 09:00 or 9:00 AM).")
        errors.append(RowError(line, column, message % {"value": text}))
        return None
    first = datetime.datetime.combine(day, wall, tzinfo=tz)
    second = first.replace(fold=1)
    try:
        skipped = first.astimezone(datetime.UTC).astimezone(tz).replace(tzinfo=None) != (
            first.replace(tzinfo=None)
        )
        other = second.astimezone(datetime.UTC) if second.utcoffset() != first.utcoffset() else None
        instant = first.astimezone(datetime.UTC)
    except OverflowError:
        # A day at the very ends of the calendar: in UTC the time falls outside it.
        message = _(
            "%(value)s is too far off: give a date between the years %(first)d and %(last)d."
        )
        values = {"value": day.isoformat(), "first": cells.FIRST_YEAR, "last": cells.LAST_YEAR}
        errors.append(RowError(line, column, message % values))
        return None
    if skipped:
        message = _("%(time)s does not happen on %(date)s: the clocks go forward that night.")
        errors.append(RowError(line, column, message % {"time": text, "date": day.isoformat()}))
        return None
    return instant, other


def _plan(agency: Agency, read: _Cells, matcher: Matcher, seen: _Seen) -> PlannedVisit:
    """Make the row's visit: the stored one changed as the row says, or a new one."""
    line, texts, errors = read.line, read.texts, read.errors
    stored, match_error = matcher.visit_for(read)
    if match_error is not None:
        errors.append(match_error)
    repeats = _repeated(read, seen)
    errors += repeats
    if stored is not None and not repeats:
        # A row with an external id new to us may take the visit a row without one names.
        column = "external_id" if stored.external_id else "start_time"
        message = _("Line %(line)d already stands for this visit.")
        errors += cells.claim(seen.visits, stored.pk, line, column, message)
    visit = Visit(agency=agency) if stored is None else cells.copy_of(stored)
    visit.external_id = texts["external_id"]
    if read.client is not None:
        visit.client = read.client
    visit.caregiver = read.caregiver
    visit.service = texts["service"]
    if read.start is not None and read.end is not None:
        # The matched visit's own reading of a time the clocks pass twice.
        visit.start = (
            read.start_other if stored and stored.start == read.start_other else read.start
        )
        visit.end = read.end_other if stored and stored.end == read.end_other else read.end
    previous = stored.status if stored is not None else ""
    visit.status, problem = _status(texts["status"], previous)
    if problem:
        errors.append(RowError(line, "status", problem))
    errors += _field_errors(visit, line)
    planned = PlannedVisit(line=line, visit=visit, previous_status=previous)
    if stored is not None:
        planned.has_changes = cells.values_of(stored, VISIT_FIELDS) != cells.values_of(
            visit, VISIT_FIELDS
        )
    planned.errors = cells.unique(errors)
    return planned


def _repeated(read: _Cells, seen: _Seen) -> list[RowError]:
    """Return an error if an earlier row has the row's external id, or its client and start."""
    external_id = read.texts["external_id"]
    if external_id and external_id in seen.external_ids:
        message = _("%(value)s is already on line %(line)d.")
        values = {"value": external_id, "line": seen.external_ids[external_id]}
        return [RowError(read.line, "external_id", message % values)]
    if external_id:
        seen.external_ids[external_id] = read.line
    elif read.client is not None and read.start is not None:
        key = (read.client.pk, read.start)
        if key in seen.starts:
            message = _("This client's visit at this time is already on line %(line)d.")
            return [RowError(read.line, "start_time", message % {"line": seen.starts[key]})]
        seen.starts[key] = read.line
    return []


def _field_errors(visit: Visit, line: int) -> list[RowError]:
    """Return the errors of the cells stored as they are (their length, a blank service)."""
    if not visit.service:
        return [RowError(line, "service", _("Give the service (for example Personal care)."))]
    errors = []
    for name in ("external_id", "service"):
        try:
            model_field = cast(models.CharField[str, str], Visit._meta.get_field(name))
            model_field.clean(getattr(visit, name), visit)
        except ValidationError as exc:
            errors += [RowError(line, name, message) for message in exc.messages]
    return errors


def _status(value: str, previous: str) -> tuple[str, str]:
    """Return the status the cell asks for, and why the visit may not move to it, if so."""
    if not value:
        return previous or VisitStatus.SCHEDULED, ""
    wanted = value.lower().replace("_", " ").replace("-", " ")
    for choice, label in VisitStatus.choices:
        if wanted in (choice.replace("_", " "), str(label).lower()):
            problem = visit_status_move_problem(previous, choice) if previous else None
            return choice, str(problem or "")
    message = _("%(value)s is not a status (one of: %(choices)s).")
    choices = ", ".join(str(label).lower() for label in VisitStatus.labels)
    return previous or VisitStatus.SCHEDULED, message % {"value": value, "choices": choices}


def _by_external_id(queryset: Any, rows: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """Return the queryset's records that the rows' `<prefix>external_id` cells name."""
    wanted = {cells.cell(row, prefix + "external_id") for row in rows} - {""}
    found: dict[str, Any] = {}
    for chunk in cells.chunks(sorted(wanted)):
        for record in queryset.filter(external_id__in=chunk):
            found[record.external_id] = record
    return found


def _name_key(name: str) -> str:
    return " ".join(name.split()).lower()


# Saving ----------------------------------------------------------------------------------


def save_rows(
    planned: Sequence[PlannedVisit],
    agency: Agency,
    actor: User | None,
    on_progress: Callable[[int], None],
) -> cells.Counts:
    """Save the planned visits through the calendar's services, in the caller's transaction.

    A row with errors, or one the service refuses now, raises cells.RowRefused: the caller
    rolls back what earlier rows wrote. `on_progress` hears the rows done every 100 rows
    and at the end.
    """
    for row in planned:
        if row.errors:
            raise RowRefused(row.errors[0])
    created = updated = 0
    for done, row in enumerate(planned, start=1):
        action = row.action
        if action != "skip":
            _save_row(row, agency, actor)
        created += action == "create"
        updated += action == "update"
        if done % PROGRESS_EVERY == 0 or done == len(planned):
            on_progress(done)
    return cells.Counts(created=created, updated=updated, skipped=len(planned) - created - updated)


def _save_row(row: PlannedVisit, agency: Agency, actor: User | None) -> None:
    """Save a new visit, or a matched one's fields then its status move, each audited."""
    visit = row.visit
    wanted = visit.status
    try:
        if row.has_changes:
            visit.status = row.previous_status or wanted
            save_visit(visit=visit, actor=actor, agency=agency)
        if row.previous_status and wanted != row.previous_status:
            change_visit_status(visit=visit, status=wanted, actor=actor, agency=agency)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        column = "" if name == "__all__" else FIELD_COLUMNS.get(name, name)
        raise RowRefused(RowError(row.line, column, messages[0])) from exc
    except ObjectDoesNotExist as exc:
        message = _("This visit was removed meanwhile. Upload the file again.")
        raise RowRefused(RowError(row.line, "external_id", message)) from exc
    finally:
        visit.status = wanted


# Export ----------------------------------------------------------------------------------


def export_rows(agency: Agency) -> Iterator[list[str]]:
    """Yield the header and one row per visit of the agency, a few hundred at a time."""
    yield list(COLUMNS)
    tz = agency.tz
    visits = (
        Visit.objects.filter(agency=agency)
        .select_related("client", "caregiver")
        .order_by("start", "pk")
    )
    for visit in visits.iterator(chunk_size=cells.CHUNK):
        start, end = visit.start.astimezone(tz), visit.end.astimezone(tz)
        caregiver = visit.caregiver
        row = [
            visit.external_id,
            visit.client.external_id,
            visit.client.email,
            caregiver.external_id if caregiver else "",
            str(caregiver) if caregiver else "",
            start.date().isoformat(),
            _clock(start),
            _clock(end),
            end.date().isoformat() if end.date() != start.date() else "",
            visit.service,
            visit.status,
        ]
        yield [cells.neutralise(value) for value in row]


def _clock(moment: datetime.datetime) -> str:
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")
