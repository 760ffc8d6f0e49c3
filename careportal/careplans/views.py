"""Care Plan: the client's own service plans, active first. Nobody else reaches this page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import render

from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.careplans.models import PlanStatus, ServicePlan
from careportal.people import access

if TYPE_CHECKING:
    from careportal.accounts.http import AuthenticatedHttpRequest


def care_plan(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Service plans are the client's alone: any other login gets the page it never has, 404
    # (the login's relationships, read once per request, say whether it is a client).
    if not access.has_care_plan(request.user):
        raise Http404
    agency = request.user.agency
    plans = list(
        ServicePlan.objects.visible_to(request.user)
        # The plans are the login's own client's: that client comes with them.
        .select_related("client")
        .annotate(
            active_first=Case(
                When(status=PlanStatus.ACTIVE, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("active_first", "-start_date", "-id")
    )
    client = plans[0].client if plans else access.own_client(request.user).first()
    if client is None:
        raise Http404
    record(
        Action.SERVICE_PLAN_VIEWED,
        request=request,
        agency=agency,
        obj=plans[0] if plans else client,
        client=client,
        plans=[plan.pk for plan in plans],
    )
    return render(
        request,
        "careplans/care_plan.html",
        {"client": client, "agency": agency, "plans": plans},
    )
