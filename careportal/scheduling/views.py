"""Calendar pages: month, week and list views, the private iCalendar feed, caregiver photos."""

from __future__ import annotations

import datetime
import functools
import mimetypes
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from careportal.audit.actions import Action
from careportal.audit.events import record_for_clients
from careportal.people import access
from careportal.people.models import Client
from careportal.portal.narrowing import selected_client
from careportal.scheduling import ics, services
from careportal.scheduling.calendar import VIEWS, Period, ShownVisit, VisitMarkup, days_of
from careportal.scheduling.models import CalendarFeed, Caregiver, Visit

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from careportal.accounts.http import AuthenticatedHttpRequest
    from careportal.people.access import PortalLogin

CLIENT_NAME_FIELDS = ("pk", "agency_id", "first_name", "last_name", "preferred_name")
# The same, as `Model.from_db` names them.
CLIENT_NAME_FIELDS_DB = ("id", "agency_id", "first_name", "last_name", "preferred_name")
# A login with more clients than this sees them a page at a time on the calendar.
CLIENTS_PER_PAGE = 10
# The most visits one calendar page lays out (keeps the page small and quick).
VISITS_SHOWN = 350


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


def _ids_sql(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """Return a condition keeping the rows whose `column` is among `ids`, and its params.

    One array parameter on PostgreSQL instead of thousands of literals: building, sending
    and planning a payer's two thousand ids cost several times the query itself. Elsewhere,
    `IN (...)`.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, map(int, ids))) + "}"]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", [int(pk) for pk in ids]


def _client_page(request: HttpRequest, user: PortalLogin, client_ids: list[int]) -> ClientPage:
    """Return the page of clients asked by `?clients_page=` (the first for a bad value)."""
    pages = max(1, -(-len(client_ids) // CLIENTS_PER_PAGE))
    raw = request.GET.get("clients_page", "1")
    number = int(raw) if raw.isdigit() and len(raw) < 6 else 1
    number = min(max(number, 1), pages)
    offset = (number - 1) * CLIENTS_PER_PAGE
    # `client_ids` are the login's clients as people.access answers them (what
    # Client.objects.visible_to filters by), given to the database as one list. Written
    # out rather than built by the ORM, which cost more than the database's answer.
    among, params = _ids_sql("c.id", client_ids)
    sql = (
        "SELECT c.id, c.first_name, c.last_name, c.preferred_name "  # noqa: S608
        f"FROM {Client._meta.db_table} c WHERE c.agency_id = %s AND {among} "
        "ORDER BY c.last_name, c.first_name, c.id LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.agency_id, *params, CLIENTS_PER_PAGE, offset])
        rows = cursor.fetchall()
    clients = [
        Client.from_db(connection.alias, CLIENT_NAME_FIELDS_DB, (pk, user.agency_id, *names))
        for pk, *names in rows
    ]
    return ClientPage(
        clients=clients,
        number=number,
        count=len(client_ids),
        first=offset + 1,
        last=offset + len(clients),
        has_previous=number > 1,
        has_next=number < pages,
    )


def _as_moment(value: Any) -> datetime.datetime:
    # PostgreSQL answers an aware datetime; SQLite its text, or a naive one, in UTC.
    moment = value if isinstance(value, datetime.datetime) else parse_datetime(str(value))
    if moment is None:
        raise ValueError(f"not a date and time: {value!r}")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=datetime.UTC)


@functools.cache
def _visits_sql(vendor: str, clients: int, names: bool, limit: int) -> str:
    """Return the query of `_visits`: at most `limit` visits of some clients in a period,
    in time order, with the caregiver's first name (what a family may see) and, with
    `names`, the client's names.

    Written out once per shape, like people.access's queries: built by the ORM, the query
    and the visits it loads cost several times what the database takes to answer. Read
    on the index on (agency, client, start).
    """
    among = (
        "v.client_id = ANY(%(clients)s::bigint[])"
        if vendor == "postgresql"
        else f"v.client_id IN ({', '.join(f'%(client{i})s' for i in range(clients))})"
    )
    client = f"JOIN {Client._meta.db_table} c ON c.id = v.client_id " if names else ""
    return (
        'SELECT v.id, v.client_id, v.service, v.status, v.start, v."end", g.first_name'  # noqa: S608
        f"{', c.first_name, c.last_name' if names else ''} "
        f"FROM {Visit._meta.db_table} v "
        f"LEFT JOIN {Caregiver._meta.db_table} g ON g.id = v.caregiver_id {client}"
        f"WHERE v.agency_id = %(agency)s AND {among} "
        "AND v.start >= %(start)s AND v.start < %(end)s "
        f"ORDER BY v.start, v.id LIMIT {int(limit)}"
    )


def _visits(
    user: PortalLogin,
    client_ids: list[int],
    start: datetime.datetime,
    end: datetime.datetime,
    tz: datetime.tzinfo,
    *,
    names: dict[int, str] | None,
    limit: int,
) -> list[ShownVisit]:
    """Return the visits of these clients (the login's, from people.access) that start in
    [start, end), at most `limit`, in time order, their times in `tz`; with `names`, each
    client's full name is added to it."""
    if not client_ids:
        return []
    vendor = connection.vendor
    params: dict[str, Any] = {
        "agency": user.agency_id,
        "start": connection.ops.adapt_datetimefield_value(start),
        "end": connection.ops.adapt_datetimefield_value(end),
    }
    if vendor == "postgresql":
        params["clients"] = "{" + ",".join(map(str, map(int, client_ids))) + "}"
    else:
        params.update({f"client{i}": pk for i, pk in enumerate(client_ids)})
    with connection.cursor() as cursor:
        cursor.execute(_visits_sql(vendor, len(client_ids), names is not None, limit), params)
        rows = cursor.fetchall()
    visits = []
    for pk, client_id, service, status, begins, ends, caregiver, *client in rows:
        if names is not None and client_id not in names:
            names[client_id] = Client(first_name=client[0], last_name=client[1]).full_name
        visits.append(
            ShownVisit(
                pk=pk,
                client_id=client_id,
                service=service,
                status=status,
                caregiver=caregiver,
                local_start=timezone.localtime(_as_moment(begins), tz),
                local_end=timezone.localtime(_as_moment(ends), tz),
            )
        )
    return visits


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
    if among is not None:
        # The login's clients among those asked for: an id it may not see is dropped.
        wanted = set(among)
        shown_ids = [pk for pk in client_ids if pk in wanted]
    else:
        shown_ids = client_ids
    client_names: dict[int, str] | None = None
    if names_joined:
        client_names = {}
    elif several_clients:
        # Several clients and no names joined: a page of clients, or the one chosen.
        clients = client_page.clients if client_page is not None else [cast(Client, selected)]
        client_names = {client.pk: client.full_name for client in clients}
    visits = _visits(
        user,
        shown_ids,
        start,
        end,
        tz,
        names=client_names if names_joined else None,
        limit=VISITS_SHOWN + 1,
    )
    more_visits = len(visits) > VISITS_SHOWN
    visits = visits[:VISITS_SHOWN]
    markup = VisitMarkup(client_names=client_names)
    by_day: dict[datetime.date, list[str]] = defaultdict(list)
    for visit in visits:
        by_day[visit.local_start.date()].append(markup.item(visit))

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
    # A feed's owner is a portal login of the feed's agency.
    owner = cast("PortalLogin", feed.user)
    # Its clients as people.access answers them today, among those the feed carries.
    client_ids = access.calendar_client_ids(owner)
    carried = feed.carried_among()
    if carried is not None:
        chosen = set(carried)
        client_ids = [pk for pk in client_ids if pk in chosen]
    visits = _visits(
        owner,
        client_ids,
        now - ics.WINDOW_BEFORE,
        now + ics.WINDOW_AFTER,
        datetime.UTC,
        names=None,
        limit=ics.MAX_EVENTS,
    )
    agency = owner.agency
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
