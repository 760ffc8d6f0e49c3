"""The CSV files of payers and of communities, each with up to two of its people.

Both files have the same shape (payers.py and communities.py give theirs): one row per
payer or community, with the columns external_id, name, kind, contact_person, email,
phone, address, then its people in `person_1_name`, `person_1_email`, `person_2_name`,
`person_2_email`. A row is matched to a record of the agency by `external_id`, else by
email, else (a row with neither) by name; a person of a matched record by email. Each
record and person is saved through `save_party`, so each person gets a portal login and
an invitation as in the back office (a payer's or community's own email becomes one of
its people there too, and a person of the file with that email is that same person).
`kind` takes the choice's value or its words ("ltc_insurer" or "Long-term-care insurer");
empty keeps the record's kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.imports import cells
from careportal.imports.cells import Counts, RowError
from careportal.people.models import Community, CommunityPerson, Payer, PayerPerson
from careportal.people.services import save_party

FIELDS = ("external_id", "name", "kind", "contact_person", "email", "phone", "address")
PERSON_FIELDS = ("name", "email")
PEOPLE_PER_ROW = 2
Organisation = Payer | Community
Person = PayerPerson | CommunityPerson
COLUMNS = FIELDS + tuple(
    f"person_{n}_{name}" for n in range(1, PEOPLE_PER_ROW + 1) for name in PERSON_FIELDS
)


@dataclass(frozen=True)
class Shape:
    """What differs between the payers' file and the communities': the tables."""

    model: type[Payer] | type[Community]
    person_model: type[PayerPerson] | type[CommunityPerson]
    # The person's foreign key to the organisation: "payer" or "community".
    link: str
    kinds: type[models.TextChoices]


@dataclass
class PlannedOrganisation(cells.PlannedAction):
    """A row of the file made into its record and people, not saved."""

    line: int
    organisation: Organisation
    # Each person with the number of its columns (1 for person_1_...).
    people: list[tuple[int, Person]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    is_new: bool = True
    has_changes: bool = True


class Matcher:
    """The agency's records of the shape and their people (tens to hundreds: all of them)."""

    def __init__(self, shape: Shape, agency: Agency, rows: list[dict[str, Any]]) -> None:
        stored: list[Organisation] = list(shape.model._default_manager.filter(agency=agency))
        self.by_external_id = {org.external_id: org for org in stored if org.external_id}
        self.by_email: dict[str, list[Organisation]] = {}
        self.by_name: dict[str, list[Organisation]] = {}
        for org in stored:
            if org.email:
                self.by_email.setdefault(org.email.lower(), []).append(org)
            self.by_name.setdefault(org.name.strip().lower(), []).append(org)
        by_pk = {org.pk: org for org in stored}
        self.people: dict[int, list[Person]] = {}
        people = shape.person_model._default_manager.filter(agency=agency).select_related("user")
        for person in people.order_by("pk"):
            org = by_pk[getattr(person, f"{shape.link}_id")]
            # Its record at hand: checking the person asks the database nothing more.
            setattr(person, shape.link, org)
            self.people.setdefault(org.pk, []).append(person)
        emails = {
            cells.cell(row, column).lower()
            for row in rows
            for column in ("email", *(f"person_{n}_email" for n in range(1, PEOPLE_PER_ROW + 1)))
        } - {""}
        self.foreign_emails = cells.foreign_emails(agency, emails)

    def organisation_for(self, row: dict[str, Any]) -> tuple[Organisation | None, RowError | None]:
        external_id = cells.cell(row, "external_id")
        if external_id and external_id in self.by_external_id:
            return self.by_external_id[external_id], None
        email = cells.cell(row, "email").lower()
        if not external_id and not email:
            return self._named(row)
        found = self.by_email.get(email, []) if email else []
        # A record matched by email keeps the external id it has, unless the row gives one.
        found = [org for org in found if not external_id or not org.external_id]
        if len(found) > 1:
            return None, RowError(
                row["line"],
                "email",
                _("Several records have the email %(email)s: give the row an external_id.")
                % {"email": email},
            )
        return (found[0] if found else None), None

    def matched_by(self, row: dict[str, Any]) -> str:
        """Return the column a matched row was matched by: external_id, email or name."""
        if cells.cell(row, "external_id") in self.by_external_id:
            return "external_id"
        return "email" if cells.cell(row, "email") else "name"

    def _named(self, row: dict[str, Any]) -> tuple[Organisation | None, RowError | None]:
        """Return the record of the row's name, for a row with no external_id nor email."""
        name = cells.cell(row, "name")
        found = self.by_name.get(name.lower(), []) if name else []
        if len(found) > 1:
            return None, RowError(
                row["line"],
                "name",
                _("Several records are named %(name)s: give the row an external_id.")
                % {"name": name},
            )
        return (found[0] if found else None), None


def plan_rows(
    shape: Shape, agency: Agency, rows: list[dict[str, Any]]
) -> list[PlannedOrganisation]:
    """Make each row into its record and people (unsaved), with every error found."""
    matcher = Matcher(shape, agency, rows)
    # What earlier rows named, each with its line; "record": the stored records matched.
    seen: dict[str, dict[Any, int]] = {"external_id": {}, "email": {}, "record": {}}
    return [plan_row(shape, agency, row, matcher, seen) for row in rows]


