"""Who viewed my information: a client's views, read from the audit trail.

Every event that names the client (`client_id`) and is a view of their information: the
care plan, an invoice or its PDF, the calendar, the calendar feed (one event per feed per
day, with the day's count), a copy of the record. Read newest first, a page at a time, on
the index (agency, client_id, created_at), with the viewers' names in the same query; the
page's other names are read in a query bounded by the page, never by the trail.

The page's queries are written out once per shape (as `people.access` does): building
them with the ORM on every request cost more than the database takes to answer them.
"""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from careportal.accounts.models import User, UserKind
from careportal.agencies.models import StaffMembership, StaffRole
from careportal.audit.actions import Action
from careportal.audit.models import AuditEvent
from careportal.people.models import (
    Client,
    ClientPayer,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Residence,
)
from careportal.privacy.models import RecordCopy
from careportal.scheduling.models import CalendarFeed

PER_PAGE = 25
# The months offered by the filter, counting back from this one.
MONTHS_OFFERED = 24

FEED_ACTIONS = (Action.CALENDAR_FEED_FETCHED, Action.CALENDAR_FEED_FETCHED_FOR_CLIENT)
# What each view is called in the list; "%(number)s" is the invoice's number.
VIEW_ACTIONS: dict[Action, Any] = {
    Action.CLIENT_VIEWED: gettext_lazy("Your details"),
    Action.DASHBOARD_VIEWED: gettext_lazy("Dashboard: next visits and amounts due"),
    Action.DASHBOARD_VIEWED_FOR_CLIENT: gettext_lazy("Dashboard: next visits and amounts due"),
    Action.SERVICE_PLAN_VIEWED: gettext_lazy("Care plan"),
    Action.INVOICE_LIST_VIEWED: gettext_lazy("Invoices (the list)"),
    Action.INVOICE_LIST_VIEWED_FOR_CLIENT: gettext_lazy("Invoices (the list)"),
    Action.INVOICE_VIEWED: gettext_lazy("Invoice %(number)s"),
    Action.INVOICE_PDF_DOWNLOADED: gettext_lazy("Invoice %(number)s, as a PDF"),
    Action.CALENDAR_VIEWED: gettext_lazy("Calendar"),
    Action.CALENDAR_VIEWED_FOR_CLIENT: gettext_lazy("Calendar"),
    Action.CALENDAR_FEED_FETCHED: gettext_lazy("Calendar feed"),
    Action.CALENDAR_FEED_FETCHED_FOR_CLIENT: gettext_lazy("Calendar feed"),
    # A copy of the record (privacy.record), when its download is recorded under this name.
    Action.RECORD_COPY_DOWNLOADED: gettext_lazy("A copy of your record"),
}
STAFF = "staff"


@dataclass
class ViewRow:
    """One line of the list: when, who, what, and where from."""

    when: datetime.datetime
    who: str
    what: str
    place: str


@dataclass
class Viewer:
    """A person the filter offers: a user id (or STAFF) and how they are named."""

    value: str
    label: str


@dataclass
class ViewFilter:
    """The list's filters, checked: who (a Viewer's value), a month, the client's own views."""

    who: str = ""
    month: datetime.date | None = None
    include_own: bool = False
    viewers: list[Viewer] = field(default_factory=list)
    months: list[datetime.date] = field(default_factory=list)


@dataclass
class ViewsPage:
    """One page of the list: its number, and whether a newer and an older page exist.

    The views are not counted (a client's trail grows without end): a page reads one view
    more than it shows to know whether an older page exists.
    """

    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def months_offered(today: datetime.date) -> list[datetime.date]:
    """Return the first days of this month and the MONTHS_OFFERED - 1 before it."""
    months = []
    year, month = today.year, today.month
    for _i in range(MONTHS_OFFERED):
        months.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


@dataclass
class Link:
    """A payer or community of the client, with the dates of the link."""

    name: str
    start_date: datetime.date
    end_date: datetime.date | None


@dataclass
class Related:
    """The client's emergency contacts, payers and communities, their people with portal
    logins, and the id of the client's latest copy of their record."""

    # By name (then id), as the page lists them.
    contacts: list[EmergencyContact] = field(default_factory=list)
    payer_links: list[Link] = field(default_factory=list)
    community_links: list[Link] = field(default_factory=list)
    # (user id, "Name, Payer's name"), by name: whom the "who" filter offers.
    people: list[tuple[int, str]] = field(default_factory=list)
    record_copy_id: int | None = None


