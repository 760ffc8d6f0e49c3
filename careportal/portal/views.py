"""Portal pages shared by every role: the Dashboard."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
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
from careportal.people.models import Client, ClientPayer, ClientStatus, LinkQuerySet, Residence
from careportal.portal.middleware import portal_login
from careportal.portal.narrowing import selected_client, selected_client_id
from careportal.scheduling.models import Visit, VisitStatus

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
# What a party owes for a set of invoices: no invoice counts below zero (an overpayment on
# one invoice does not lower what another owes).
OWED = Coalesce(Sum("balance", filter=Q(balance__gt=0)), Value(ZERO))
# What the Dashboard shows of a client's name, a visit and an invoice.
CLIENT_NAME = ("first_name", "last_name", "preferred_name")
VISIT_SHOWN = (
    "client_id",
    "caregiver_id",
    "service",
    "start",
    "end",
    *(f"client__{name}" for name in CLIENT_NAME),
    "caregiver__first_name",
    "caregiver__photo",
    "caregiver__show_photo_to_families",
)
NEXT_VISIT_SHOWN = (
    "client_id",
    "caregiver_id",
    "service",
    "start",
    "caregiver__first_name",
    "caregiver__photo",
    "caregiver__show_photo_to_families",
)
INVOICE_SHOWN = (
    "number",
    "client_id",
    "due_date",
    "status",
    "balance",
    *(f"client__{name}" for name in CLIENT_NAME),
)


@dataclass
class ClientRow:
    """One line of a payer's or community's table: a client, the next visit, what is owed."""

    client: Client
    next_visit: Visit | None = None
    owed: Decimal = ZERO
    # The "Next visit" cell, written by `_write_next_visits`.
    next_visit_shown: SafeString | str = ""


@dataclass
class PartySection:
    """A payer's or community's table: one page of its clients and the total owed."""

    id: str
    title: str
    owed_label: str
    page_param: str
    # Its clients at first, then their rows (what the template lists).
    page: Page[Any]
    rows: list[ClientRow]
    total_owed: Decimal
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
    visits: list[Visit]
    invoices: list[Invoice]
    amount_due: Decimal
    plans: list[ServicePlan]


def _care_section(user: User, client_id: int | None) -> CareSection | None:
    """Return what a client or emergency contact sees, or None if the login is neither.

    The next visits, the invoices billed to those clients that still owe (from the stored
    balance: no line or payment is loaded), and the client's own active service plans.
    """
    # The login's own client and its contacts' clients, already read for the frame.
    client_ids = list(access.relationship_ids(user).care_client_ids)
    if client_id is not None:
        client_ids = [pk for pk in client_ids if pk == client_id]
    if not client_ids:
        return None
    now = timezone.now()
    visits = list(
        Visit.objects.visible_to(user)
        .filter(client_id__in=client_ids, end__gte=now, status__in=UPCOMING)
        # What the list shows, and no other column of the visit, client or caregiver.
        .only(*VISIT_SHOWN)
        .order_by("start")[:NEXT_VISITS_SHOWN]
    )
    invoices = list(
        Invoice.objects.visible_to(user)
        # The table shows the number, due date, balance and client: no other join to plan.
        .select_related(None)
        .select_related("client")
        .prefetch_related(None)
        .only(*INVOICE_SHOWN)
        .filter(bill_to_client_id__in=client_ids, status=InvoiceStatus.ISSUED, balance__gt=0)
    )
    # Service plans are the client's own: visible_to returns nothing for anyone else, so
    # a login that is no client (an emergency contact) is not asked about them.
    own = [pk for pk in client_ids if pk in access.relationship_ids(user).own_client_ids]
    plans = (
        list(
            ServicePlan.objects.visible_to(user)
            .prefetch_related(None)
            .only("client_id", "title", "start_date", "end_date")
            .filter(status=PlanStatus.ACTIVE, client_id__in=own)
        )
        if own
        else []
    )
    times = VisitTimes()
    for visit in visits:
        start, end = timezone.localtime(visit.start), timezone.localtime(visit.end)
        visit.day_shown = times.day(start)
        visit.start_shown, visit.end_shown = times.time(start), times.time(end)
    return {
        "several_clients": len(client_ids) > 1,
        "visits": visits,
        "invoices": invoices,
        "amount_due": sum((i.balance for i in invoices), ZERO),
        "plans": plans,
    }


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


def _write_next_visits(rows: list[ClientRow]) -> None:
    """Write each row's "Next visit" cell: the day and time in the agency's zone (as the
    `date` and `time` filters write them, each distinct day and time formatted once), the
    service, and the caregiver's first name with the photo when the agency allows it.

    Written here rather than by the template: the page's twenty-five rows of a dozen tags
    each cost more than the rest of the table. Every value is escaped as a template would.
    """
    none_planned = format_html('<span class="muted">{}</span>', _("None planned"))
    times = VisitTimes()
    for row in rows:
        visit = row.next_visit
        if visit is None:
            row.next_visit_shown = none_planned
            continue
        start = timezone.localtime(visit.start)
        caregiver = visit.caregiver
        shown: SafeString | str = ""
        if caregiver is not None:
            name = caregiver.family_name_shown
            photo = (
                format_html(
                    '<img class="caregiver-photo" src="{}" alt="{}" width="48" height="48"> ',
                    reverse("scheduling:caregiver_photo", args=[caregiver.pk]),
                    name,
                )
                if caregiver.family_photo_shown
                else ""
            )
            shown = format_html(" · {}{}", photo, name)
        row.next_visit_shown = format_html(
            '{}, {}<br><span class="muted">{}{}</span>',
            times.day(start),
            times.time(start),
            visit.service,
            shown,
        )


class KnownCountPaginator(_ClientPaginator):
    """A paginator told its count, known without a query."""

    def __init__(self, object_list: QuerySet[Client], per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _party_clients(
    user: PortalLogin,
    links: LinkQuerySet[_Link],
    billed: InvoiceQuerySet,
    in_force_ids: tuple[int, ...],
    client_id: int | None,
) -> tuple[QuerySet[Client], int]:
    """Return the clients a payer or community lists, and how many they are: linked today
    (not discharged), and those whose link has ended while an issued invoice for their
    care is still billed to it.

    `in_force_ids` are the clients of its links in force from `people.access` (the
    agency's today), which the page's frame has read already. The listed clients query
    names them by a subquery on the link table, not as thousands of numbers; the few whose
    link has ended are looked up once, among the ended links alone (an invoice is billed
    to a payer or community only for a client it is or was linked to:
    billing.services.bill_to_problem), and named by id. Narrowed to one client linked
    today, that client alone, with no lookup; `client_id` narrows the list and its count.
    """
    if client_id is not None and client_id in in_force_ids:
        return Client.objects.filter(agency_id=user.agency_id, pk=client_id), 1
    day = timezone.localdate(timezone=user.agency.tz)
    in_force = links.active(day).values("client_id")
    still_billed = set(
        links.filter(Q(start_date__gt=day) | Q(end_date__lt=day))
        .exclude(client_id__in=in_force)
        .filter(Exists(billed.filter(client_id=OuterRef("client_id"))))
        .values_list("client_id", flat=True)
    )
    if client_id is not None:
        # Not linked today: listed only while still billed for (`billed` is narrowed too).
        narrowed = Client.objects.filter(agency_id=user.agency_id, pk__in=still_billed)
        return narrowed, len(still_billed)
    clients = Client.objects.filter(agency_id=user.agency_id).filter(
        (Q(pk__in=in_force) & ~Q(status=ClientStatus.DISCHARGED)) | Q(pk__in=sorted(still_billed))
    )
    return clients, len(set(in_force_ids) | still_billed)


@functools.cache
def _owed_sql(column: str, parties: int, clients: int, total: bool) -> str:
    """Return the query of `_owed`: (client id, owed) for each client of a page that owes
    the party something, then (NULL, what the party owes in all) from its stored totals.

    Written out once per shape, like people.access's queries: built by the ORM, this sum
    cost more to compose than the database takes to answer it. The first part reads the
    party's index of owing invoices, the second one stored row per party.
    """
    invoice = Invoice._meta.db_table
    totals = InvoiceTotals._meta.db_table
    party_ids = ", ".join(["%s"] * parties)
    parts = []
    if clients:
        client_ids = ", ".join(["%s"] * clients)
        parts.append(
            f"SELECT i.client_id, SUM(i.balance) FROM {invoice} i "  # noqa: S608 - names from the models
            f"WHERE i.agency_id = %s AND i.{column} IN ({party_ids}) AND i.status = %s "
            f"AND i.balance > 0 AND i.client_id IN ({client_ids}) GROUP BY i.client_id"
        )
    if total:
        parts.append(
            f"SELECT NULL, SUM(t.due) FROM {totals} t "  # noqa: S608 - names from the models
            f"WHERE t.agency_id = %s AND t.{column} IN ({party_ids})"
        )
    return " UNION ALL ".join(parts)


def _owed(
    user: PortalLogin, column: str, party_ids: list[int], client_ids: list[int], *, total: bool
) -> tuple[dict[int, Decimal], Decimal]:
    """Return what each of these clients owes the party (issued invoices still owing), and,
    with `total`, what the party owes in all (its stored totals): one query."""
    if not client_ids and not total:
        return {}, ZERO
    params: list[int | str] = []
    if client_ids:
        params += [user.agency_id, *party_ids, InvoiceStatus.ISSUED, *client_ids]
    if total:
        params += [user.agency_id, *party_ids]
    owed: dict[int, Decimal] = {}
    grand = ZERO
    with connection.cursor() as cursor:
        cursor.execute(_owed_sql(column, len(party_ids), len(client_ids), total), params)
        for client_id, amount in cursor.fetchall():
            # SQLite answers a float: money is shown to the cent, as the ORM converts it.
            amount = to_cents(Decimal(str(amount))) if amount is not None else ZERO
            if client_id is None:
                grand = amount
            else:
                owed[client_id] = amount
    return owed, grand


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
    party_column: str,
    client_id: int | None,
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
    listed, count = _party_clients(user, links, billed, in_force_ids, client_id)
    if search:
        listed = _named(listed, search)
        billed = billed.filter(client_id__in=listed.values("pk"))
    listed = listed.only("pk", "agency_id", "first_name", "last_name", "preferred_name")
    ordered = listed.order_by("last_name", "first_name", "pk")
    if not search:
        paginator: Paginator[Client] = KnownCountPaginator(ordered, CLIENTS_PER_PAGE, count=count)
    else:
        paginator = Paginator(ordered, CLIENTS_PER_PAGE)
    # Its clients, then (below) their rows.
    page: Page[Any] = paginator.get_page(request.GET.get(page_param))
    if paginator.count == 0 and not search:
        return None
    clients = list(page.object_list)
    page_ids = [client.pk for client in clients]
    # What the page's clients owe, and (all clients listed) the party's stored total.
    narrowed = bool(client_id or search)
    owed, total_owed = _owed(user, f"{party_column}_id", party_ids, page_ids, total=not narrowed)
    # The next visit of each client of the page, on the (agency, client, start) index; then
    # only those the login may see (a client whose link has ended shows none).
    next_visit = (
        Visit.objects.filter(
            agency_id=user.agency_id,
            client=OuterRef("pk"),
            end__gte=timezone.now(),
            status__in=UPCOMING,
        )
        .order_by("start")
        .values("pk")[:1]
    )
    first_visits = Client.objects.filter(pk__in=page_ids).annotate(visit_id=Subquery(next_visit))
    found = (
        Visit.objects.visible_to(user, among=page_ids)
        .filter(pk__in=first_visits.values("visit_id"))
        # The row shows the visit's day, time, service and caregiver: its client is the row's.
        .select_related(None)
        .select_related("caregiver")
        .only(*NEXT_VISIT_SHOWN)
    )
    visits = {visit.client_id: visit for visit in found}
    rows = [
        ClientRow(client=c, next_visit=visits.get(c.pk), owed=owed.get(c.pk, ZERO)) for c in clients
    ]
    _write_next_visits(rows)
    page.object_list = rows
    return PartySection(
        id=section_id,
        title=title,
        owed_label=owed_label,
        page_param=page_param,
        page=page,
        rows=rows,
        total_owed=_total_owed(billed, page, rows) if narrowed else total_owed,
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
    client_id = selected_client_id(request)
    search = _search_text(request)
    party_sections = []
    # The login's payers and communities, as the frame has read them already.
    relationships = access.relationship_ids(user)
    payer_ids = list(relationships.payer_ids)
    if payer_ids:
        section = _party_section(
            request,
            links=ClientPayer.objects.filter(agency_id=user.agency_id, payer_id__in=payer_ids),
            in_force_ids=access.linked_client_ids(user).as_payer,
            party_column="bill_to_payer",
            client_id=client_id,
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
            in_force_ids=access.linked_client_ids(user).as_community,
            party_column="bill_to_community",
            client_id=client_id,
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
    selected = selected_client(request)
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
