"""Who viewed my information: a client's views, read from the audit trail.

Every event that names the client (`client_id`) and is a view of their information: the
care plan, an invoice or its PDF, the calendar, the calendar feed (one event per feed per
day, with the day's count), a copy of the record. Read newest first, a page at a time, on
the index (agency, client_id, created_at); the names on a page are read in a few queries
bounded by the page, never by the trail.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from careportal.accounts.models import User, UserKind
from careportal.agencies.models import StaffMembership
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
    """The client's payers and communities, and their people with portal logins."""

    payer_links: list[Link] = field(default_factory=list)
    community_links: list[Link] = field(default_factory=list)
    # (user id, "Name, Payer's name"), by name: whom the "who" filter offers.
    people: list[tuple[int, str]] = field(default_factory=list)


def _related_sql() -> str:
    """Return the query of `related_of`: links and people in one round trip, on the
    (agency, client) and (agency, payer/community) indexes."""
    link = ClientPayer._meta.db_table
    residence = Residence._meta.db_table
    payer = Payer._meta.db_table
    community = Community._meta.db_table
    payer_person = PayerPerson._meta.db_table
    member = CommunityPerson._meta.db_table
    return f"""
        SELECT 'payer', o.name, l.start_date, l.end_date, CAST(NULL AS bigint), l.id
        FROM {link} l JOIN {payer} o ON o.id = l.payer_id
        WHERE l.agency_id = %(agency)s AND l.client_id = %(client)s
        UNION ALL
        SELECT 'community', o.name, l.start_date, l.end_date, CAST(NULL AS bigint), l.id
        FROM {residence} l JOIN {community} o ON o.id = l.community_id
        WHERE l.agency_id = %(agency)s AND l.client_id = %(client)s
        UNION ALL
        SELECT 'payer_person', p.name || ', ' || o.name,
            CAST(NULL AS date), CAST(NULL AS date), p.user_id, p.id
        FROM {payer_person} p JOIN {payer} o ON o.id = p.payer_id
        WHERE p.agency_id = %(agency)s AND p.user_id IS NOT NULL AND p.payer_id IN (
            SELECT payer_id FROM {link} WHERE agency_id = %(agency)s AND client_id = %(client)s)
        UNION ALL
        SELECT 'community_person', p.name || ', ' || o.name,
            CAST(NULL AS date), CAST(NULL AS date), p.user_id, p.id
        FROM {member} p JOIN {community} o ON o.id = p.community_id
        WHERE p.agency_id = %(agency)s AND p.user_id IS NOT NULL AND p.community_id IN (
            SELECT community_id FROM {residence}
            WHERE agency_id = %(agency)s AND client_id = %(client)s)
    """  # noqa: S608 (table names are the models' own; the values are parameters)


def related_of(client: Client) -> Related:
    """Return the client's payer and community links (newest first) and their people."""
    related = Related()
    people: list[tuple[str, int, int]] = []
    with connection.cursor() as cursor:
        cursor.execute(_related_sql(), {"agency": client.agency_id, "client": client.pk})
        rows = cursor.fetchall()
    payer_links: list[tuple[datetime.date, int, Link]] = []
    community_links: list[tuple[datetime.date, int, Link]] = []
    for kind, name, start, end, user_id, pk in rows:
        if kind in ("payer", "community"):
            start = _as_date(start)
            links = payer_links if kind == "payer" else community_links
            links.append((start, pk, Link(name, start, _as_date(end) if end else None)))
        else:
            people.append((name, pk if kind == "payer_person" else -pk, user_id))
    # Newest link first (then by id), as the back office lists them; people by name.
    related.payer_links = [link for _s, _p, link in sorted(payer_links, key=_newest_first)]
    related.community_links = [link for _s, _p, link in sorted(community_links, key=_newest_first)]
    related.people = [(user_id, label) for label, _pk, user_id in sorted(people)]
    return related


def _newest_first(item: tuple[datetime.date, int, Link]) -> tuple[int, int]:
    start, pk, _link = item
    return (-start.toordinal(), pk)


def _as_date(value: Any) -> datetime.date:
    """Return a date column's value as a date (SQLite's driver gives the text)."""
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


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