# The columns of a contact read by `related_of`, in the model's order (as `from_db` takes them).
_CONTACT_FIELDS = [
    "id",
    "agency_id",
    "client_id",
    "name",
    "relationship",
    "relationship_other",
    "user_id",
    "sees_calendar",
    "sees_invoices",
    "access_ends_on",
]


@functools.cache
def _related_sql() -> str:
    """Return the query of `related_of`, its rows in the order it reads them."""
    return f"{_related_union()}\n        ORDER BY 1, 3, 2"


@functools.cache
def _related_union() -> str:
    """Return the rows of `related_of`: contacts, links with their people and the latest
    copy in one round trip, on the (agency, client) and (payer/community) indexes.

    A link's row comes once for each of its party's people with a portal login (once with
    none), with the party's name read by a subquery: cheaper for the database to plan
    than the people apart, or a join.
    """
    contact = EmergencyContact._meta.db_table
    copy = RecordCopy._meta.db_table
    # kind, id, name, relationship or person's name, relationship_other, start, end,
    # user id, calendar, invoices, person's id
    parts = [
        f"""SELECT 'contact', e.id, e.name, e.relationship, e.relationship_other,
            CAST(NULL AS date), e.access_ends_on, e.user_id, e.sees_calendar, e.sees_invoices,
            CAST(NULL AS bigint)
        FROM {contact} e
        WHERE e.agency_id = %(agency)s AND e.client_id = %(client)s"""  # noqa: S608 (table names are the models' own)
    ]
    for kind, link, party, person, key in (
        ("payer", ClientPayer, Payer, PayerPerson, "payer_id"),
        ("community", Residence, Community, CommunityPerson, "community_id"),
    ):
        parts.append(
            f"""SELECT '{kind}', l.id,
            (SELECT o.name FROM {party._meta.db_table} o WHERE o.id = l.{key}),
            p.name, NULL, l.start_date, l.end_date, p.user_id, NULL, NULL, p.id
        FROM {link._meta.db_table} l
        LEFT JOIN {person._meta.db_table} p ON p.{key} = l.{key}
            AND p.agency_id = %(agency)s AND p.user_id IS NOT NULL
        WHERE l.agency_id = %(agency)s AND l.client_id = %(client)s"""  # noqa: S608
        )
    parts.append(
        f"""SELECT 'copy', r.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM {copy} r
        WHERE r.id = (
            SELECT id FROM {copy} WHERE client_id = %(client)s
            ORDER BY asked_at DESC, id DESC LIMIT 1)"""  # noqa: S608
    )
    return "\n        UNION ALL\n        ".join(parts)


def related_of(client: Client) -> Related:
    """Return the client's contacts (by name), payer and community links (newest first),
    their people, and the latest copy of the record: one query."""
    with connection.cursor() as cursor:
        cursor.execute(_related_sql(), {"agency": client.agency_id, "client": client.pk})
        return _related(client, cursor.fetchall())


def _related(client: Client, rows: list[tuple[Any, ...]]) -> Related:
    """Return what the rows of `_related_sql` say (in its order)."""
    related = Related()
    links: dict[tuple[str, int], tuple[datetime.date, int, Link]] = {}
    # (label, a payer's person's id or minus a community's, user id), once each.
    people: set[tuple[str, int, int]] = set()
    for kind, pk, name, text, other, start, end, user_id, calendar, invoices, person in rows:
        if kind == "contact":
            values = [pk, client.agency_id, client.pk, name, text, other, user_id]
            values += [bool(calendar), bool(invoices), _as_date(end) if end else None]
            related.contacts.append(
                EmergencyContact.from_db(connection.alias, _CONTACT_FIELDS, values)
            )
        elif kind == "copy":
            related.record_copy_id = pk
        else:
            if (kind, pk) not in links:
                begins = _as_date(start)
                links[kind, pk] = (begins, pk, Link(name, begins, _as_date(end) if end else None))
            if person is not None:
                people.add((f"{text}, {name}", person if kind == "payer" else -person, user_id))
    # Newest link first (then by id), as the back office lists them; people by name.
    for kind, found in (("payer", related.payer_links), ("community", related.community_links)):
        ordered = sorted((v for k, v in links.items() if k[0] == kind), key=_newest_first)
        found.extend(link for _s, _p, link in ordered)
    related.people = [(user_id, label) for label, _pk, user_id in sorted(people)]
    return related


