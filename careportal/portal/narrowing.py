"""Narrowing a page to one client: the "Showing" selector's `?client=<id>`, and the chooser.

A login with a few clients picks one from a select in the frame; a login with more
searches them by name on the chooser page, which never lists more than a page of them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe

from careportal.people import access
from careportal.people.models import Client

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careportal.accounts.models import User

_CACHE = "_portal_selected_client"

# Up to this many clients the frame offers a select; above, the searchable chooser.
SELECT_LIMIT = 10
# The chooser lists at most this many clients at once.
CHOOSER_LIMIT = 25
NAME_FIELDS = ("pk", "agency_id", "first_name", "last_name", "preferred_name")


def selected_client(request: HttpRequest) -> Client | None:
    """Return the client named by `?client=`, or None when the page shows all clients.

    The id is checked by `access.narrowable_client` (one query): the calendar's clients
    and the clients of the invoices the login sees (a payer's client whose link has
    ended). Any other client answers 404, exactly like one that does not exist.
    """
    if hasattr(request, _CACHE):
        cached: Client | None = getattr(request, _CACHE)
        return cached
    raw = request.GET.get("client", "").strip()
    client = None
    if raw:
        if not raw.isdigit() or len(raw) > 18:
            raise Http404
        client = access.narrowable_client(request.user, int(raw))
        if client is None:
            raise Http404
    setattr(request, _CACHE, client)
    return client


def selected_client_id(request: HttpRequest) -> int | None:
    client = selected_client(request)
    return client.pk if client is not None else None


def matching_clients(user: User | AnonymousUser, query: str) -> QuerySet[Client]:
    """Return the clients a page may be narrowed to whose name contains every word typed."""
    return (
        access.narrowable_clients(user)
        .named(query)
        .only(*NAME_FIELDS)
        .order_by("last_name", "first_name")
    )


class ClientChoice:
    """What the frame offers for narrowing, computed only when a template asks.

    `mode` is "" (one client or none: nothing to choose), "select" (a few clients, all
    listed) or "search" (more: a search field that opens the chooser page).
    """

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def _few(self) -> list[Client] | None:
        user = self.request.user
        # The login's own and contacts' clients count even when a client keeps the calendar.
        rels = access.relationship_ids(user)
        # A payer's or community's thousands of clients are not read to learn they are many.
        if access.calendar_has_more_than(user, SELECT_LIMIT, also=rels.care_client_ids):
            return None
        client_ids = set(access.calendar_client_ids(user)) | set(rels.care_client_ids)
        if not access.invoices_reach_beyond_calendar(user):
            if len(client_ids) <= 1:
                return []  # nothing to choose between, and nothing to ask the database
            # The login's own and its contacts' clients, named in its relationships.
            return list(access.relationship_ids(user).care_clients)
        listed = list(
            access.narrowable_clients(user)
            .only(*NAME_FIELDS)
            .order_by("last_name", "first_name")[: SELECT_LIMIT + 1]
        )
        return listed if len(listed) <= SELECT_LIMIT else None

    @cached_property
    def mode(self) -> str:
        if self._few is None:
            return "search"
        return "select" if len(self._few) > 1 else ""

    @property
    def clients(self) -> list[Client]:
        return self._few or []


def _safe_next(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if not target.startswith("/") or not allowed:
        return reverse("portal:dashboard")
    return target


def _narrowed(target: str, client_id: int | None) -> str:
    """Return the page's address narrowed to one client (or to all), page reset."""
    parts = urlsplit(target)
    query = QueryDict(parts.query, mutable=True)
    for key in ("client", "page", "clients_page"):
        query.pop(key, None)
    if client_id is not None:
        query["client"] = str(client_id)
    encoded = query.urlencode()
    return f"{parts.path}?{encoded}" if encoded else parts.path


@require_safe
def choose_client(request: HttpRequest) -> HttpResponse:
    """Answer the client chooser: up to 25 clients whose name matches `?q=`, as links.

    Each link opens the page named by `?next=` (a page of this site) narrowed to that
    client. Without JavaScript it is a plain page; htmx asks for the results alone.
    """
    if not access.is_portal_login(request.user):
        raise Http404
    query = request.GET.get("q", "").strip()[:100]
    target = _safe_next(request)
    found = list(matching_clients(request.user, query)[: CHOOSER_LIMIT + 1])
    context = {
        "query": query,
        "next": target,
        "results": [(client, _narrowed(target, client.pk)) for client in found[:CHOOSER_LIMIT]],
        "more": len(found) > CHOOSER_LIMIT,
        "limit": CHOOSER_LIMIT,
        "all_url": _narrowed(target, None),
        # The page is the chooser: the frame's own search would repeat it.
        "hide_client_choice": True,
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "portal/_client_results.html", context)
    return render(request, "portal/choose_client.html", context)
