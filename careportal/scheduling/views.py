"""Calendar pages: month, week and list views, the private iCalendar feed, caregiver photos."""

from __future__ import annotations

import datetime
import mimetypes
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.db.models import F, Lookup
from django.db.models.lookups import In
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from careportal.audit.actions import Action
from careportal.audit.events import record_for_clients
from careportal.people import access
from careportal.people.models import Client
from careportal.portal.narrowing import selected_client
from careportal.scheduling import ics, services
from careportal.scheduling.calendar import VIEWS, Period, VisitMarkup, days_of
from careportal.scheduling.models import CalendarFeed, Caregiver, Visit

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType
    from django_stubs_ext import StrOrPromise

    from careportal.accounts.http import AuthenticatedHttpRequest
    from careportal.agencies.models import Agency
    from careportal.people.access import PortalLogin

CLIENT_NAME_FIELDS = ("pk", "agency_id", "first_name", "last_name", "preferred_name")
# A login with more clients than this sees them a page at a time on the calendar.
CLIENTS_PER_PAGE = 10
# What a calendar page shows of a visit (with the caregiver's first name).
VISIT_FIELDS = ("client_id", "service", "start", "end", "status", "caregiver__first_name")
VISIT_CLIENT_FIELDS = ("client__first_name", "client__last_name")
# The most visits one calendar page lays out (keeps the page small and quick).
VISITS_SHOWN = 350


class AmongIds(Lookup):
    """Keep the rows whose column is in a long list of ids: `= ANY(array)` on PostgreSQL.

    One array parameter instead of thousands of literals: building, sending and planning
    a payer's two thousand ids cost several times the query itself. Elsewhere, `IN (...)`.
    """

    lookup_name = "among_ids"
    prepare_rhs = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[str | int]]:
        lhs, params = self.process_lhs(compiler, connection)
        # Written as one array literal: cheaper than adapting each id in turn.
        ids = ",".join(map(str, map(int, self.rhs)))
        return f"{lhs} = ANY(%s::bigint[])", [*params, f"{{{ids}}}"]


def _require_portal_login(request: AuthenticatedHttpRequest) -> PortalLogin:
    """Return the request's portal login; 404 for any other login."""
    # Staff and operators have no calendar of their own; the back office is theirs.
    if not access.is_portal_login(request.user):
        raise Http404
    return request.user


def _requested_day(raw: str, today: datetime.date) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        return today
    # Far-off years would overflow date arithmetic; nobody has visits there anyway.
    return day if 1900 <= day.year <= 2200 else today


@dataclass(frozen=True)
class ClientPage:
    """One page of a login's clients on the calendar, by name: which, and where the rest are."""

    clients: list[Client]
    number: int
    count: int
    first: int
    last: int
    has_previous: bool
    has_next: bool