def _newest_first(item: tuple[datetime.date, int, Link]) -> tuple[int, int]:
    start, pk, _link = item
    return (-start.toordinal(), pk)


def _as_date(value: Any) -> datetime.date:
    """Return a date column's value as a date (SQLite's driver gives the text)."""
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _as_datetime(value: Any) -> datetime.datetime:
    """Return a date and time column's value as an aware datetime (SQLite gives naive UTC,
    or the text)."""
    when: datetime.datetime = (
        value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)
    )
    return when if timezone.is_aware(when) else when.replace(tzinfo=datetime.UTC)


def viewers_of(client: Client, contacts: list[EmergencyContact], related: Related) -> list[Viewer]:
    """Return the people the "who" filter offers: the client's contacts (given, as the page
    has read them), the people of their payers and communities (with portal logins), and
    the agency's staff as one."""
    found: dict[int | None, str] = {}
    for contact in sorted(contacts, key=lambda c: c.name):
        if contact.user_id is not None:
            found.setdefault(contact.user_id, f"{contact.name}, {contact.relationship_name}")
    for user_id, label in related.people:
        found.setdefault(user_id, label)
    viewers = [Viewer(str(pk), label) for pk, label in found.items()]
    staff = _("%(agency)s staff") % {"agency": client.agency.name}
    return [*viewers, Viewer(STAFF, staff)]


# Whom the list is narrowed to, as the shape of its query: anyone, the staff, one login.
_ANYONE, _ONE = "", "one"


def _shape(chosen: ViewFilter) -> tuple[bool, str, bool]:
    """Return the shape of the filters' query: own views, whom (_ANYONE, STAFF, _ONE), month."""
    who = chosen.who if chosen.who in (_ANYONE, STAFF) else _ONE
    return chosen.include_own, who, chosen.month is not None


@functools.cache
def _events_where(include_own: bool, who: str, month: bool, alias: str) -> str:
    """Return the conditions of the client's views for a shape of the filters."""
    actions = ", ".join(f"%(action{i})s" for i in range(len(VIEW_ACTIONS)))
    where = [
        f"{alias}.agency_id = %(agency)s",
        f"{alias}.client_id = %(client)s",
        f"{alias}.action IN ({actions})",
    ]
    if not include_own:
        # Views recorded as the client's own (the index without them serves the list),
        # and, for those recorded before the flag, the viewer's own.
        where.append(f"NOT {alias}.by_client")
        where.append(f"({alias}.actor_id IS NULL OR {alias}.actor_id <> %(viewer)s)")
    if who == STAFF:
        # The agency's staff logins, a short list: the client's events stay on their index.
        staff = StaffMembership._meta.db_table
        where.append(
            f"{alias}.actor_id IN (SELECT user_id FROM {staff} WHERE agency_id = %(agency)s)"  # noqa: S608
        )
    elif who == _ONE:
        where.append(f"{alias}.actor_id = %(who)s")
    if month:
        where.append(f"{alias}.created_at >= %(start)s AND {alias}.created_at < %(end)s")
    return " AND ".join(where)


@functools.cache
def _events_sql(include_own: bool, who: str, month: bool) -> str:
    """Return the query of a page of views, with each viewer's login and staff role.

    The page is read on the index (agency, client_id, -created_at) in two steps: the
    time of the deepest view the page needs (read in the index's order, no sort), then
    the views from that time on, sorted with the id to break ties. A page's work is
    bounded by its depth, not by the client's whole trail.
    """
    shape = (include_own, who, month)
    event = AuditEvent._meta.db_table
    user = User._meta.db_table
    staff = StaffMembership._meta.db_table
    return f"""
        SELECT e.id, e.created_at, e.actor_id, e.action, e.object_id, e.object_label,
            e.detail, u.kind, u.first_name, u.last_name, u.username, m.role
        FROM {event} e
        LEFT JOIN {user} u ON u.id = e.actor_id
        LEFT JOIN {staff} m ON m.user_id = e.actor_id
        WHERE {_events_where(*shape, "e")} AND e.created_at >= (
            SELECT MIN(d.created_at) FROM (
                SELECT f.created_at FROM {event} f WHERE {_events_where(*shape, "f")}
                ORDER BY f.created_at DESC LIMIT %(depth)s) d)
        ORDER BY e.created_at DESC, e.id DESC
        LIMIT %(rows)s OFFSET %(offset)s
    """  # noqa: S608 (table names are the models' own; the values are parameters)


