"""Portal pages shared by every role: the Dashboard."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, overload

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from careportal.audit.actions import Action
from careportal.audit.events import record_for_clients
from careportal.billing.models import (
    Invoice,
    InvoiceQuerySet,
    InvoiceStatus,
    InvoiceTotals,
    to_cents,
)
from careportal.careplans.models import PlanStatus, ServicePlan
from careportal.people import access
from careportal.people.models import (
    Client,
    ClientPayer,
    ClientStatus,
    LinkQuerySet,
    Residence,
    display_name,
)
from careportal.portal.days import shown_day
from careportal.portal.middleware import portal_login
from careportal.portal.narrowing import selected_client
from careportal.portal.templatetags.money import format_money
from careportal.scheduling.models import Caregiver, Visit, VisitStatus

if TYPE_CHECKING:
    from careportal.accounts.http import AuthenticatedHttpRequest
    from careportal.accounts.models import User
    from careportal.people.access import PortalLogin

    # Django's paginator, for a party's clients.
    _ClientPaginator = Paginator[Client]
else:
    _ClientPaginator = Paginator

# A party's links to its clients: a payer's, or a community's (residences).
_Link = TypeVar("_Link", ClientPayer, Residence)

UPCOMING = (VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS)
NEXT_VISITS_SHOWN = 5
# A payer's or community's clients, a page at a time.
CLIENTS_PER_PAGE = 25
# The search by name: longer input is cut, and only the first words count.
SEARCH_MAX_LENGTH = 100
SEARCH_MAX_WORDS = 5
ZERO = Decimal("0.00")
# What the Dashboard reads of a client's name.
CLIENT_NAMES = ("first_name", "last_name", "preferred_name")
# What a party owes for a set of invoices: no invoice counts below zero (an overpayment on
# one invoice does not lower what another owes).
OWED = Coalesce(Sum("balance", filter=Q(balance__gt=0)), Value(ZERO))


@dataclass(frozen=True)
class UpcomingVisit:
    """One of a client's or contact's next visits, as the Dashboard lists it."""

    client_id: int
    client_name: str
    start: datetime.datetime
    end: datetime.datetime
    service: str
    caregiver_id: int | None
    # What a family may see of the caregiver (Caregiver.family_name_shown and
    # family_photo_shown): the first name, and the photo when the agency allows it.
    caregiver_name: str
    photo_shown: bool


@dataclass(frozen=True)
class InvoiceToPay:
    """An issued invoice still owing, as the Dashboard's table shows it."""

    number: str
    client_id: int
    client_name: str
    due_date: datetime.date
    balance: Decimal

    @property
    def is_overdue(self) -> bool:
        # Invoice.is_overdue for an issued invoice still owing: its due date has passed.
        return self.due_date < timezone.localdate()


@dataclass(frozen=True)
class NextVisit:
    """A client's next visit as a party's table shows it: no model is built for it."""

    start: datetime.datetime
    service: str
    caregiver_id: int | None
    # What a family may see of the caregiver (Caregiver.family_name_shown and
    # family_photo_shown): the first name, and the photo when the agency allows it.
    caregiver_name: str
    photo_shown: bool


@dataclass
class ClientRow:
    """One line of a payer's or community's table: a client, the next visit, what is owed."""

    client: Client
    next_visit: NextVisit | None = None
    owed: Decimal = ZERO


@dataclass
class PartySection:
    """A payer's or community's table: one page of its clients and the total owed."""

    id: str
    title: str
    owed_label: str
    page_param: str
    # Its clients at first, then their rows.
    page: Page[Any]
    rows: list[ClientRow]
    total_owed: Decimal
    # The rows as the table shows them (`_table_body`).
    table_body: SafeString
    previous_query: str = ""
    next_query: str = ""


def _page_query(request: HttpRequest, param: str, number: int) -> str:
    """Return the query string of another page: the search, `?client=` and the other
    section's page are kept."""
    query = request.GET.copy()
    query[param] = str(number)
    return f"?{query.urlencode()}"


