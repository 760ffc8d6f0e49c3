"""The CSV file of links: which payer pays for a client, which community a client lives in.

One row per link, with the columns:

- `client_external_id`, `client_email`: the client, by external id, else by email (when the
  external id is empty);
- `kind`: `payer` (the client's payer) or `community` (the client's residence);
- `payer_or_community_external_id`, `payer_or_community_name`: the payer or community, by
  external id, else by name (when the external id is empty);
- `start_date`: the day the link starts (for a community, the day the client moved in);
- `end_date`: the day it ends (moved out), or empty for none.

A link is matched by its client, its payer or community and its start date: a matching link
takes the row's end date, any other is added. Each is saved through `api.services.save_link`,
as the API saves one, with a "link.created" or "link.changed" audit event. A client, payer
or community that the agency does not have is an error of its cell; so is one of another
agency, in the same words. The export writes the same columns, both ids and names filled,
and comes back in unchanged.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.api.services import Link, save_link
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.imports import cells
from careportal.imports.cells import Counts, RowError
from careportal.people.models import Client, ClientPayer, Community, Payer, Residence

COLUMNS = (
    "client_external_id",
    "client_email",
    "kind",
    "payer_or_community_external_id",
    "payer_or_community_name",
    "start_date",
    "end_date",
)
EXAMPLE_ROWS = [
    {
        "client_external_id": "C-1001",
        "client_email": "margaret@example.com",
        "kind": "payer",
        "payer_or_community_external_id": "P-201",
        "payer_or_community_name": "Evergreen Long-Term Care Insurance",
        "start_date": "2026-01-01",
    },
    {
        "client_external_id": "C-1001",
        "client_email": "margaret@example.com",
        "kind": "community",
        "payer_or_community_external_id": "H-301",
        "payer_or_community_name": "Willow Court",
        "start_date": "2025-06-15",
        "end_date": "",
    },
]
# The link's table and its foreign key to the payer or community, by the `kind` cell.
LINK_KINDS: dict[str, tuple[type[ClientPayer] | type[Residence], str]] = {
    "payer": (ClientPayer, "payer"),
    "community": (Residence, "community"),
}
CHUNK = cells.CHUNK
Organisation = Payer | Community


@dataclass
class PlannedLink(cells.PlannedAction):
    """A row of the file made into its link, not saved (None when the row has errors)."""

    line: int
    link: Link | None = None
    errors: list[RowError] = field(default_factory=list)
    is_new: bool = True
    has_changes: bool = True


class Matcher:
    """The clients the rows name, the agency's payers and communities, and their links."""

    def __init__(self, agency: Agency, rows: list[dict[str, Any]]) -> None:
        external_ids = {cells.cell(row, "client_external_id") for row in rows} - {""}
        emails = {cells.cell(row, "client_email").lower() for row in rows} - {""}
        clients = Client.objects.filter(agency=agency)
        self.clients_by_id: dict[str, Client] = {}
        self.clients_by_email: dict[str, list[Client]] = {}
        for chunk in cells.chunks(sorted(external_ids)):
            for client in clients.filter(external_id__in=chunk):
                self.clients_by_id[client.external_id] = client
        for chunk in cells.chunks(sorted(emails)):
            for client in clients.annotate(lower_email=Lower("email")).filter(
                lower_email__in=chunk
            ):
                self.clients_by_email.setdefault(client.email.lower(), []).append(client)
        # An agency has tens to hundreds of payers and communities: all of them.
        self.organisations: dict[str, list[Payer] | list[Community]] = {
            "payer": list(Payer.objects.filter(agency=agency)),
            "community": list(Community.objects.filter(agency=agency)),
        }
        client_ids = sorted(
            {c.pk for c in self.clients_by_id.values()}
            | {c.pk for found in self.clients_by_email.values() for c in found}
        )
        self.links: dict[tuple[str, int, int, datetime.date], Link] = {}
        for kind, (model, name) in LINK_KINDS.items():
            for chunk in cells.chunks(client_ids):
                stored = model._default_manager.filter(client_id__in=chunk).order_by("-pk")
                for link in stored:
                    key = (kind, link.client_id, getattr(link, f"{name}_id"), link.start_date)
                    self.links[key] = link

    def client_for(self, row: dict[str, Any]) -> tuple[Client | None, RowError | None]:
        line = row["line"]
        external_id = cells.cell(row, "client_external_id")
        if external_id:
            found = self.clients_by_id.get(external_id)
            if found is None:
                message = _("No client of this agency has the external id %(id)s.")
                return None, RowError(line, "client_external_id", message % {"id": external_id})
            return found, None
        email = cells.cell(row, "client_email")
        if not email:
            message = _("Give the client's external_id or email.")
            return None, RowError(line, "client_external_id", message)
        clients = self.clients_by_email.get(email.lower(), [])
        if not clients:
            message = _("No client of this agency has the email %(email)s.")
            return None, RowError(line, "client_email", message % {"email": email})
        if len(clients) > 1:
            message = _("Several clients have the email %(email)s: give the client_external_id.")
            return None, RowError(line, "client_email", message % {"email": email})
        return clients[0], None

    def organisation_for(
        self, kind: str, row: dict[str, Any]
    ) -> tuple[Organisation | None, RowError | None]:
        line = row["line"]
        stored = self.organisations[kind]
        external_id = cells.cell(row, "payer_or_community_external_id")
        if external_id:
            found = [org for org in stored if org.external_id == external_id]
            if not found:
                message = (
                    _("No payer of this agency has the external id %(id)s.")
                    if kind == "payer"
                    else _("No community of this agency has the external id %(id)s.")
                )
                column = "payer_or_community_external_id"
                return None, RowError(line, column, message % {"id": external_id})
            return found[0], None
        name = cells.cell(row, "payer_or_community_name")
        if not name:
            message = _("Give the external_id or the name of the payer or community.")
            return None, RowError(line, "payer_or_community_external_id", message)
        found = [org for org in stored if org.name.strip().lower() == name.lower()]
        if not found:
            message = (
                _("No payer of this agency is named %(name)s.")
                if kind == "payer"
                else _("No community of this agency is named %(name)s.")
            )
            return None, RowError(line, "payer_or_community_name", message % {"name": name})
        if len(found) > 1:
            message = _("Several are named %(name)s: give the payer_or_community_external_id.")
            return None, RowError(line, "payer_or_community_name", message % {"name": name})
        return found[0], None