def plan_row(
    shape: Shape,
    agency: Agency,
    row: dict[str, Any],
    matcher: Matcher,
    seen: dict[str, dict[Any, int]],
) -> PlannedOrganisation:
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
    stored, match_error = matcher.organisation_for(row)
    if match_error is not None:
        errors.append(match_error)
    if stored is not None and not repeats:
        message = _("Line %(line)d already stands for this record.")
        errors += cells.claim(seen["record"], stored.pk, line, matcher.matched_by(row), message)
    org = shape.model(agency=agency) if stored is None else cells.copy_of(stored)
    before = cells.values_of(org, FIELDS) if stored is not None else None
    for name in FIELDS:
        value = texts[name]
        if name == "kind":
            errors += _set_kind(shape, org, value, line)
        elif name == "external_id" and not value and stored is not None:
            continue  # a record matched by email keeps its external id
        else:
            setattr(org, name, value)
    planned = PlannedOrganisation(line=line, organisation=org, is_new=stored is None)
    changed = before != cells.values_of(org, FIELDS)
    existing = list(matcher.people.get(stored.pk, [])) if stored is not None else []
    for n in range(1, PEOPLE_PER_ROW + 1):
        prefix = f"person_{n}_"
        name, email = texts[prefix + "name"], texts[prefix + "email"]
        if not name and not email:
            continue
        person = _person_for(shape, email, existing)
        person_before = cells.values_of(person, PERSON_FIELDS) if person.pk else None
        person.agency = agency
        person.name, person.email = name, email
        errors += cells.model_errors(person, line, prefix, exclude=[shape.link, "agency", "user"])
        changed = changed or person_before != cells.values_of(person, PERSON_FIELDS)
        planned.people.append((n, person))
    errors += cells.model_errors(org, line, "", exclude=["agency"])
    for column in ("email", *(f"person_{n}_email" for n in range(1, PEOPLE_PER_ROW + 1))):
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


def _repeated(line: int, texts: dict[str, str], seen: dict[str, dict[Any, int]]) -> list[RowError]:
    """Return an error for an external_id an earlier row has, or its email without one.

    Two records may share an email (a claims desk's), so rows with external ids may too.
    """
    errors = []
    keys = [("external_id", texts["external_id"])]
    if not texts["external_id"]:
        keys.append(("email", texts["email"].lower()))
    for column, key in keys:
        if key and key in seen[column]:
            errors.append(
                RowError(
                    line,
                    column,
                    _("%(value)s is already on line %(line)d.")
                    % {"value": key, "line": seen[column][key]},
                )
            )
        elif key:
            seen[column][key] = line
    return errors


def _set_kind(shape: Shape, org: Organisation, value: str, line: int) -> list[RowError]:
    """Set the record's kind from the cell; empty keeps it. Return the cell's error, if any."""
    if not value:
        return []
    choice = cells.choice_of(value, shape.kinds)
    if choice is None:
        message = _("%(value)s is not a kind (one of: %(choices)s).") % {
            "value": value,
            "choices": ", ".join(shape.kinds.values),
        }
        return [RowError(line, "kind", message)]
    org.kind = choice
    return []


def _person_for(shape: Shape, email: str, existing: list[Person]) -> Person:
    """Return the record's stored person of this email (a copy), or a new one."""
    for person in existing:
        if email and person.email.lower() == email.lower():
            existing.remove(person)
            return cells.copy_of(person)
    return shape.person_model()


# Saving ----------------------------------------------------------------------------------


def save_rows(
    shape: Shape,
    planned: Sequence[PlannedOrganisation],
    agency: Agency,
    actor: User | None,
    progress: Callable[[int], None],
) -> Counts:
    """Save each new or changed row through `save_party`, in the caller's transaction.

    `progress` is told how many rows of the file are done after each row.
    """
    counts = {"create": 0, "update": 0, "skip": 0}
    for done, row in enumerate(planned, start=1):
        counts[row.action] += 1
        if row.action != "skip":
            _save_row(shape, row, agency=agency, actor=actor)
        progress(done)
    return Counts(created=counts["create"], updated=counts["update"], skipped=counts["skip"])


def _save_row(
    shape: Shape, row: PlannedOrganisation, *, agency: Agency, actor: User | None
) -> None:
    prefix = ""
    try:
        org = row.organisation
        save_party(party=org, agency=agency, actor=actor)
        for n, planned_person in row.people:
            prefix = f"person_{n}_"
            person = _stored_person(shape, org, planned_person)
            save_party(party=person, agency=agency, actor=actor)
    except ValidationError as exc:
        raise cells.refused(exc, row.line, prefix) from exc


def _stored_person(shape: Shape, org: Organisation, planned: Person) -> Person:
    """Return the person to save: the record's person of that email if it has one now.

    Saving a record with an email makes that email one of its people (sync_portal_account):
    the file's person of the same email is that one, not a second.
    """
    setattr(planned, shape.link, org)
    if planned.pk is not None:
        return planned
    same = shape.person_model._default_manager.filter(
        agency=org.agency, email__iexact=planned.email, **{shape.link: org}
    ).first()
    if same is None:
        return planned
    same.name, same.email = planned.name, planned.email
    return same


# Export ----------------------------------------------------------------------------------


def export_rows(shape: Shape, agency: Agency) -> Iterator[list[str]]:
    """Yield the header and one row per record of the agency, with its first two people."""
    yield list(COLUMNS)
    orgs = shape.model._default_manager.filter(agency=agency).order_by("pk")
    for org in orgs.prefetch_related("people"):
        row = [getattr(org, name) or "" for name in FIELDS]
        people: list[Person] = sorted(org.people.all(), key=lambda person: person.pk)
        for n in range(PEOPLE_PER_ROW):
            person = people[n] if n < len(people) else None
            row += [person.name, person.email] if person is not None else ["", ""]
        yield [cells.neutralise(cell) for cell in row]