def _search_text(request: HttpRequest) -> str:
    """Return the name searched for (`?q=`), trimmed and cut to a sane length."""
    return " ".join(request.GET.get("q", "").split())[:SEARCH_MAX_LENGTH]


def _named(clients: QuerySet[Client], search: str) -> QuerySet[Client]:
    """Keep the clients whose first, last or preferred name contains every word searched."""
    for word in search.split()[:SEARCH_MAX_WORDS]:
        clients = clients.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(preferred_name__icontains=word)
        )
    return clients


class CareSection(TypedDict):
    """What a client or emergency contact sees on the Dashboard."""

    several_clients: bool
    visits: list[UpcomingVisit]
    # The visits' list items and the invoices' table rows (`_visit_items`, `_invoice_rows`).
    visit_items: SafeString
    invoices: list[InvoiceToPay]
    invoice_rows: SafeString
    amount_due: Decimal
    plans: list[ServicePlan]


def _care_section(user: User, client_id: int | None) -> CareSection | None:
    """Return what a client or emergency contact sees, or None if the login is neither.

    The next visits of the clients whose calendar the login sees, the invoices billed to
    the clients whose invoices it sees that still owe (from the stored balance: no line or
    payment is loaded), and the client's own active service plans. The ids are
    `people.access`'s, read once per request with the clients' names.
    """
    rels = access.relationship_ids(user)
    client_ids = list(rels.care_client_ids)
    if client_id is not None:
        client_ids = [pk for pk in client_ids if pk == client_id]
    if not client_ids or not access.is_portal_login(user):
        return None
    names = {client.pk: client for client in rels.care_clients}
    calendar = set(access.calendar_client_ids(user))
    visits = _next_visits(user, [pk for pk in client_ids if pk in calendar], names)
    invoices = _invoices_to_pay(user, [pk for pk in client_ids if pk in rels.care_invoice_ids])
    # Service plans are the client's own: a login that is no client (an emergency
    # contact) is not asked about them.
    plans = _active_plans(user, [pk for pk in client_ids if pk in rels.own_client_ids])
    several = len(client_ids) > 1
    return {
        "several_clients": several,
        "visits": visits,
        "visit_items": _visit_items(visits, several=several),
        "invoices": invoices,
        "invoice_rows": _invoice_rows(invoices, user.agency.currency, several=several),
        "amount_due": sum((i.balance for i in invoices), ZERO),
        "plans": plans,
    }


def _caregiver_photo(caregiver_id: int, name: str, *, shown: bool) -> SafeString | str:
    """Return the caregiver's photo as a family sees it beside the name, or "" when the
    agency does not show it."""
    if not shown:
        return ""
    return format_html(
        '<img class="caregiver-photo" src="{}" alt="{}" width="48" height="48"> ',
        reverse("scheduling:caregiver_photo", args=[caregiver_id]),
        name,
    )


def _visit_items(visits: list[UpcomingVisit], *, several: bool) -> SafeString:
    """Return the next visits as the Dashboard lists them: the day and times in the
    agency's zone, the service (and the client, when the login sees several), and the
    caregiver's first name with the photo when the agency allows it.

    Written here rather than by the template, as `_table_body`: every value is escaped
    as a template would.
    """
    times = VisitTimes()
    items = []
    for visit in visits:
        start, end = timezone.localtime(visit.start), timezone.localtime(visit.end)
        service = conditional_escape(visit.service)
        if several:
            service = format_html("{} {}", service, _("for %(name)s") % {"name": visit.client_name})
        if visit.caregiver_id is None:
            who = conditional_escape(_("Caregiver not yet assigned"))
        else:
            name = visit.caregiver_name
            photo = _caregiver_photo(visit.caregiver_id, name, shown=visit.photo_shown)
            who = format_html("{}{}", photo, _("Caregiver: %(name)s") % {"name": name})
        items.append(
            format_html(
                '<li class="visit">\n      <strong>{}, {}–{}</strong><br>\n      {}<br>\n'
                "      {}\n    </li>",
                times.day(start),
                times.time(start),
                times.time(end),
                service,
                who,
            )
        )
    return mark_safe("\n    ".join(items))  # every value is escaped above


