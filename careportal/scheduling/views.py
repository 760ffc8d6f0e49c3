"""Calendar pages: month, week and list views, the private iCalendar feed, caregiver photos."""

from __future__ import annotations

import datetime
import mimetypes
from collections import defaultdict
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from careportal.audit.events import record
from careportal.people import access
from careportal.people.models import Client
from careportal.portal.narrowing import selected_client
from careportal.scheduling import ics, services
from careportal.scheduling.calendar import VIEWS, Period, days_of
from careportal.scheduling.models import CalendarFeed, Caregiver, Visit


def _require_portal_login(request: HttpRequest) -> None:
    # Staff and operators have no calendar of their own; the back office is theirs.
    if not access.is_portal_login(request.user):
        raise Http404


def _requested_day(raw: str, today: datetime.date) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        return today
    # Far-off years would overflow date arithmetic; nobody has visits there anyway.
    return day if 1900 <= day.year <= 2200 else today


def calendar(request: HttpRequest) -> HttpResponse:
    _require_portal_login(request)
    agency = request.user.agency
    tz = agency.tz
    today = timezone.localdate(timezone=tz)
    view = request.GET.get("view", "month")
    if view not in VIEWS:
        view = "month"
    period = Period.around(view, _requested_day(request.GET.get("date", ""), today))
    selected = selected_client(request)
    start, end = period.bounds(tz)
    visits = list(
        Visit.objects.visible_to(request.user)
        .for_client(selected.pk if selected else None)
        .filter(start__gte=start, start__lt=end)
        .order_by("start", "pk")
    )
    by_day: dict[datetime.date, list[Visit]] = defaultdict(list)
    for visit in visits:
        visit.local_start = timezone.localtime(visit.start, tz)
        visit.local_end = timezone.localtime(visit.end, tz)
        by_day[visit.local_start.date()].append(visit)
    # With several clients each visit names its client; with one, the name would be noise.
    several_clients = Client.objects.visible_to(request.user)[:2].count() > 1

    def link(name: str, day: datetime.date) -> str:
        # Every link keeps the chosen client, so stepping never widens the page.
        query = {"view": name, "date": day.isoformat()}
        if selected:
            query["client"] = selected.pk
        return f"{reverse('scheduling:calendar')}?{urlencode(query)}"

    record(
        "calendar.viewed",
        request=request,
        agency=agency,
        client=selected,
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


@require_http_methods(["GET", "POST"])
def feed_settings(request: HttpRequest) -> HttpResponse:
    _require_portal_login(request)
    new_url = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("create", "regenerate"):
            _feed, token = services.create_feed(user=request.user, request=request)
            new_url = request.build_absolute_uri(reverse("scheduling:feed", args=[token]))
        elif action == "revoke":
            services.revoke_feeds(user=request.user, request=request)
        else:
            return HttpResponse(status=400)
    feed = CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True).first()
    # The address is shown once, in the answer to the POST that made it, and never stored.
    return render(request, "scheduling/feed_settings.html", {"feed": feed, "new_url": new_url})


@login_not_required
@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = services.feed_for_token(token)
    if feed is None:
        raise Http404
    now = timezone.now()
    visits = (
        Visit.objects.visible_to(feed.user)
        .filter(start__gte=now - ics.WINDOW_BEFORE, start__lt=now + ics.WINDOW_AFTER)
        .order_by("start", "pk")
    )
    body = ics.build_calendar(visits, agency=feed.user.agency, language=feed.user.language)
    services.record_feed_fetch(feed=feed, request=request)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    # Visit times are private: no shared cache may keep them.
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def caregiver_photo(request: HttpRequest, caregiver_id: int) -> HttpResponse:
    """Answer a caregiver's photo to a family who may see it, else 404.

    Only when the agency lets families see it, and only for a caregiver who visits a
    client whose calendar the login may see. The middleware marks the answer no-store.
    """
    _require_portal_login(request)
    visiting = Visit.objects.visible_to(request.user).values("caregiver_id")
    caregiver = Caregiver.objects.filter(
        pk=caregiver_id, show_photo_to_families=True, pk__in=visiting
    ).first()
    if caregiver is None or not caregiver.photo:
        raise Http404
    try:
        file = caregiver.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type, _encoding = mimetypes.guess_type(caregiver.photo.name)
    response = FileResponse(file, content_type=content_type or "application/octet-stream")
    patch_cache_control(response, private=True, no_store=True)
    return response
