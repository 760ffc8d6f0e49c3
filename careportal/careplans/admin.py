"""Service plans in the back office, with their goals and tasks: protected health
information, audited wherever staff read it.

A plan, its goals and its tasks are saved through careplans.services.save_service_plan, the
one door the API and the import use too: these classes hand it what their forms built.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from careportal.audit.actions import Action
from careportal.audit.admin import AuditedViewMixin
from careportal.backoffice.scoping import (
    AgencyAutocompleteFilter,
    AgencyScopedAdmin,
    AgencyScopedTabularInline,
)
from careportal.backoffice.site import backoffice_site, staff_user
from careportal.careplans import services as careplans_services
from careportal.careplans.models import Goal, PlanTask, ServicePlan


class GoalInline(AgencyScopedTabularInline):
    model = Goal
    fields = ("description", "target_date")


class PlanTaskInline(AgencyScopedTabularInline):
    model = PlanTask
    fields = ("activity", "frequency", "instructions")


@admin.register(ServicePlan, site=backoffice_site)
class ServicePlanAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = Action.SERVICE_PLAN_VIEWED
    list_viewed_action = Action.SERVICE_PLAN_LIST_VIEWED
    list_display = ("title", "client", "status", "start_date", "end_date")
    list_filter = ("status", ("client", AgencyAutocompleteFilter))
    list_select_related = ("client",)
    search_fields = ("title", "^client__last_name")
    autocomplete_fields = ("client",)
    readonly_fields = ("external_id",)
    inlines = (GoalInline, PlanTaskInline)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Saved with its goals and tasks in save_related, in one call of the service.
        pass

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        rows: dict[type, list[Any]] = {Goal: [], PlanTask: []}
        removed: list[Any] = []
        for formset in formsets:
            rows[formset.model] += formset.save(commit=False)
            removed += formset.deleted_objects
        careplans_services.save_service_plan(
            plan=form.instance,
            goals=rows[Goal],
            tasks=rows[PlanTask],
            removed=removed,
            actor=staff_user(request),
            request=request,
        )
        form.save_m2m()
        for formset in formsets:
            formset.save_m2m()


class PlanRowAdmin(AuditedViewMixin, AgencyScopedAdmin):
    """A goal or a task on its own page: saved or deleted as a change of its plan."""

    viewed_action = Action.SERVICE_PLAN_VIEWED
    list_viewed_action = Action.SERVICE_PLAN_LIST_VIEWED
    audited_via = "plan"
    autocomplete_fields = ("plan",)
    readonly_fields = ("external_id",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        is_goal = isinstance(obj, Goal)
        careplans_services.save_service_plan(
            plan=obj.plan,
            goals=[obj] if is_goal else None,
            tasks=None if is_goal else [obj],
            actor=staff_user(request),
            request=request,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        careplans_services.save_service_plan(
            plan=obj.plan, removed=[obj], actor=staff_user(request), request=request
        )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        by_plan: dict[Any, list[Any]] = defaultdict(list)
        for row in queryset.select_related("plan"):
            by_plan[row.plan].append(row)
        for plan, rows in by_plan.items():
            careplans_services.save_service_plan(
                plan=plan, removed=rows, actor=staff_user(request), request=request
            )


@admin.register(Goal, site=backoffice_site)
class GoalAdmin(PlanRowAdmin):
    list_display = ("description", "plan", "target_date")
    list_filter = (("plan", AgencyAutocompleteFilter),)
    search_fields = ("description",)


@admin.register(PlanTask, site=backoffice_site)
class PlanTaskAdmin(PlanRowAdmin):
    list_display = ("activity", "frequency", "plan")
    list_filter = ("activity", ("plan", AgencyAutocompleteFilter))
    search_fields = ("instructions",)