def _invoice_rows(invoices: list[InvoiceToPay], currency: str, *, several: bool) -> SafeString:
    """Return the invoices to pay as the Dashboard's table rows: the number linking to the
    invoice (and the client, when the login sees several), the due date with "Overdue"
    when it has passed, and the amount due. Every value is escaped as a template would."""
    due_label = conditional_escape(_("Due date"))
    amount_label = conditional_escape(_("Amount due"))
    overdue = format_html(' <span class="badge badge-overdue">{}</span>', _("Overdue"))
    rows = []
    for invoice in invoices:
        client = (
            format_html('<br><span class="muted">{}</span>', invoice.client_name) if several else ""
        )
        rows.append(
            format_html(
                '<tr>\n      <td><a href="{}">{}</a>{}</td>\n'
                '      <td data-label="{}">{}{}</td>\n'
                '      <td class="number" data-label="{}">{}</td>\n    </tr>',
                reverse("billing:invoice_detail", args=[invoice.number]),
                invoice.number,
                client,
                due_label,
                shown_day(invoice.due_date),
                overdue if invoice.is_overdue else "",
                amount_label,
                format_money(invoice.balance, currency),
            )
        )
    return mark_safe("\n    ".join(rows))  # every value is escaped above


def _ids(count: int) -> str:
    return ", ".join(["%s"] * count)


@functools.cache
def _next_visits_sql(clients: int) -> str:
    """Return the query of `_next_visits`, written out once per number of clients (as
    people.access's queries: built by the ORM, it cost more than the database takes)."""
    visit = Visit._meta.db_table
    caregiver = Caregiver._meta.db_table
    return (
        'SELECT v.id, v.client_id, v.caregiver_id, v.service, v.start, v."end", '  # noqa: S608 - names from the models
        f"g.first_name, g.photo, g.show_photo_to_families FROM {visit} v "
        f"LEFT JOIN {caregiver} g ON g.id = v.caregiver_id "
        f"WHERE v.agency_id = %s AND v.client_id IN ({_ids(clients)}) "
        'AND v."end" >= %s AND v.status IN (%s, %s) ORDER BY v.start, v.id LIMIT %s'
    )


def _next_visits(
    user: PortalLogin, client_ids: list[int], names: dict[int, Client]
) -> list[UpcomingVisit]:
    """Return the next visits of these clients (on the index of upcoming visits), with
    their clients' names (from `names`) and what a family may see of the caregivers."""
    if not client_ids:
        return []
    params: list[Any] = [user.agency_id, *client_ids, timezone.now(), *UPCOMING]
    params.append(NEXT_VISITS_SHOWN)
    with connection.cursor() as cursor:
        cursor.execute(_next_visits_sql(len(client_ids)), params)
        rows = cursor.fetchall()
    return [
        UpcomingVisit(
            client_id=client,
            client_name=names[client].display_name,
            start=_as_moment(start),
            end=_as_moment(end),
            service=service,
            caregiver_id=caregiver_id,
            caregiver_name=first or "",
            photo_shown=bool(shown) and bool(photo),
        )
        for _pk, client, caregiver_id, service, start, end, first, photo, shown in rows
    ]


@functools.cache
def _invoices_to_pay_sql(clients: int) -> str:
    """Return the query of `_invoices_to_pay`, written out once per number of clients."""
    invoice = Invoice._meta.db_table
    client = Client._meta.db_table
    return (
        "SELECT i.id, i.number, i.due_date, i.balance, "  # noqa: S608 - names from the models
        f"c.id, c.first_name, c.last_name, c.preferred_name FROM {invoice} i "
        f"JOIN {client} c ON c.id = i.client_id "
        f"WHERE i.agency_id = %s AND i.bill_to_client_id IN ({_ids(clients)}) "
        "AND i.status = %s AND i.balance > 0 ORDER BY i.issue_date DESC, i.id DESC"
    )


