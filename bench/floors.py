"""The two floor views every page is compared with: the least a signed-in page can cost.

Both sit behind sign-in like every page (the project's LoginRequiredMiddleware), so they
pay for the session, the login and every middleware, and nothing else.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from careportal.scheduling.models import Caregiver

TABLE_ROWS = 25


@require_safe
def bare(request: HttpRequest) -> HttpResponse:
    """Answer a tiny HTML page: the cost of the request cycle alone."""
    return HttpResponse("<!doctype html><title>Floor</title><p>Floor</p>")


@require_safe
def table(request: HttpRequest) -> HttpResponse:
    """Answer a 25-row table from one query, rendered with a template."""
    caregivers = list(
        Caregiver.objects.filter(agency_id=request.user.agency_id).order_by("pk")[:TABLE_ROWS]
    )
    return render(request, "bench/floor_table.html", {"caregivers": caregivers})
