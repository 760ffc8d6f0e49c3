"""What every page's frame needs: the agency and which tabs the login has."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from careportal.people import access


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not access.is_portal_login(user):
        return {"portal_agency": getattr(user, "agency", None) if user else None}
    return {
        "portal_agency": user.agency,
        "portal_has_care_plan": access.has_care_plan(user),
    }