def _invoices_to_pay(user: PortalLogin, client_ids: list[int]) -> list[InvoiceToPay]:
    """Return the issued invoices billed to these clients that still owe, newest first,
    with the names of the clients who had the care: what the Dashboard's table shows."""
    if not client_ids:
        return []
    params: list[Any] = [user.agency_id, *client_ids, InvoiceStatus.ISSUED]
    with connection.cursor() as cursor:
        cursor.execute(_invoices_to_pay_sql(len(client_ids)), params)
        rows = cursor.fetchall()
    return [
        InvoiceToPay(
            number=number,
            client_id=client_id,
            client_name=display_name(first, last, preferred),
            due_date=_as_day(due),
            balance=_as_money(balance),
        )
        for _pk, number, due, balance, client_id, first, last, preferred in rows
    ]


@functools.cache
def _active_plans_sql(clients: int) -> str:
    """Return the query of `_active_plans`, written out once per number of clients."""
    plan = ServicePlan._meta.db_table
    return (
        "SELECT p.id, p.client_id, p.title, p.start_date, p.end_date "  # noqa: S608 - names from the models
        f"FROM {plan} p WHERE p.agency_id = %s AND p.client_id IN ({_ids(clients)}) "
        "AND p.status = %s ORDER BY p.start_date DESC, p.id"
    )


def _active_plans(user: PortalLogin, client_ids: list[int]) -> list[ServicePlan]:
    """Return these clients' active service plans, newest first: titles and dates."""
    if not client_ids:
        return []
    params: list[Any] = [user.agency_id, *client_ids, PlanStatus.ACTIVE]
    with connection.cursor() as cursor:
        cursor.execute(_active_plans_sql(len(client_ids)), params)
        rows = cursor.fetchall()
    return [
        ServicePlan(
            id=pk,
            agency_id=user.agency_id,
            client_id=client,
            title=title,
            start_date=_as_day(start),
            end_date=_as_day(end) if end is not None else None,
        )
        for pk, client, title, start, end in rows
    ]


class VisitTimes:
    """Write visits' days and times as the `date` and `time` filters do (the current time
    zone is the agency's), each distinct day and time formatted once: a page's visits
    share a few of each."""

    def __init__(self) -> None:
        self.day_format = _("l, F j")
        self.days: dict[datetime.date, str] = {}
        self.times: dict[tuple[int, int], str] = {}

    def day(self, local: datetime.datetime) -> str:
        """Return the day of a local time, "Monday, March 2" (capitalised: it starts a line,
        and Spanish writes "martes 3 de marzo")."""
        day = local.date()
        if day not in self.days:
            self.days[day] = capfirst(formats.date_format(local, self.day_format))
        return self.days[day]

    def time(self, local: datetime.datetime) -> str:
        """Return the time of a local time, "10:30 a.m."."""
        minute = (local.hour, local.minute)
        if minute not in self.times:
            self.times[minute] = formats.time_format(local, "TIME_FORMAT")
        return self.times[minute]


def _table_body(rows: list[ClientRow], owed_label: str, currency: str) -> SafeString:
    """Return a party's table rows: the client's name; the next visit, its day and time in
    the agency's zone (as the `date` and `time` filters write them, each distinct day and
    time formatted once), service, and the caregiver's first name with the photo when the
    agency allows it; and what the client owes the party.

    Written here rather than by the template: the page's twenty-five rows of a dozen tags
    each cost more than the rest of the page. Every value is escaped as a template would.
    """
    none_planned = format_html('<span class="muted">{}</span>', _("None planned"))
    next_label = conditional_escape(_("Next visit"))
    owed_shown = conditional_escape(owed_label)
    times = VisitTimes()
    html = []
    for row in rows:
        visit = row.next_visit
        next_visit: SafeString = none_planned
        if visit is not None:
            start = timezone.localtime(visit.start)
            shown: SafeString | str = ""
            if visit.caregiver_id is not None:
                name = visit.caregiver_name
                photo = _caregiver_photo(visit.caregiver_id, name, shown=visit.photo_shown)
                shown = format_html(" · {}{}", photo, name)
            next_visit = format_html(
                '{}, {}<br><span class="muted">{}{}</span>',
                times.day(start),
                times.time(start),
                visit.service,
                shown,
            )
        html.append(
            f'<tr>\n      <th scope="row">{conditional_escape(row.client.display_name)}</th>\n'
            f'      <td data-label="{next_label}">{next_visit}</td>\n'
            f'      <td class="number" data-label="{owed_shown}">'
            f"{conditional_escape(format_money(row.owed, currency))}</td>\n    </tr>"
        )
    return mark_safe("\n    ".join(html))  # every value is escaped above