def view_events(client: Client, user: User, chosen: ViewFilter) -> QuerySet[AuditEvent]:
    """Return the events of views of the client's information, newest first, filtered."""
    events = AuditEvent.objects.filter(
        agency_id=client.agency_id, client_id=client.pk, action__in=list(VIEW_ACTIONS)
    )
    if not chosen.include_own:
        events = events.exclude(actor_id=user.pk)
    if chosen.who == STAFF:
        # The agency's staff logins, a short list: the client's events stay on their index.
        staff = StaffMembership.objects.filter(agency_id=client.agency_id).values_list(
            "user_id", flat=True
        )
        events = events.filter(actor_id__in=list(staff))
    elif chosen.who:
        events = events.filter(actor_id=int(chosen.who))
    if chosen.month is not None:
        tz = client.agency.tz
        first = chosen.month
        following = (first + datetime.timedelta(days=32)).replace(day=1)
        start = datetime.datetime.combine(first, datetime.time(), tzinfo=tz)
        end = datetime.datetime.combine(following, datetime.time(), tzinfo=tz)
        events = events.filter(created_at__gte=start, created_at__lt=end)
    return events.only(
        "created_at", "actor_id", "actor_label", "action", "object_id", "object_label", "detail"
    ).order_by("-created_at", "-id")


class _Names:
    """How each actor of a page is named for this client, read in a few queries."""

    def __init__(
        self, client: Client, actor_ids: set[int], viewer: User, contacts: list[EmergencyContact]
    ) -> None:
        self.client = client
        self.viewer = viewer
        agency_id = client.agency_id
        ids = sorted(actor_ids - {viewer.pk})
        # With their staff membership (a staff login's role), in the same query.
        self.users = {
            u.pk: u
            for u in User.objects.filter(pk__in=ids)
            .select_related("staff_membership")
            .only(
                "first_name",
                "last_name",
                "username",
                "kind",
                "agency_id",
                "staff_membership__role",
                "staff_membership__user_id",
            )
        }
        portal = [pk for pk, u in self.users.items() if u.kind == UserKind.PORTAL]
        staff = [pk for pk, u in self.users.items() if u.kind == UserKind.STAFF]
        self.labels: dict[int | None, str] = {}
        if portal:
            for contact in contacts:
                if contact.user_id in portal:
                    self.labels.setdefault(
                        contact.user_id, f"{contact.name}, {contact.relationship_name}"
                    )
            left = [pk for pk in portal if pk not in self.labels]
            if left:
                for person in PayerPerson.objects.filter(
                    agency_id=agency_id, user_id__in=left
                ).select_related("payer"):
                    self.labels.setdefault(
                        person.user_id,
                        _("%(name)s, for %(payer)s (payer)")
                        % {"name": person.name, "payer": person.payer.name},
                    )
                for member in CommunityPerson.objects.filter(
                    agency_id=agency_id, user_id__in=left
                ).select_related("community"):
                    self.labels.setdefault(
                        member.user_id,
                        _("%(name)s, for %(community)s (community)")
                        % {"name": member.name, "community": member.community.name},
                    )
        for pk in staff:
            user = self.users[pk]
            membership = getattr(user, "staff_membership", None)
            if membership is not None:
                self.labels[pk] = _("%(agency)s staff: %(name)s, %(role)s") % {
                    "agency": client.agency.name,
                    "name": user.first_name or user.username,
                    "role": membership.get_role_display(),
                }

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
            return user.get_full_name() or user.username
        return _("Someone whose account no longer exists")


