"""Narrowing a page to one client: the "Showing" selector's `?client=<id>`."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from careportal.people import access
from careportal.people.models import Client

_CACHE = "_portal_selected_client"


def selected_client(request: HttpRequest) -> Client | None:
    """Return the client named by `?client=`, or None when the page shows all clients.

    The id is checked against `access.narrowable_clients`: the calendar's clients and the
    clients of the invoices the login sees (a payer's client whose link has ended). Any
    other client answers 404, exactly like one that does not exist.
    """
    if hasattr(request, _CACHE):
        return getattr(request, _CACHE)
    raw = request.GET.get("client", "").strip()
    client = None
    if raw:
        if not raw.isdigit():
            raise Http404
        client = get_object_or_404(access.narrowable_clients(request.user), pk=int(raw))
    setattr(request, _CACHE, client)
    return client


def selected_client_id(request: HttpRequest) -> int | None:
    client = selected_client(request)
    return client.pk if client is not None else None