class KnownCountPaginator(_ClientPaginator):
    """A paginator told its count, known without a query."""

    def __init__(
        self,
        object_list: QuerySet[Client] | ListedClients | list[Client],
        per_page: int,
        *,
        count: int,
    ) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _party_clients(
    user: PortalLogin,
    links: LinkQuerySet[_Link],
    in_force_ids: tuple[int, ...],
    billed_ids: tuple[int, ...],
    client_id: int | None,
) -> tuple[QuerySet[Client], int]:
    """Return the clients a payer or community lists, and how many they are: linked today
    (not discharged), and those whose link has ended while an issued invoice for their
    care is still billed to it.

    `in_force_ids` and `billed_ids` are `people.access`'s (`linked_client_ids`, the
    agency's today), read in one query: the clients of its links in force, and those
    whose links have ended while an issued invoice is still billed to it (an invoice is
    billed to a payer or community only for a client it is or was linked to:
    billing.services.bill_to_problem). The listed clients query names the first by a
    subquery on the link table, not as thousands of numbers, and the few others by id.
    Narrowed to one client linked today, that client alone; `client_id` narrows the list
    and its count.
    """
    if client_id is not None and client_id in in_force_ids:
        return Client.objects.filter(agency_id=user.agency_id, pk=client_id), 1
    day = timezone.localdate(timezone=user.agency.tz)
    in_force = links.active(day).values("client_id")
    still_billed = set(billed_ids) if client_id is None else {client_id} & set(billed_ids)
    if client_id is not None:
        # Not linked today: listed only while still billed for (`billed` is narrowed too).
        narrowed = Client.objects.filter(agency_id=user.agency_id, pk__in=still_billed)
        return narrowed, len(still_billed)
    clients = Client.objects.filter(agency_id=user.agency_id).filter(
        (Q(pk__in=in_force) & ~Q(status=ClientStatus.DISCHARGED)) | Q(pk__in=sorted(still_billed))
    )
    return clients, len(set(in_force_ids) | still_billed)


@functools.cache
def _listed_sql(table: str, column: str, parties: int, billed: int) -> str:
    """Return the query of `ListedClients`: a page of a party's clients by name, those of
    its links in force (not discharged) and the `billed` others, as `_party_clients`
    names them. Written out once per shape: the ORM's building of it cost more than the
    database takes to answer it (from the index on agency and name, stopping at the page).
    """
    client = Client._meta.db_table
    gone = ClientStatus.DISCHARGED.value
    party_ids = ", ".join(["%s"] * parties)
    others = f" OR c.id IN ({', '.join(['%s'] * billed)})" if billed else ""
    return (
        f"SELECT c.id, c.first_name, c.last_name, c.preferred_name FROM {client} c "  # noqa: S608 - names from the models
        f"WHERE c.agency_id = %s AND ((c.status <> '{gone}' AND c.id IN (SELECT l.client_id "
        f"FROM {table} l WHERE l.agency_id = %s AND l.{column} IN ({party_ids}) "
        "AND l.start_date <= %s AND (l.end_date IS NULL OR l.end_date >= %s))"
        f"){others}) ORDER BY c.last_name, c.first_name, c.id LIMIT %s OFFSET %s"
    )


