"""Care Plan: the client's own service plans, active first. Nobody else reaches this page."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from careportal.audit.events import record
from careportal.careplans.models import PlanStatus, ServicePlan
from careportal.people import access


def care_plan(request: HttpRequest) -> HttpResponse:
    # Service plans are the client's alone: any other login gets the page it never has, 404.
    client = access.own_client(request.user).select_related("agency").first()
    if client is None:
        raise Http404
    plans = list(
        ServicePlan.objects.visible_to(request.user)
        .annotate(
            active_first=Case(
                When(status=PlanStatus.ACTIVE, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("active_first", "-start_date", "-id")
    )
    record(
        "service_plan.viewed",
        request=request,
        agency=client.agency,
        obj=plans[0] if plans else client,
        client=client,
        plans=[plan.pk for plan in plans],
    )
    return render(
        request,
        "careplans/care_plan.html",
        {"client": client, "agency": client.agency, "plans": plans},
    )