def _client_page(request: HttpRequest, user: PortalLogin, client_ids: list[int]) -> ClientPage:
    """Return the page of clients asked by `?clients_page=` (the first for a bad value)."""
    pages = max(1, -(-len(client_ids) // CLIENTS_PER_PAGE))
    raw = request.GET.get("clients_page", "1")
    number = int(raw) if raw.isdigit() and len(raw) < 6 else 1
    number = min(max(number, 1), pages)
    offset = (number - 1) * CLIENTS_PER_PAGE
    # `client_ids` are the login's clients as people.access answers them (what
    # Client.objects.visible_to filters by), given to the database as one list.
    clients = list(
        Client.objects.filter(AmongIds(F("pk"), client_ids), agency_id=user.agency_id)
        .only(*CLIENT_NAME_FIELDS)
        .order_by("last_name", "first_name", "pk")[offset : offset + CLIENTS_PER_PAGE]
    )
    return ClientPage(
        clients=clients,
        number=number,
        count=len(client_ids),
        first=offset + 1,
        last=offset + len(clients),
        has_previous=number > 1,
        has_next=number < pages,
    )


def calendar(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Answer the calendar: month, week or list of the visits the login may see.

    A login with more than CLIENTS_PER_PAGE clients that has not narrowed to one sees one
    page of clients at a time, by name, with links to the next and previous ones and the
    client chooser. At most VISITS_SHOWN visits are laid out; the page says when more exist.
    """
    user = _require_portal_login(request)
    agency = user.agency
    tz = agency.tz
    today = timezone.localdate(timezone=tz)
    view = request.GET.get("view", "month")
    if view not in VIEWS:
        view = "month"
    period = Period.around(view, _requested_day(request.GET.get("date", ""), today))
    selected = selected_client(request)
    start, end = period.bounds(tz)
    client_ids = access.calendar_client_ids(user)
    client_page = None
    among: list[int] | None = None
    if selected is not None:
        among = [selected.pk]
    elif len(client_ids) > CLIENTS_PER_PAGE:
        client_page = _client_page(request, user, client_ids)
        among = [client.pk for client in client_page.clients]
    # With several clients each visit names its client; with one, the name would be noise.
    several_clients = len(client_ids) > 1
    # A login with a few clients gets their names with the visits; a page of clients, or
    # the one chosen, has its names already (joining the client table made PostgreSQL
    # hash all of the agency's clients for a page of them).
    names_joined = several_clients and client_page is None and selected is None
    visits = list(
        Visit.objects.visible_to(user, among=among)
        .select_related(None)
        .select_related("caregiver", *(["client"] if names_joined else []))
        .only(*VISIT_FIELDS, *(VISIT_CLIENT_FIELDS if names_joined else ()))
        .filter(start__gte=start, start__lt=end)
        .order_by("start", "pk")[: VISITS_SHOWN + 1]
    )
    more_visits = len(visits) > VISITS_SHOWN
    visits = visits[:VISITS_SHOWN]
    client_names = None
    if names_joined:
        client_names = {visit.client_id: visit.client.full_name for visit in visits}
    elif several_clients:
        # Several clients and no names joined: a page of clients, or the one chosen.
        clients = client_page.clients if client_page is not None else [cast(Client, selected)]
        client_names = {client.pk: client.full_name for client in clients}
    markup = VisitMarkup(client_names=client_names)
    by_day: dict[datetime.date, list[str]] = defaultdict(list)
    for visit in visits:
        visit.local_start = timezone.localtime(visit.start, tz)
        visit.local_end = timezone.localtime(visit.end, tz)
        by_day[visit.local_start.date()].append(
            markup.item(visit, visit.local_start, visit.local_end)
        )

    def link(name: str, day: datetime.date, clients_page: int | None = None) -> str:
        # Every link keeps the chosen client and page of clients, so stepping never widens.
        query: dict[str, str | int] = {"view": name, "date": day.isoformat()}
        if selected:
            query["client"] = selected.pk
        page_number = clients_page or (client_page.number if client_page else 1)
        if client_page and page_number > 1:
            query["clients_page"] = page_number
        return f"{reverse('scheduling:calendar')}?{urlencode(query)}"

    # The clients whose calendar was open (at most a page of them): each one's My privacy
    # lists the view.
    record_for_clients(
        Action.CALENDAR_VIEWED,
        client_ids=among if among is not None else client_ids,
        request=request,
        agency=agency,
        view=view,
        first=period.first.isoformat(),
        last=period.last.isoformat(),
        clients=sorted({visit.client_id for visit in visits}),
    )
    context = {
        "period": period,
        "today": today,
        "selected_client": selected,
        "several_clients": several_clients,
        "visits": visits,
        "more_visits": more_visits,
        "visits_shown": VISITS_SHOWN,
        "client_page": client_page,
        "previous_clients_url": (
            link(view, period.day, client_page.number - 1)
            if client_page and client_page.has_previous
            else None
        ),
        "next_clients_url": (
            link(view, period.day, client_page.number + 1)
            if client_page and client_page.has_next
            else None
        ),
        "choose_client_url": (
            f"{reverse('portal:choose_client')}?{urlencode({'next': request.get_full_path()})}"
        ),
        "previous_url": link(view, period.previous),
        "next_url": link(view, period.next),
        "today_url": link(view, today),
        "view_links": [
            (name, label, link(name, period.day))
            for name, label in (
                ("month", _("Month")),
                ("week", _("Week")),
                ("list", _("List")),
            )
        ],
        **days_of(period, by_day, today),
    }
    return render(request, "scheduling/calendar.html", context)


def _chosen_client_id(request: HttpRequest) -> int | None:
    raw = request.POST.get("client", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


@require_http_methods(["GET", "POST"])
def feed_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Answer the feed settings: make, replace or stop the address, and choose its clients.

    A login with more than FEED_CLIENTS_MAX clients chooses which clients the feed carries:
    it searches them by name (`?q=`, at most 25 results) and adds or removes them.
    """
    user = _require_portal_login(request)
    new_url = None
    error: StrOrPromise | None = None
    feed = CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()
    if request.method == "POST":
        action = request.POST.get("action")
        client_id = _chosen_client_id(request)
        if action in ("create", "regenerate"):
            feed, token = services.create_feed(user=user, request=request)
            new_url = request.build_absolute_uri(reverse("scheduling:feed", args=[token]))
        elif action == "revoke":
            services.revoke_feeds(user=user, request=request)
            feed = None
        elif action in ("add_client", "remove_client") and feed is not None:
            if client_id is None:
                error = _("Choose a client from the list.")
            else:
                try:
                    if action == "add_client":
                        services.add_feed_client(feed=feed, client_id=client_id, request=request)
                    else:
                        services.remove_feed_client(feed=feed, client_id=client_id, request=request)
                except services.FeedChoiceError as exc:
                    error = str(exc)
                else:
                    # Back to the same search, so several clients are added one after another.
                    query = request.POST.get("q", "").strip()[:100]
                    target = reverse("scheduling:feed_settings")
                    return redirect(f"{target}?{urlencode({'q': query})}" if query else target)
        else:
            return HttpResponse(status=400)
    context: dict[str, Any] = {"feed": feed, "new_url": new_url, "error": error}
    client_count = len(access.calendar_client_ids(user))
    context["client_count"] = client_count
    chooses_clients = feed is not None and client_count > ics.FEED_CLIENTS_MAX
    context["chooses_clients"] = chooses_clients
    context["feed_clients_max"] = ics.FEED_CLIENTS_MAX
    if feed is not None and chooses_clients:
        chosen_ids = list(feed.chosen.values_list("client_id", flat=True))
        clients = Client.objects.visible_to(user).only(*CLIENT_NAME_FIELDS)
        context["chosen"] = list(
            clients.filter(pk__in=chosen_ids).order_by("last_name", "first_name")
        )
        query = (request.GET.get("q") or request.POST.get("q", "")).strip()[:100]
        context["query"] = query
        if query:
            found = (
                clients.exclude(pk__in=chosen_ids).named(query).order_by("last_name", "first_name")
            )
            results = list(found[: ics.FEED_CLIENTS_MAX + 1])
            context["results"] = results[: ics.FEED_CLIENTS_MAX]
            context["more_results"] = len(results) > ics.FEED_CLIENTS_MAX
    # The address is shown once, in the answer to the POST that made it, and never stored.
    status = 400 if error else 200
    return render(request, "scheduling/feed_settings.html", context, status=status)


@login_not_required
@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """Answer the iCalendar feed: a bounded window, at most MAX_EVENTS visits, its clients."""
    feed = services.feed_for_token(token)
    if feed is None:
        raise Http404
    now = timezone.now()
    visits = (
        Visit.objects.visible_to(feed.user, among=feed.carried_among())
        .select_related(None)
        .select_related("caregiver")
        .only(*ics.VISIT_FIELDS)
        .filter(start__gte=now - ics.WINDOW_BEFORE, start__lt=now + ics.WINDOW_AFTER)
        .order_by("start", "pk")[: ics.MAX_EVENTS]
    )
    # A feed's owner is a portal login of the feed's agency.
    agency = cast("Agency", feed.user.agency)
    body = ics.build_calendar(visits, agency=agency, language=feed.user.language)
    services.record_feed_fetch(feed=feed, request=request)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    # Visit times are private: no shared cache may keep them.
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def caregiver_photo(request: AuthenticatedHttpRequest, caregiver_id: int) -> FileResponse:
    """Answer a caregiver's photo to a family who may see it, else 404.

    Only when the agency lets families see it, and only for a caregiver who visits a
    client whose calendar the login may see. The middleware marks the answer no-store.
    """
    user = _require_portal_login(request)
    caregiver = Caregiver.objects.filter(
        pk=caregiver_id, agency_id=user.agency_id, show_photo_to_families=True
    ).first()
    if caregiver is None or not caregiver.photo:
        raise Http404
    # One visit of hers to a client the login sees is enough: stop at the first.
    if not Visit.objects.visible_to(user).filter(caregiver_id=caregiver.pk).exists():
        raise Http404
    try:
        file = caregiver.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    # A photo that opened has a name.
    content_type, _encoding = mimetypes.guess_type(cast(str, caregiver.photo.name))
    response = FileResponse(file, content_type=content_type or "application/octet-stream")
    patch_cache_control(response, private=True, no_store=True)
    return response