class ListedClients:
    """All of a party's clients as its Dashboard pages them (`_party_clients`, not narrowed
    by a search or a client): the paginator's slice of them is read by one query
    (`_listed_sql`), their count is known (`people.access`)."""

    ordered = True
    _fields = ("id", "agency_id", "first_name", "last_name", "preferred_name")

    def __init__(
        self,
        user: PortalLogin,
        links: LinkQuerySet[_Link],
        party_ids: list[int],
        billed_ids: tuple[int, ...],
        count: int,
    ) -> None:
        self.user, self.party_ids, self.billed_ids, self.count = user, party_ids, billed_ids, count
        self.table = links.model._meta.db_table
        self.column = "payer_id" if links.model is ClientPayer else "community_id"

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Client]:
        return iter(self[0 : self.count])

    @overload
    def __getitem__(self, index: int) -> Client: ...

    @overload
    def __getitem__(self, index: slice) -> list[Client]: ...

    def __getitem__(self, index: int | slice) -> Client | list[Client]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop
        day = connection.ops.adapt_datefield_value(timezone.localdate(timezone=self.user.agency.tz))
        agency = self.user.agency_id
        sql = _listed_sql(self.table, self.column, len(self.party_ids), len(self.billed_ids))
        params = [agency, agency, *self.party_ids, day, day, *self.billed_ids]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, stop - start, start])
            rows = cursor.fetchall()
        return [
            Client.from_db(connection.alias, self._fields, [pk, agency, first, last, preferred])
            for pk, first, last, preferred in rows
        ]


@functools.cache
def _page_facts_sql(column: str, parties: int, clients: int, visible: int, total: bool) -> str:
    """Return the query of `_page_facts`: for each client of a page, what it owes the party
    (issued invoices still owing) and its next visit with the caregiver; with `total`,
    what the party owes in all (its stored totals) on every row.

    Written out once per shape, like people.access's queries: built by the ORM, the sum and
    the next visit's subquery cost several times what the database takes to answer them.
    The sum reads the party's index of owing invoices, the next visit the index of upcoming
    visits on (agency, client, start), and only for the `visible` clients (people.access's
    calendar: a client whose link has ended shows none).
    """
    invoice = Invoice._meta.db_table
    totals = InvoiceTotals._meta.db_table
    client = Client._meta.db_table
    visit = Visit._meta.db_table
    caregiver = Caregiver._meta.db_table
    party_ids = ", ".join(["%s"] * parties)
    grand = (
        f"(SELECT SUM(t.due) FROM {totals} t "  # noqa: S608 - names from the models
        f"WHERE t.agency_id = %s AND t.{column} IN ({party_ids}))"
        if total
        else "NULL"
    )
    # The visible clients are named outside the subquery, so that it reads one client's
    # upcoming visits in the index's order and stops at the first.
    next_visit = (
        f"c.id IN ({', '.join(['%s'] * visible)}) AND v.id = (SELECT u.id FROM {visit} u "  # noqa: S608
        "WHERE u.agency_id = %s AND u.client_id = c.id "
        'AND u."end" >= %s AND u.status IN (%s, %s) ORDER BY u.start LIMIT 1)'
        if visible
        else "v.id IS NULL"
    )
    return (
        f"SELECT c.id, (SELECT SUM(i.balance) FROM {invoice} i "  # noqa: S608 - names from the models
        f"WHERE i.agency_id = %s AND i.{column} IN ({party_ids}) AND i.status = %s "
        "AND i.balance > 0 AND i.client_id = c.id), "
        "v.id, v.caregiver_id, v.service, v.start, g.first_name, g.photo, "
        f"g.show_photo_to_families, {grand} FROM {client} c "
        f"LEFT JOIN {visit} v ON {next_visit} "
        f"LEFT JOIN {caregiver} g ON g.id = v.caregiver_id "
        f"WHERE c.agency_id = %s AND c.id IN ({', '.join(['%s'] * clients)})"
    )


def _as_money(amount: Any) -> Decimal:
    # SQLite answers a float: money is shown to the cent, as the ORM converts it.
    return to_cents(Decimal(str(amount))) if amount is not None else ZERO


def _as_day(value: Any) -> datetime.date:
    # PostgreSQL answers a date; SQLite a date, or its text.
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def _as_moment(value: Any) -> datetime.datetime:
    # PostgreSQL answers an aware datetime; SQLite its text, or a naive one, in UTC.
    moment = value if isinstance(value, datetime.datetime) else parse_datetime(str(value))
    if moment is None:
        raise ValueError(f"not a date and time: {value!r}")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=datetime.UTC)


