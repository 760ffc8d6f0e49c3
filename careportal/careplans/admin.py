"""Service plans in the back office, with their goals and tasks: protected health
information, audited wherever staff read it."""

from __future__ import annotations

from django.contrib import admin

from careportal.audit.admin import AuditedViewMixin
from careportal.backoffice.scoping import (
    AgencyAutocompleteFilter,
    AgencyScopedAdmin,
    AgencyScopedTabularInline,
)
from careportal.backoffice.site import backoffice_site
from careportal.careplans.models import Goal, PlanTask, ServicePlan


class GoalInline(AgencyScopedTabularInline):
    model = Goal
    fields = ("description", "target_date")


class PlanTaskInline(AgencyScopedTabularInline):
    model = PlanTask
    fields = ("activity", "frequency", "instructions")


@admin.register(ServicePlan, site=backoffice_site)
class ServicePlanAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = "service_plan.viewed"
    list_viewed_action = "service_plan.list_viewed"
    list_display = ("title", "client", "status", "start_date", "end_date")
    list_filter = ("status", ("client", AgencyAutocompleteFilter))
    list_select_related = ("client",)
    search_fields = ("title", "^client__last_name")
    autocomplete_fields = ("client",)
    inlines = (GoalInline, PlanTaskInline)


@admin.register(Goal, site=backoffice_site)
class GoalAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = "service_plan.viewed"
    list_viewed_action = "service_plan.list_viewed"
    audited_via = "plan"
    list_display = ("description", "plan", "target_date")
    list_filter = (("plan", AgencyAutocompleteFilter),)
    search_fields = ("description",)
    autocomplete_fields = ("plan",)


@admin.register(PlanTask, site=backoffice_site)
class PlanTaskAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = "service_plan.viewed"
    list_viewed_action = "service_plan.list_viewed"
    audited_via = "plan"
    list_display = ("activity", "frequency", "plan")
    list_filter = ("activity", ("plan", AgencyAutocompleteFilter))
    search_fields = ("instructions",)
    autocomplete_fields = ("plan",)