def _events_params(client: Client, user: User, chosen: ViewFilter) -> dict[str, Any]:
    params: dict[str, Any] = {"agency": client.agency_id, "client": client.pk, "viewer": user.pk}
    params.update({f"action{i}": str(action) for i, action in enumerate(VIEW_ACTIONS)})
    if chosen.who and chosen.who != STAFF:
        params["who"] = int(chosen.who)
    if chosen.month is not None:
        tz = client.agency.tz
        first = chosen.month
        following = (first + datetime.timedelta(days=32)).replace(day=1)
        start = datetime.datetime.combine(first, datetime.time(), tzinfo=tz)
        end = datetime.datetime.combine(following, datetime.time(), tzinfo=tz)
        params["start"] = connection.ops.adapt_datetimefield_value(start)
        params["end"] = connection.ops.adapt_datetimefield_value(end)
    return params


def _count_views(client: Client, user: User, chosen: ViewFilter) -> int:
    """Return how many views the filters find (only to find the last page)."""
    where = _events_where(*_shape(chosen), "e")
    sql = f"SELECT COUNT(*) FROM {AuditEvent._meta.db_table} e WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, _events_params(client, user, chosen))
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@dataclass
class _Event:
    """A view read from the trail, with its viewer's login (None if it no longer exists)."""

    pk: int
    created_at: datetime.datetime
    actor_id: int | None
    action: str
    object_id: str
    object_label: str
    detail: dict[str, Any]
    kind: str | None
    first_name: str
    last_name: str
    username: str
    role: str | None


@dataclass
class FirstRead:
    """What `related_and_views` read: the client's related people, and a page of views
    for the filters it was given (`number`), with whether an older page exists."""

    related: Related
    number: int
    shape: tuple[bool, str, bool, str, datetime.date | None]
    events: list[_Event]
    older: bool


def _page_params(client: Client, user: User, chosen: ViewFilter, number: int) -> dict[str, Any]:
    offset = (number - 1) * PER_PAGE
    params = _events_params(client, user, chosen)
    params.update({"depth": offset + PER_PAGE + 1, "rows": PER_PAGE + 1, "offset": offset})
    return params


def _events(
    client: Client, user: User, chosen: ViewFilter, number: int
) -> tuple[list[_Event], bool]:
    """Return the views of page `number` and whether an older page exists."""
    with connection.cursor() as cursor:
        cursor.execute(_events_sql(*_shape(chosen)), _page_params(client, user, chosen, number))
        return _page_of(cursor.fetchall())


def _page_of(rows: list[tuple[Any, ...]]) -> tuple[list[_Event], bool]:
    """Return the views of the rows of `_events_sql` (newest first, at most PER_PAGE) and
    whether there are more."""
    events = [
        _Event(
            pk,
            _as_datetime(created),
            actor_id,
            action,
            object_id,
            object_label,
            detail if isinstance(detail, dict) else json.loads(detail),
            kind,
            first or "",
            last or "",
            username or "",
            role,
        )
        for pk, created, actor_id, action, object_id, object_label, detail, kind, first, last, username, role in rows  # noqa: E501
    ]
    events.sort(key=lambda event: (event.created_at, event.pk), reverse=True)
    return events[:PER_PAGE], len(events) > PER_PAGE


@functools.cache
def _related_and_views_sql(include_own: bool, who: str, month: bool) -> str:
    """Return `_related_sql` and `_events_sql` as one query: the page's rows in one round
    trip. Each row has the columns of both, those of the other query empty."""
    views = " ".join(["NULL,"] * 12)[:-1]
    related = " ".join(["NULL,"] * 10)[:-1]
    return f"""
        SELECT r.*, {views} FROM ({_related_union()}) r
        UNION ALL
        SELECT 'view', {related}, v.* FROM ({_events_sql(include_own, who, month)}) v
        ORDER BY 1, 3, 2
    """  # noqa: S608 (the queries are the module's own)