@dataclass
class PageFacts:
    """What a page of a party's clients shows beside their names, read in one query."""

    owed: dict[int, Decimal]
    next_visits: dict[int, NextVisit]
    total_owed: Decimal


def _page_facts(
    user: PortalLogin, column: str, party_ids: list[int], page_ids: list[int], *, total: bool
) -> PageFacts:
    """Return what each client of the page owes the party, its next visit when the login
    may see its calendar, and (with `total`) what the party owes in all: one query."""
    facts = PageFacts(owed={}, next_visits={}, total_owed=ZERO)
    if not page_ids:
        return facts
    calendar = set(access.calendar_client_ids(user))
    visible = [pk for pk in page_ids if pk in calendar]
    params: list[Any] = [user.agency_id, *party_ids, InvoiceStatus.ISSUED]
    if total:
        params += [user.agency_id, *party_ids]
    if visible:
        params += [*visible, user.agency_id, timezone.now(), *UPCOMING]
    params += [user.agency_id, *page_ids]
    sql = _page_facts_sql(column, len(party_ids), len(page_ids), len(visible), total)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for client_id, owed, visit_id, caregiver_id, service, start, first, photo, shown, grand in rows:
        facts.total_owed = _as_money(grand)
        if owed is not None:
            facts.owed[client_id] = _as_money(owed)
        if visit_id is None:
            continue
        visit = NextVisit(
            start=_as_moment(start),
            service=service,
            caregiver_id=caregiver_id,
            caregiver_name=first or "",
            photo_shown=bool(shown) and bool(photo),
        )
        facts.next_visits[client_id] = visit
    return facts


def _total_owed(billed: InvoiceQuerySet, page: Page[Any], rows: list[ClientRow]) -> Decimal:
    """Return what the party owes for a search or one client: what the rows owe when they
    are all on this page, else the sum over the invoices."""
    if not page.has_other_pages():
        return sum((row.owed for row in rows), ZERO)
    # Only invoices still owing count, so the partial index of those serves the sum.
    owed: Decimal = billed.filter(balance__gt=0).aggregate(owed=OWED)["owed"]
    return owed


def _party_section(
    request: AuthenticatedHttpRequest,
    *,
    links: LinkQuerySet[_Link],
    in_force_ids: tuple[int, ...],
    billed_ids: tuple[int, ...],
    party_column: str,
    selected: Client | None,
    search: str,
    section_id: str,
    title: str,
    owed_label: str,
    page_param: str,
) -> PartySection | None:
    """Return one page of a payer's or community's clients, with what it owes for each.

    Only invoices billed to the payer or community count, never the client's own balance.
    The database pages the clients (25, by name), sums what is owed for the page's
    clients, reads the grand total from the party's stored totals (summed over the
    invoices for a search or one client), and finds the next visit of the page's clients
    alone, so the number of queries and rows is the same for 3 clients or 2,000. None
    when the party has no client at all (and nothing is searched).
    """
    user = portal_login(request)
    client_id = selected.pk if selected is not None else None
    # The login's own payers or communities, as people.access grants their invoices
    # (`billed_parties`, the ids of Invoice.objects.visible_to); filtered plainly, on the
    # index that leads with agency and party and carries status, client, balance and total.
    party_ids = list(access.billed_parties(user)[party_column])
    billed = Invoice.objects.filter(
        **{f"{party_column}__in": party_ids},
        agency_id=user.agency_id,
        status=InvoiceStatus.ISSUED,
    ).order_by()
    if client_id is not None:
        billed = billed.filter(client_id=client_id)
    paginator: Paginator[Client]
    if selected is not None and client_id in in_force_ids and not search:
        # The client the page is narrowed to, linked today: as read by the narrowing.
        paginator = KnownCountPaginator([selected], CLIENTS_PER_PAGE, count=1)
    elif client_id is None and not search:
        count = len(set(in_force_ids) | set(billed_ids))
        everyone = ListedClients(user, links, party_ids, tuple(sorted(billed_ids)), count)
        paginator = KnownCountPaginator(everyone, CLIENTS_PER_PAGE, count=count)
    else:
        listed, count = _party_clients(user, links, in_force_ids, billed_ids, client_id)
        if search:
            listed = _named(listed, search)
            billed = billed.filter(client_id__in=listed.values("pk"))
        listed = listed.only("pk", "agency_id", "first_name", "last_name", "preferred_name")
        ordered = listed.order_by("last_name", "first_name", "pk")
        if not search:
            paginator = KnownCountPaginator(ordered, CLIENTS_PER_PAGE, count=count)
        else:
            paginator = Paginator(ordered, CLIENTS_PER_PAGE)
    # Its clients, then (below) their rows.
    page: Page[Any] = paginator.get_page(request.GET.get(page_param))
    if paginator.count == 0 and not search:
        return None
    clients = list(page.object_list)
    page_ids = [client.pk for client in clients]
    # What the page's clients owe, their next visits and (all clients listed) the party's
    # stored total, in one query.
    narrowed = bool(client_id or search)
    facts = _page_facts(user, f"{party_column}_id", party_ids, page_ids, total=not narrowed)
    rows = [
        ClientRow(client=c, next_visit=facts.next_visits.get(c.pk), owed=facts.owed.get(c.pk, ZERO))
        for c in clients
    ]
    page.object_list = rows
    return PartySection(
        id=section_id,
        title=title,
        owed_label=owed_label,
        page_param=page_param,
        page=page,
        rows=rows,
        table_body=_table_body(rows, owed_label, user.agency.currency),
        total_owed=_total_owed(billed, page, rows) if narrowed else facts.total_owed,
        previous_query=(
            _page_query(request, page_param, page.previous_page_number())
            if page.has_previous()
            else ""
        ),
        next_query=(
            _page_query(request, page_param, page.next_page_number()) if page.has_next() else ""
        ),
    )


