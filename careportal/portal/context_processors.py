"""What every page's frame needs: the agency, the tabs the login has, the client selector.

Cheap by construction: the login's relationships are resolved once per request (see
`people.access.request_memo`), and the clients are listed only for a login with a few.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse

from careportal.people import access
from careportal.portal.narrowing import ClientChoice, selected_client


def _links(kind: str) -> dict[str, str]:
    """Return the addresses the frame links to: "frame" for every page (sign out, the
    language form), "portal" for a portal login's (the tabs, the Dashboard's links)."""
    return _reversed_links(get_script_prefix(), get_urlconf())[kind]


@lru_cache(maxsize=8)
def _reversed_links(prefix: str, urlconf: str | None) -> dict[str, dict[str, str]]:
    # The same for every request under one address and URLconf: reversed once.
    frame = {"logout": reverse("accounts:logout"), "set_language": reverse("set_language")}
    return {"frame": frame, "portal": _portal_links()}


def _portal_links() -> dict[str, str]:
    return {
        "dashboard": reverse("portal:dashboard"),
        "invoices": reverse("billing:invoice_list"),
        "calendar": reverse("scheduling:calendar"),
        "care_plan": reverse("careplans:care_plan"),
        "my_privacy": reverse("privacy:my_privacy"),
        "compose": reverse("messaging:compose"),
        "account": reverse("accounts:settings"),
        "choose_client": reverse("portal:choose_client"),
    }


@receiver(setting_changed)
def _forget_links(**kwargs: Any) -> None:
    # A test that changes the URLconf gets its own addresses.
    _reversed_links.cache_clear()


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not access.is_portal_login(user):
        return {
            "portal_agency": getattr(user, "agency", None) if user else None,
            "frame_links": _links("frame"),
        }
    try:
        selected = selected_client(request)
    except Http404:
        # The view answers 404 itself; the error page still needs its frame.
        selected = None
    match = getattr(request, "resolver_match", None)
    return {
        "portal_agency": user.agency,
        "portal_user": True,
        "portal_has_care_plan": access.has_care_plan(user),
        # What the "Showing" control offers: a select for a few clients, else a search.
        # Computed only if the template shows it; never a list of every client.
        "portal_client_choice": ClientChoice(request),
        "portal_selected_client": selected,
        "frame_links": _links("frame"),
        "portal_links": _links("portal"),
        "portal_section": match.namespace if match else "",
    }