def related_and_views(
    client: Client, user: User, chosen: ViewFilter, number: str | int | None
) -> FirstRead:
    """Return the client's related people (as `related_of`) and the page of views the
    filters ask for (as `page_of_views` reads it), in one query. `chosen` is what the
    request asks, before the people it names are known: `page_of_views` uses the views
    read here only if its filters are the same."""
    page = _page_number(number) or 1
    params = _page_params(client, user, chosen, page)
    with connection.cursor() as cursor:
        cursor.execute(_related_and_views_sql(*_shape(chosen)), params)
        rows = cursor.fetchall()
    # Each query's rows, in their own order: the views are sorted again by `_page_of`.
    events, older = _page_of([row[11:] for row in rows if row[0] == "view"])
    related = _related(client, [row[:11] for row in rows if row[0] != "view"])
    return FirstRead(related, page, _read_shape(chosen), events, older)


def _read_shape(chosen: ViewFilter) -> tuple[bool, str, bool, str, datetime.date | None]:
    """Return what a page of views depends on in the filters."""
    return (*_shape(chosen), chosen.who, chosen.month)


class _Names:
    """How each viewer of a page is named for this client: the logins come with the page's
    views; the people of payers and communities who are not contacts in one query."""

    def __init__(
        self, client: Client, events: list[_Event], viewer: User, contacts: list[EmergencyContact]
    ) -> None:
        self.client = client
        self.viewer = viewer
        self.users: dict[int, _Event] = {
            e.actor_id: e for e in events if e.actor_id is not None and e.kind is not None
        }
        self.labels: dict[int | None, str] = {}
        portal = {pk for pk, e in self.users.items() if e.kind == UserKind.PORTAL}
        portal.discard(viewer.pk)
        if portal:
            for contact in contacts:
                if contact.user_id in portal:
                    self.labels.setdefault(
                        contact.user_id, f"{contact.name}, {contact.relationship_name}"
                    )
            left = sorted(pk for pk in portal if pk not in self.labels)
            if left:
                self._parties(left)
        roles = dict(StaffRole.choices)
        agency = client.agency.name
        for pk, e in self.users.items():
            if e.kind == UserKind.STAFF and e.role is not None and pk != viewer.pk:
                self.labels[pk] = _("%(agency)s staff: %(name)s, %(role)s") % {
                    "agency": agency,
                    "name": e.first_name or e.username,
                    "role": roles.get(e.role, e.role),
                }

    def _parties(self, user_ids: list[int]) -> None:
        """Name the logins of payers' and communities' people (a payer's first)."""
        marks = ", ".join(f"%(user{i})s" for i in range(len(user_ids)))
        sql = f"""
            SELECT 0, p.id, p.user_id, p.name, o.name
            FROM {PayerPerson._meta.db_table} p
            JOIN {Payer._meta.db_table} o ON o.id = p.payer_id
            WHERE p.agency_id = %(agency)s AND p.user_id IN ({marks})
            UNION ALL
            SELECT 1, p.id, p.user_id, p.name, o.name
            FROM {CommunityPerson._meta.db_table} p
            JOIN {Community._meta.db_table} o ON o.id = p.community_id
            WHERE p.agency_id = %(agency)s AND p.user_id IN ({marks})
            ORDER BY 1, 2
        """  # noqa: S608 (table names are the models' own; the values are parameters)
        params: dict[str, int] = {"agency": self.client.agency_id}
        params.update({f"user{i}": pk for i, pk in enumerate(user_ids)})
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        for community, _pk, user_id, name, party in rows:
            if community:
                label = _("%(name)s, for %(community)s (community)") % {
                    "name": name,
                    "community": party,
                }
            else:
                label = _("%(name)s, for %(payer)s (payer)") % {"name": name, "payer": party}
            self.labels.setdefault(user_id, label)

    def name(self, actor_id: int | None) -> str:
        if actor_id is not None and actor_id == self.viewer.pk:
            return _("You")
        if actor_id in self.labels:
            return self.labels[actor_id]
        user = self.users.get(actor_id) if actor_id is not None else None
        if user is not None and user.kind == UserKind.STAFF:
            return _("%(agency)s staff") % {"agency": self.client.agency.name}
        if user is not None:
            # Someone whose link to the client has since ended.
            return f"{user.first_name} {user.last_name}".strip() or user.username
        return _("Someone whose account no longer exists")