@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = portal_login(request)
    # The login's payers and communities, as the frame has read them already.
    relationships = access.relationship_ids(user)
    # Its clients linked today, and those still billed to it after their links: one query,
    # read first, so that the check of `?client=` finds the clients linked today in it.
    linked = access.linked_client_ids(user, billed=True)
    selected = selected_client(request)
    client_id = selected.pk if selected is not None else None
    search = _search_text(request)
    party_sections = []
    payer_ids = list(relationships.payer_ids)
    if payer_ids:
        section = _party_section(
            request,
            links=ClientPayer.objects.filter(agency_id=user.agency_id, payer_id__in=payer_ids),
            in_force_ids=linked.as_payer,
            billed_ids=linked.billed_as_payer,
            party_column="bill_to_payer",
            selected=selected,
            search=search,
            section_id="as-payer",
            title=_("Clients you pay for"),
            owed_label=_("You owe"),
            page_param="payer_page",
        )
        if section is not None:
            party_sections.append(section)
    community_ids = list(relationships.community_ids)
    if community_ids:
        section = _party_section(
            request,
            links=Residence.objects.filter(
                agency_id=user.agency_id, community_id__in=community_ids
            ),
            in_force_ids=linked.as_community,
            billed_ids=linked.billed_as_community,
            party_column="bill_to_community",
            selected=selected,
            search=search,
            section_id="as-community",
            title=_("Your residents"),
            owed_label=_("Your community owes"),
            page_param="community_page",
        )
        if section is not None:
            party_sections.append(section)
    care = _care_section(user, client_id)
    # The Dashboard shows visits, invoices and a plan's title: recorded like those pages,
    # with the clients actually shown (one page of a payer's or community's clients).
    shown = {visit.client_id for visit in care["visits"]} if care else set()
    for section in party_sections:
        shown |= {row.client.pk for row in section.rows}
    # Each client whose visits or invoices the page shows: their My privacy lists the view.
    seen = shown | {invoice.client_id for invoice in care["invoices"]} if care else shown
    record_for_clients(
        Action.DASHBOARD_VIEWED,
        client_ids=[selected.pk] if selected is not None else sorted(seen),
        request=request,
        clients=sorted(shown),
    )
    context = {"care": care, "party_sections": party_sections, "search": search}
    return render(request, "portal/dashboard.html", context)