def _feed_counts(client: Client, events: list[AuditEvent]) -> dict[int, int]:
    """Return how many times the feed was fetched on each feed event's day, by event id.

    A feed's event is written at its first fetch of a day; the day's count is carried by
    its next event (`previous_day_fetches`), or is still on the feed for its last day. The
    next event of a feed's newest on this page is looked up (one query per feed on the
    page); the others' next events are on the page.
    """
    feeds: dict[str, list[AuditEvent]] = {}
    for event in events:
        if event.action in FEED_ACTIONS:
            feeds.setdefault(event.object_id, []).append(event)
    counts: dict[int, int] = {}
    if not feeds:
        return counts
    state = {
        str(feed.pk): feed
        for feed in CalendarFeed.objects.filter(
            agency_id=client.agency_id, pk__in=[int(pk) for pk in feeds if pk.isdigit()]
        ).only("last_fetched_on", "fetches_on_last_day")
    }
    for feed_id, shown in feeds.items():
        newest = shown[0]
        following = (
            AuditEvent.objects.filter(
                agency_id=client.agency_id,
                client_id=client.pk,
                action__in=FEED_ACTIONS,
                object_id=feed_id,
                created_at__gt=newest.created_at,
            )
            .only("detail")
            .order_by("created_at", "id")
            .first()
        )
        # Each shown event with the next newer one: the one before it on the page.
        for index, event in enumerate(shown):
            later = shown[index - 1] if index else following
            day = event.detail.get("day")
            if later is not None and later.detail.get("previous_day") == day:
                counts[event.pk] = int(later.detail.get("previous_day_fetches") or 0)
            elif later is None and feed_id in state:
                feed = state[feed_id]
                if feed.last_fetched_on and feed.last_fetched_on.isoformat() == day:
                    counts[event.pk] = feed.fetches_on_last_day
    return counts


def _what(event: AuditEvent, counts: dict[int, int]) -> str:
    label = VIEW_ACTIONS[Action(event.action)]  # view_events reads these actions alone
    if event.action in (Action.INVOICE_VIEWED, Action.INVOICE_PDF_DOWNLOADED):
        return str(label) % {"number": event.object_label}
    if event.action in FEED_ACTIONS and event.pk in counts:
        count = counts[event.pk]
        return ngettext("Calendar feed, once", "Calendar feed, %(count)d times", count) % {
            "count": count
        }
    return str(label)


def _place(event: AuditEvent) -> str:
    if event.detail.get("place") == "backoffice":
        return _("Back office")
    if event.action in FEED_ACTIONS:
        return _("Calendar app")
    return _("Portal")


def table_body(rows: list[ViewRow]) -> SafeString:
    """Return the list's rows as the table's HTML, each value escaped as a template would.

    Written here rather than by the template: a page of twenty-five rows, each with its
    time formatted and the labels the narrow layout shows, cost more than the rest.
    """
    who, what, where = (conditional_escape(_(label)) for label in ("Who", "What", "Where"))
    shown: dict[datetime.datetime, str] = {}
    html = []
    for row in rows:
        if row.when not in shown:
            shown[row.when] = formats.date_format(row.when, "DATETIME_FORMAT")
        html.append(
            f'<tr>\n      <th scope="row">{conditional_escape(shown[row.when])}</th>\n'
            f'      <td data-label="{who}">{conditional_escape(row.who)}</td>\n'
            f'      <td data-label="{what}">{conditional_escape(row.what)}</td>\n'
            f'      <td data-label="{where}">{conditional_escape(row.place)}</td>\n    </tr>'
        )
    return mark_safe("\n    ".join(html))  # every value is escaped above


def month_options(chosen: ViewFilter) -> list[tuple[str, str, bool]]:
    """Return the month filter's options: (value, "March 2026", chosen)."""
    return [
        (month.strftime("%Y-%m"), formats.date_format(month, "F Y"), month == chosen.month)
        for month in chosen.months
    ]


def page_of_views(
    client: Client,
    user: User,
    chosen: ViewFilter,
    number: str | int | None,
    *,
    contacts: list[EmergencyContact],
) -> tuple[Page[AuditEvent], list[ViewRow]]:
    """Return one page of the client's views (PER_PAGE, newest first) and its rows.

    `contacts` are the client's emergency contacts, as the page has read them.
    """
    page = Paginator(view_events(client, user, chosen), PER_PAGE).get_page(number)
    events = list(page.object_list)
    actors = {e.actor_id for e in events if e.actor_id is not None}
    names = _Names(client, actors, user, contacts)
    counts = _feed_counts(client, events)
    tz = client.agency.tz
    rows = [
        ViewRow(
            when=timezone.localtime(event.created_at, tz),
            who=names.name(event.actor_id),
            what=_what(event, counts),
            place=_place(event),
        )
        for event in events
    ]
    return page, rows