@functools.cache
def _feeds_sql(states: int, feeds: int) -> str:
    """Return the query of `_feed_counts` for `states` feeds' ids and `feeds` feeds' newest
    views: each feed's state, and the view that follows each feed's newest, in one round
    trip (on the client's index, from that view's time on)."""
    feed = CalendarFeed._meta.db_table
    event = AuditEvent._meta.db_table
    # kind, feed id, object id, last fetched on, fetches that day, detail of the next view;
    # the table names are the models' own, the values parameters.
    parts = []
    if states:
        ids = ", ".join(f"%(state{i})s" for i in range(states))
        parts.append(
            "SELECT 'state', f.id, CAST(NULL AS varchar(64)), f.last_fetched_on, "  # noqa: S608
            f"f.fetches_on_last_day, NULL FROM {feed} f "
            f"WHERE f.agency_id = %(agency)s AND f.id IN ({ids})"
        )
    for i in range(feeds):
        parts.append(
            f"SELECT 'next', NULL, %(feed{i})s, NULL, NULL, n.detail FROM ("  # noqa: S608
            f"SELECT e.detail FROM {event} e "
            "WHERE e.agency_id = %(agency)s AND e.client_id = %(client)s "
            "AND e.action IN (%(fetched)s, %(fetched_for_client)s) "
            f"AND e.object_id = %(feed{i})s AND e.created_at > %(after{i})s "
            "ORDER BY e.created_at, e.id LIMIT 1) n"
        )
    return " UNION ALL ".join(parts)


def _feed_counts(client: Client, events: list[_Event]) -> dict[int, int]:
    """Return how many times the feed was fetched on each feed event's day, by event id.

    A feed's event is written at its first fetch of a day; the day's count is carried by
    its next event (`previous_day_fetches`), or is still on the feed for its last day. The
    next event of a feed's newest on this page is looked up, with the feeds, in one query;
    the others' next events are on the page.
    """
    feeds: dict[str, list[_Event]] = {}
    for event in events:
        if event.action in FEED_ACTIONS:
            feeds.setdefault(event.object_id, []).append(event)
    counts: dict[int, int] = {}
    if not feeds:
        return counts
    ids = [int(pk) for pk in feeds if pk.isascii() and pk.isdigit()]
    params: dict[str, Any] = {
        "agency": client.agency_id,
        "client": client.pk,
        "fetched": str(Action.CALENDAR_FEED_FETCHED),
        "fetched_for_client": str(Action.CALENDAR_FEED_FETCHED_FOR_CLIENT),
    }
    params.update({f"state{i}": pk for i, pk in enumerate(ids)})
    for i, (feed_id, shown) in enumerate(feeds.items()):
        params[f"feed{i}"] = feed_id
        params[f"after{i}"] = connection.ops.adapt_datetimefield_value(shown[0].created_at)
    with connection.cursor() as cursor:
        cursor.execute(_feeds_sql(len(ids), len(feeds)), params)
        rows = cursor.fetchall()
    # Each feed's last day of fetches and its count; the view after each feed's newest.
    state: dict[str, tuple[datetime.date | None, int]] = {}
    following: dict[str, dict[str, Any]] = {}
    for kind, pk, feed_id, last_day, fetches, detail in rows:
        if kind == "state":
            state[str(pk)] = (_as_date(last_day) if last_day else None, fetches)
        else:
            following[feed_id] = detail if isinstance(detail, dict) else json.loads(detail)
    for feed_id, shown in feeds.items():
        # Each shown event with the next newer one: the one before it on the page.
        for index, event in enumerate(shown):
            later = shown[index - 1].detail if index else following.get(feed_id)
            day = event.detail.get("day")
            if later is not None and later.get("previous_day") == day:
                counts[event.pk] = int(later.get("previous_day_fetches") or 0)
            elif later is None and feed_id in state:
                last_fetched_on, fetches_on_last_day = state[feed_id]
                if last_fetched_on and last_fetched_on.isoformat() == day:
                    counts[event.pk] = fetches_on_last_day
    return counts


def _what(event: _Event, counts: dict[int, int], labels: dict[str, str]) -> str:
    """Return what was viewed; `labels` keeps the actions' words translated for the page."""
    if event.action in FEED_ACTIONS and event.pk in counts:
        count = counts[event.pk]
        return ngettext("Calendar feed, once", "Calendar feed, %(count)d times", count) % {
            "count": count
        }
    label = labels.get(event.action)
    if label is None:
        # The query reads these actions alone.
        label = labels[event.action] = str(VIEW_ACTIONS[Action(event.action)])
    if event.action in (Action.INVOICE_VIEWED, Action.INVOICE_PDF_DOWNLOADED):
        return label % {"number": event.object_label}
    return label


