"""django-axes hooks: lock by account, whatever the case of the name or email typed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from careportal.audit.events import client_ip as _client_ip


def lockout_key(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """Return the account's username for what was typed, or the typed text lower-cased."""
    typed = ((credentials or {}).get("username") or request.POST.get("username") or "").strip()
    users = get_user_model()._default_manager
    user = users.filter(username__iexact=typed).only("username").first()
    if user is None and "@" in typed:
        matches = list(users.filter(email__iexact=typed).only("username")[:2])
        user = matches[0] if len(matches) == 1 else None
    return (user.username if user else typed).lower()


def client_ip(request: HttpRequest) -> str | None:
    return _client_ip(request)


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return render(request, "accounts/locked.html", status=403)
