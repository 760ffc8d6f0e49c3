"""Scheduling in the back office: caregivers, visits, recurring schedules and the staff's
calendar feeds. Visits and schedules are audited wherever staff read them (the calendar).

Visits run to hundreds of thousands of rows: they are searched through their clients
(people.admin.clients_named), on the (agency, client, start) index.

Caregivers and visits are saved through scheduling.services, the one door the API and the
import use too; these classes only hand it the records their forms built.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.agencies.images import ImageUploadField
from careportal.audit.actions import Action
from careportal.audit.admin import AuditedViewMixin
from careportal.backoffice.scoping import (
    AgencyAutocompleteFilter,
    AgencyScopedAdmin,
    first_ids,
    scope_to_agency,
    staff_agency,
)
from careportal.backoffice.site import backoffice_site, staff_user
from careportal.people.admin import clients_named
from careportal.scheduling import services as scheduling_services
from careportal.scheduling.models import (
    WEEKDAYS,
    CalendarFeed,
    Caregiver,
    Visit,
    VisitSchedule,
    visit_status_move_problem,
)

if TYPE_CHECKING:
    from django.db.models import Field

    from careportal.agencies.models import Agency

    VisitModelForm = forms.ModelForm[Visit]
else:
    VisitModelForm = forms.ModelForm


@admin.register(Caregiver, site=backoffice_site)
class CaregiverAdmin(AgencyScopedAdmin):
    list_display = ("first_name", "last_name", "is_active", "show_photo_to_families")
    list_filter = ("is_active",)
    search_fields = ("^first_name", "^last_name")
    # Set by the agency's integration (the API, the import), never typed in.
    readonly_fields = ("external_id",)

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        """The photo goes through agencies.images, as the logo does: checked, re-encoded,
        stored under a random name (families may be shown it)."""
        if db_field.name == "photo":
            kwargs["form_class"] = ImageUploadField
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Caregiver, form: forms.ModelForm[Caregiver], change: bool
    ) -> None:
        scheduling_services.save_caregiver(
            caregiver=obj, actor=staff_user(request), request=request
        )


class VisitForm(VisitModelForm):
    def clean_status(self) -> str:
        """Refuse a move of status the visit may not make (a completed visit stays so)."""
        status = str(self.cleaned_data["status"])
        if self.instance.pk is not None:
            problem = visit_status_move_problem(str(self.initial.get("status")), status)
            if problem:
                raise forms.ValidationError(problem)
        return status


@admin.register(Visit, site=backoffice_site)
class VisitAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = Action.CALENDAR_VIEWED
    form = VisitForm
    list_display = ("start", "end", "client", "caregiver", "service", "status")
    # No date_hierarchy: its year and month links aggregate over every visit. The start
    # filter's choices (today, past 7 days, this month, this year) are fixed.
    list_filter = (
        "status",
        ("caregiver", AgencyAutocompleteFilter),
        ("client", AgencyAutocompleteFilter),
        "start",
    )
    # Searched by the client's name through the clients (get_search_results).
    search_fields = ("client__last_name", "client__first_name")
    search_help_text = _("The first letters of the client's name.")
    # Latest first, on the (agency, start, id) index.
    ordering = ("-start",)
    autocomplete_fields = ("client",)
    # A raw id box, as schedulers type caregivers' numbers; its label is scoped too.
    raw_id_fields = ("caregiver",)
    list_select_related = ("client", "caregiver")
    # Set by the schedule's "Create visits" action and by the agency's integration.
    readonly_fields = ("schedule", "external_id")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Visit], search_term: str
    ) -> tuple[QuerySet[Visit], bool]:
        """Find visits by their client's name (clients_named), through the clients.

        The clients are found in their own small table and the visits by client, on the
        (agency, client, start) index, never by a join of a million visits to the clients.
        """
        if not search_term.split():
            return queryset, False
        clients = first_ids(clients_named(request, search_term))
        return scope_to_agency(queryset.filter(client__in=clients), request), False

    def save_model(
        self, request: HttpRequest, obj: Visit, form: forms.ModelForm[Visit], change: bool
    ) -> None:
        scheduling_services.save_visit(visit=obj, actor=staff_user(request), request=request)


@admin.register(VisitSchedule, site=backoffice_site)
class VisitScheduleAdmin(AuditedViewMixin, AgencyScopedAdmin):
    # A client's care timetable: audited like the visits it makes.
    viewed_action = Action.CALENDAR_VIEWED
    list_display = ("client", "service", "caregiver", "start_time", "duration_minutes",
                    "start_date", "end_date", "is_active")  # fmt: skip
    list_filter = (
        "is_active",
        ("caregiver", AgencyAutocompleteFilter),
        ("client", AgencyAutocompleteFilter),
    )
    search_fields = ("client__last_name", "client__first_name")
    search_help_text = _("The first letters of the client's name.")
    autocomplete_fields = ("client",)
    raw_id_fields = ("caregiver",)
    list_select_related = ("client", "caregiver")
    fieldsets = (
        (None, {"fields": ("client", "caregiver", "service", "is_active")}),
        (_("Days"), {"fields": (WEEKDAYS,)}),
        (_("Time"), {"fields": ("start_time", "duration_minutes", "start_date", "end_date")}),
    )
    actions = ("create_visits",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[VisitSchedule], search_term: str
    ) -> tuple[QuerySet[VisitSchedule], bool]:
        """Find schedules by their client's name, as visits are found."""
        if not search_term.split():
            return queryset, False
        return scope_to_agency(
            queryset.filter(client__in=clients_named(request, search_term)), request
        ), False

    @admin.action(description=_("Create visits for the next 8 weeks"), permissions=["change"])
    def create_visits(self, request: HttpRequest, queryset: QuerySet[VisitSchedule]) -> None:
        # The site lets in staff of an agency alone.
        agency = cast("Agency", staff_agency(request))
        until = timezone.localdate(timezone=agency.tz) + datetime.timedelta(weeks=8)
        created = sum(
            scheduling_services.generate_visits(
                schedule=schedule, until=until, actor=staff_user(request), request=request
            )
            for schedule in scope_to_agency(queryset, request)
        )
        self.message_user(
            request,
            ngettext("%(n)d visit created.", "%(n)d visits created.", created) % {"n": created},
            messages.SUCCESS,
        )


@admin.register(CalendarFeed, site=backoffice_site)
class CalendarFeedAdmin(AgencyScopedAdmin):
    list_display = ("user", "created_at", "revoked_at", "last_fetched_on")
    list_select_related = ("user",)
    fields = ("user", "created_at", "revoked_at", "last_fetched_on", "fetches_on_last_day")
    readonly_fields = fields