def _place(event: _Event, places: dict[str, str]) -> str:
    """Return where the view was from, in one of `places`' words."""
    if event.detail.get("place") == "backoffice":
        return places["backoffice"]
    if event.action in FEED_ACTIONS:
        return places["feed"]
    return places["portal"]


def table_body(rows: list[ViewRow]) -> SafeString:
    """Return the list's rows as the table's HTML, each value escaped as a template would.

    Written here rather than by the template: a page of twenty-five rows, each with its
    time formatted and the labels the narrow layout shows, cost more than the rest.
    """
    who, what, where = (conditional_escape(_(label)) for label in ("Who", "What", "Where"))
    language = get_language()
    html = []
    for row in rows:
        when = _formatted(language, str(row.when.tzinfo), row.when, "DATETIME_FORMAT")
        html.append(
            f'<tr>\n      <th scope="row">{when}</th>\n'
            f'      <td data-label="{who}">{conditional_escape(row.who)}</td>\n'
            f'      <td data-label="{what}">{conditional_escape(row.what)}</td>\n'
            f'      <td data-label="{where}">{conditional_escape(row.place)}</td>\n    </tr>'
        )
    return mark_safe("\n    ".join(html))  # every value is escaped above


@functools.lru_cache(maxsize=4096)
def _formatted(
    language: str, zone: str, value: datetime.date | datetime.datetime, format_name: str
) -> str:
    """Return the value in a format of the language, escaped: remembered, since the same
    times (a client's newest views) and months show on every page (`zone` tells apart the
    same instant in two time zones)."""
    return conditional_escape(formats.date_format(value, format_name))


@receiver(setting_changed)
def _forget_formats(**kwargs: Any) -> None:
    # A test that changes the formats or languages gets its own.
    _formatted.cache_clear()


def month_options(chosen: ViewFilter) -> SafeString:
    """Return the month filter's options ("March 2026"), the chosen one selected."""
    language = get_language()
    html = "".join(
        f'<option value="{month.strftime("%Y-%m")}"{" selected" if month == chosen.month else ""}>'
        f"{_formatted(language, '', month, 'F Y')}</option>"
        for month in chosen.months
    )
    return mark_safe(html)  # noqa: S308 (the labels are escaped, the values are digits)


def viewer_options(chosen: ViewFilter) -> SafeString:
    """Return the "who" filter's options, the chosen one selected."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (
                viewer.value,
                mark_safe(" selected") if viewer.value == chosen.who else "",  # noqa: S308
                viewer.label,
            )
            for viewer in chosen.viewers
        ),
    )


def _page_number(number: str | int | None) -> int | None:
    """Return the page asked for: 1 if it is not a number, None (the last) below 1."""
    try:
        value = int(number) if number is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if value >= 1 else None


def page_of_views(
    client: Client,
    user: User,
    chosen: ViewFilter,
    number: str | int | None,
    *,
    contacts: list[EmergencyContact],
    read: FirstRead | None = None,
) -> tuple[ViewsPage, list[ViewRow]]:
    """Return one page of the client's views (PER_PAGE, newest first) and its rows.

    A page past the last (or below the first) shows the last, as a paginator's would: only
    then are the views counted. `contacts` are the client's emergency contacts, as the
    page has read them; `read`, the views `related_and_views` read, if any.
    """
    asked = _page_number(number)
    page = asked or 1
    if read is not None and read.number == page and read.shape == _read_shape(chosen):
        events, older = read.events, read.older
    else:
        events, older = _events(client, user, chosen, page) if asked else ([], False)
    if not events and page > 1 or asked is None:
        page = max(1, -(-_count_views(client, user, chosen) // PER_PAGE))
        events, older = _events(client, user, chosen, page)
    names = _Names(client, events, user, contacts)
    counts = _feed_counts(client, events)
    tz = client.agency.tz
    # Each word translated once for the page, not once a row.
    labels: dict[str, str] = {}
    places = {"backoffice": _("Back office"), "feed": _("Calendar app"), "portal": _("Portal")}
    rows = [
        ViewRow(
            when=timezone.localtime(event.created_at, tz),
            who=names.name(event.actor_id),
            what=_what(event, counts, labels),
            place=_place(event, places),
        )
        for event in events
    ]
    return ViewsPage(page, older), rows