def plan_rows(agency: Agency, rows: list[dict[str, Any]]) -> list[PlannedLink]:
    """Make each row into its link (unsaved), with every error found."""
    matcher = Matcher(agency, rows)
    seen: dict[tuple[str, int, int, datetime.date], int] = {}
    planned = [plan_row(agency, row, matcher, seen) for row in rows]
    return cells.flag_examples(planned, rows, EXAMPLE_ROWS, COLUMNS)


def plan_row(
    agency: Agency,
    row: dict[str, Any],
    matcher: Matcher,
    seen: dict[tuple[str, int, int, datetime.date], int],
) -> PlannedLink:
    line = row["line"]
    planned = PlannedLink(line=line)
    errors = planned.errors
    if row.get("_extra_cells"):
        errors.append(RowError(line, "", _("This row has more cells than the file has columns.")))
    texts: dict[str, str] = {}
    for name in COLUMNS:
        value, problem = cells.clean_cell(name, row.get(name, ""))
        texts[name] = value
        if problem:
            errors.append(RowError(line, name, problem))
    kind = texts["kind"].lower()
    if kind not in LINK_KINDS:
        message = _("%(value)s is not a kind of link (payer or community).")
        errors.append(RowError(line, "kind", message % {"value": texts["kind"]}))
    client, not_found = matcher.client_for(row)
    errors += [not_found] if not_found else []
    org = None
    if kind in LINK_KINDS:
        org, not_found = matcher.organisation_for(kind, row)
        errors += [not_found] if not_found else []
    start, end = _dates(line, texts, errors)
    if errors or client is None or org is None or start is None:
        planned.errors = cells.unique(errors)
        return planned
    key = (kind, client.pk, org.pk, start)
    if key in seen:
        message = _("This link is already on line %(line)d.") % {"line": seen[key]}
        planned.errors = [RowError(line, "", message)]
        return planned
    seen[key] = line
    model, name = LINK_KINDS[kind]
    stored = matcher.links.get(key)
    if stored is None:
        planned.link = model(agency=agency, client=client, start_date=start, end_date=end)
        setattr(planned.link, name, org)
        return planned
    planned.link = cells.copy_of(stored)
    planned.link.end_date = end
    planned.is_new = False
    planned.has_changes = stored.end_date != end
    return planned


def _dates(
    line: int, texts: dict[str, str], errors: list[RowError]
) -> tuple[datetime.date | None, datetime.date | None]:
    """Return the row's start and end dates, adding an error for a date that cannot be."""
    start, problem = cells.parse_date(texts["start_date"])
    if problem:
        errors.append(RowError(line, "start_date", problem))
    elif start is None:
        message = _("Give the day the link starts (write it as 2026-03-18).")
        errors.append(RowError(line, "start_date", message))
    end, problem = cells.parse_date(texts["end_date"])
    if problem:
        errors.append(RowError(line, "end_date", problem))
    elif start is not None and end is not None and end < start:
        errors.append(RowError(line, "end_date", _("The end date is before the start date.")))
    return start, end


# Saving ----------------------------------------------------------------------------------


def save_rows(
    planned: Sequence[PlannedLink],
    agency: Agency,
    actor: User | None,
    progress: Callable[[int], None],
) -> Counts:
    """Save each new or changed link through `save_link`, in the caller's transaction.

    `progress` is told how many rows of the file are done after each row.
    """
    counts = {"create": 0, "update": 0, "skip": 0}
    for done, row in enumerate(planned, start=1):
        counts[row.action] += 1
        if row.action != "skip" and row.link is not None:
            _save_link(row, row.link, agency=agency, actor=actor)
        progress(done)
    return Counts(created=counts["create"], updated=counts["update"], skipped=counts["skip"])


def _save_link(row: PlannedLink, link: Link, *, agency: Agency, actor: User | None) -> None:
    try:
        save_link(link=link, agency=agency)
    except ValidationError as exc:
        raise cells.refused(exc, row.line) from exc
    record(
        Action.LINK_CREATED if row.is_new else Action.LINK_CHANGED,
        actor=actor,
        agency=agency,
        obj=link,
    )


# Export ----------------------------------------------------------------------------------


def export_rows(agency: Agency) -> Iterator[list[str]]:
    """Yield the header and one row per payer link, then per residence, of the agency."""
    yield list(COLUMNS)
    for kind, (model, name) in LINK_KINDS.items():
        links = (
            model._default_manager.filter(agency=agency)
            .select_related("client", name)
            .order_by("pk")
        )
        for link in links.iterator(chunk_size=CHUNK):
            org = getattr(link, name)
            row = [
                link.client.external_id,
                link.client.email,
                kind,
                org.external_id,
                org.name,
                link.start_date.isoformat(),
                link.end_date.isoformat() if link.end_date else "",
            ]
            yield [cells.neutralise(cell) for cell in row]
