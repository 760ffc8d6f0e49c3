"""The back office's model admins: every agency-scoped record staff work with.

Each derives from the scoped bases in scoping.py; roles come from roles.py. Models without
an agency column (sessions, lockout records, queued emails, the admin log, two-factor
devices) are never registered here.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.accounts import services as account_services
from careportal.accounts.admin import reset_two_factor_sign_in, unlock_sign_in
from careportal.accounts.lockout import locked_now
from careportal.agencies.forms import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    MESSAGE_FIELDS,
    AgencySettingsForm,
)
from careportal.agencies.images import ImageUploadField
from careportal.agencies.models import Agency, StaffMembership, StaffRole
from careportal.audit.events import record
from careportal.audit.models import AuditEvent
from careportal.backoffice import roles
from careportal.backoffice.scoping import (
    AgencyAutocompleteFilter,
    AgencyScopedAdmin,
    AgencyScopedTabularInline,
    scope_to_agency,
    staff_agency,
)
from careportal.backoffice.site import backoffice_site
from careportal.billing import services as billing_services
from careportal.billing.models import Invoice, InvoiceLine, Payment, validate_invoice_number
from careportal.careplans.models import Goal, PlanTask, ServicePlan
from careportal.invitations import services as invitations
from careportal.invitations.admin import send_portal_invitations
from careportal.messaging.models import Message
from careportal.people import services as people
from careportal.people.models import (
    Client,
    ClientPayer,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Residence,
)
from careportal.scheduling import services as scheduling_services
from careportal.scheduling.models import (
    WEEKDAYS,
    CalendarFeed,
    Caregiver,
    Visit,
    VisitSchedule,
)


class PartyAdminMixin:
    """A party saved or deleted here, or in an inline, goes through the one door.

    `people.services.save_party` and `delete_party` do everything that follows (the portal
    login, its invitation, the review of logins left without a relationship, the audit
    event); this class only hands them the records the forms built.
    """

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        people.save_party(party=obj, agency=obj.agency, actor=request.user, request=request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Every party list offers `Send portal invitations` (invitations.admin), next to
        # the actions each admin declares.
        actions = super().get_actions(request)
        if IS_POPUP_VAR not in request.GET and self.has_change_permission(request):
            action = self.get_action(send_portal_invitations)
            actions[action[1]] = action
        return actions

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        people.delete_party(party=obj, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            people.delete_party(party=obj, actor=request.user, request=request)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model not in people.PARTY_MODELS:
            super().save_formset(request, form, formset, change)
            return
        parties = formset.save(commit=False)
        for obj in formset.deleted_objects:
            people.delete_party(party=obj, actor=request.user, request=request)
        for obj in parties:
            people.save_party(party=obj, agency=obj.agency, actor=request.user, request=request)
        formset.save_m2m()


def _logins_of_row(modeladmin: Any, row: Any) -> list[Any]:
    """Return the logins a selected row stands for: its `user`, or the admin's `logins_of`."""
    if callable(getattr(type(modeladmin), "logins_of", None)):
        return [user for user in modeladmin.logins_of(row) if user is not None]
    user = getattr(row, "user", None)
    return [user] if user is not None else []


@admin.action(
    description=_("Require a new password at next sign-in"),
    permissions=["require_password_change"],
)
def require_password_change_at_sign_in(
    modeladmin: Any, request: HttpRequest, queryset: Any
) -> None:
    """Make each selected row's login choose a new password at its next sign-in.

    Its sessions end now (accounts.services.require_password_change). The owner's own
    login is left alone: they change their password in My account.
    """
    required: set[int] = set()
    skipped_self = False
    for row in scope_to_agency(queryset, request):
        for user in _logins_of_row(modeladmin, row):
            if user.pk == request.user.pk:
                skipped_self = True
            elif user.pk not in required:
                account_services.require_password_change(
                    user=user, actor=request.user, request=request
                )
                required.add(user.pk)
    count = len(required)
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)d login must choose a new password at its next sign-in; its sessions "
            "have ended.",
            "%(count)d logins must choose a new password at their next sign-in; their "
            "sessions have ended.",
            count,
        )
        % {"count": count},
        messages.SUCCESS,
    )
    if skipped_self:
        modeladmin.message_user(
            request,
            _("You cannot require this of your own login here. Use My account instead."),
            messages.WARNING,
        )


class UnlockMixin:
    """The `Unlock sign-in`, `Reset two-step sign-in` and `Require a new password at next
    sign-in` actions (the owner's alone) and a column: is the login locked now?"""

    actions = (unlock_sign_in, reset_two_factor_sign_in, require_password_change_at_sign_in)

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "unlock")

    def has_reset_two_factor_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "reset_two_factor")

    def has_require_password_change_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "require_password_change")

    def login_locked(self) -> Exists:
        return locked_now(OuterRef("user__username"))

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).annotate(login_is_locked=self.login_locked())

    def get_list_display(self, request: HttpRequest) -> list[str]:
        return [*super().get_list_display(request), "locked_display"]

    @admin.display(description=_("sign-in locked"), boolean=True, ordering="login_is_locked")
    def locked_display(self, row: Any) -> bool:
        return row.login_is_locked


class PeopleUnlockMixin(UnlockMixin):
    """On a payer or a community: the logins of the people who use the portal for it."""

    def login_locked(self) -> Exists:
        people_field = self.model.people.field
        return Exists(
            people_field.model.objects.filter(
                locked_now(OuterRef("user__username")), **{people_field.name: OuterRef("pk")}
            )
        )

    def logins_of(self, row: Any) -> list[Any]:
        return [person.user for person in row.people.select_related("user") if person.user]


class AuditedViewMixin:
    """Record every view of protected health information or money in the back office.

    Service plans (with their goals and tasks), invoices (with their lines and payments)
    and visits and recurring schedules (the calendar) are audited wherever staff read
    them, as in the portal:
    - a change page records `viewed_action` naming the record, or the record it belongs
      to (`audited_via`: a goal's plan, a payment's invoice), with the row itself;
    - a change list records one `list_viewed_action` event per page view, with the ids of
      the rows shown on that page, of the records they belong to and of their clients.
    """

    viewed_action = ""
    # Defaults to viewed_action.
    list_viewed_action = ""
    # The foreign key to the record an event names ("plan", "invoice"); "" for the row.
    audited_via = ""

    def _audited_record(self, obj: Any) -> Any:
        return getattr(obj, self.audited_via) if self.audited_via else obj

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        # The change list reads each row's record and client: keep it one query. Django
        # skips list_select_related once a select_related is set, so name its fields too.
        if not self.audited_via:
            return queryset
        shown = (
            self.list_select_related if isinstance(self.list_select_related, tuple | list) else ()
        )
        return queryset.select_related(self.audited_via, *shown)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: Any = None):  # fmt: skip
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                detail = {"place": "backoffice"}
                if self.audited_via:
                    detail[self.opts.model_name] = obj.pk
                record(self.viewed_action, request=request, obj=self._audited_record(obj), **detail)
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and response.status_code == 200 and changelist is not None:
            rows = list(changelist.result_list)  # the page's rows, loaded once for the page
            records = [self._audited_record(row) for row in rows]
            detail: dict[str, Any] = {
                "place": "backoffice",
                "model": self.opts.label_lower,
                "ids": [row.pk for row in rows],
                "clients": sorted({r.client_id for r in records if r.client_id is not None}),
            }
            if self.audited_via:
                detail[f"{self.audited_via}s"] = sorted({r.pk for r in records})
            record(
                self.list_viewed_action or self.viewed_action,
                request=request,
                agency=staff_agency(request),
                **detail,
            )
        return response


# Search on the big tables ---------------------------------------------------------------
# Visits, invoices, their lines and payments run to hundreds of thousands of rows: they are
# searched through the small tables they point to (clients, payers, communities, invoice
# numbers) and matched on indexed columns, never by a text match over every row.


def clients_named(request: HttpRequest, search_term: str) -> models.QuerySet:
    """Return the agency's clients with, for each word of the search, a first, last or
    preferred name that starts with it ("marg hal" finds Margaret Hale)."""
    clients = scope_to_agency(Client.objects.all(), request)
    for word in search_term.split():
        clients = clients.filter(
            Q(last_name__istartswith=word)
            | Q(first_name__istartswith=word)
            | Q(preferred_name__istartswith=word)
        )
    return clients


def invoices_numbered(request: HttpRequest, search_term: str) -> models.QuerySet:
    """Return the agency's invoice with exactly this number (its unique index), if any."""
    number = search_term.strip()
    try:
        validate_invoice_number(number)
    except ValidationError:
        return Invoice.objects.none()
    return scope_to_agency(Invoice.objects.filter(number=number), request)


def _ids(queryset: models.QuerySet, limit: int = 2_000) -> list[int]:
    # A short list of ids: the big table is then read through its index on each id, which
    # a subquery under an OR would not allow. A search matching more is too broad to page.
    return list(queryset.order_by().values_list("pk", flat=True)[:limit])


# People ---------------------------------------------------------------------------------


class EmergencyContactInline(AgencyScopedTabularInline):
    model = EmergencyContact
    fields = ("name", "relationship", "relationship_other", "email", "phone", "user")
    readonly_fields = ("user",)
    row_select_related = ("user",)


@admin.register(Client, site=backoffice_site)
class ClientAdmin(UnlockMixin, PartyAdminMixin, AgencyScopedAdmin):
    list_display = ("last_name", "first_name", "preferred_name", "status", "email", "phone")
    list_filter = ("status",)
    # Prefixes and the exact email: "hal" finds Hale, on the (agency, last_name) index.
    search_fields = ("^last_name", "^first_name", "^preferred_name", "=email")
    search_help_text = _("The first letters of a name, or the whole email.")
    readonly_fields = ("user",)
    # The contacts are edited here. A client's payers and communities are listed with links
    # to their own pages (change_form.html): as inlines they were a third of the page's
    # time. Visits and invoices (hundreds) are links to their lists, filtered to the client.
    inlines = (EmergencyContactInline,)
    # How many payers or communities the page names; the rest are in the linked list.
    links_shown = 10

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        # The page shows the client's login: loaded with the client, on the join the
        # "sign-in locked" column already makes.
        return super().get_queryset(request).select_related("user")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: Any = None) -> HttpResponse:  # fmt: skip
        extra_context = {**(extra_context or {}), "client_records": [], "client_links": []}
        if object_id.isdigit():
            links = (
                (Visit, _("Visits"), "scheduling_visit_changelist"),
                (ServicePlan, _("Service plans"), "careplans_serviceplan_changelist"),
                (Invoice, _("Invoices"), "billing_invoice_changelist"),
            )
            extra_context["client_records"] = [
                (label, f"{reverse(f'backoffice:{name}')}?client__id__exact={object_id}")
                for model, label, name in links
                if self.admin_site._registry[model].has_module_permission(request)
            ]
            extra_context["client_links"] = [
                self._links_of_client(request, int(object_id), model, party)
                for model, party in ((ClientPayer, "payer"), (Residence, "community"))
                if self.admin_site._registry[model].has_module_permission(request)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def _links_of_client(
        self, request: HttpRequest, client_id: int, model: type[models.Model], party: str
    ) -> dict[str, Any]:
        """Return a client's payers or communities as the page lists them: each with its
        dates and the link to its page, then links to add one and to see them all."""
        link_admin = self.admin_site._registry[model]
        info = (model._meta.app_label, model._meta.model_name)
        rows = (
            link_admin.get_queryset(request)
            .filter(client_id=client_id)
            .select_related(party)
            .order_by("-start_date", "-id")[: self.links_shown]
        )
        shown = f"client__id__exact={client_id}"
        return {
            "title": model._meta.verbose_name_plural,
            "rows": [
                (
                    getattr(row, party),
                    row.start_date,
                    row.end_date,
                    reverse(f"backoffice:{info[0]}_{info[1]}_change", args=[row.pk]),
                )
                for row in rows
            ],
            "all_url": f"{reverse(f'backoffice:{info[0]}_{info[1]}_changelist')}?{shown}",
            "add_url": (
                f"{reverse(f'backoffice:{info[0]}_{info[1]}_add')}?client={client_id}&"
                f"{urlencode({'_changelist_filters': shown})}"
                if link_admin.has_add_permission(request)
                else ""
            ),
            "add_label": _("Add another %(verbose_name)s")
            % {"verbose_name": model._meta.verbose_name},
        }


@admin.register(EmergencyContact, site=backoffice_site)
class EmergencyContactAdmin(UnlockMixin, PartyAdminMixin, AgencyScopedAdmin):
    list_display = ("name", "relationship", "client", "email", "phone")
    list_filter = (("client", AgencyAutocompleteFilter),)
    list_select_related = ("client",)
    search_fields = ("^name", "=email", "^client__last_name")
    search_help_text = _("The first letters of the contact's name or the client's last name.")
    autocomplete_fields = ("client",)
    readonly_fields = ("user",)


# Payers and communities share a shape: the people who use the portal for them, and the
# clients linked to them with dates.


class OrganisationPersonInline(AgencyScopedTabularInline):
    fields = ("name", "email", "user")
    readonly_fields = ("user",)


class LinkedClientInline(AgencyScopedTabularInline):
    fields = ("client", "start_date", "end_date")
    autocomplete_fields = ("client",)


class OrganisationAdmin(PeopleUnlockMixin, PartyAdminMixin, AgencyScopedAdmin):
    list_display = ("name", "kind", "contact_person", "email", "phone")
    list_filter = ("kind",)
    search_fields = ("name", "contact_person", "email")


class OrganisationPersonAdmin(UnlockMixin, PartyAdminMixin, AgencyScopedAdmin):
    search_fields = ("name", "email")
    readonly_fields = ("user",)


class PayerPersonInline(OrganisationPersonInline):
    model = PayerPerson


class PayerClientInline(LinkedClientInline):
    model = ClientPayer


@admin.register(Payer, site=backoffice_site)
class PayerAdmin(OrganisationAdmin):
    inlines = (PayerPersonInline, PayerClientInline)


@admin.register(PayerPerson, site=backoffice_site)
class PayerPersonAdmin(OrganisationPersonAdmin):
    list_display = ("name", "email", "payer")
    list_filter = ("payer",)
    list_select_related = ("payer",)
    autocomplete_fields = ("payer",)


class CommunityPersonInline(OrganisationPersonInline):
    model = CommunityPerson


class CommunityResidentInline(LinkedClientInline):
    model = Residence


@admin.register(Community, site=backoffice_site)
class CommunityAdmin(OrganisationAdmin):
    inlines = (CommunityPersonInline, CommunityResidentInline)


@admin.register(CommunityPerson, site=backoffice_site)
class CommunityPersonAdmin(OrganisationPersonAdmin):
    list_display = ("name", "email", "community")
    list_filter = ("community",)
    list_select_related = ("community",)
    autocomplete_fields = ("community",)


@admin.register(ClientPayer, site=backoffice_site)
class ClientPayerAdmin(AgencyScopedAdmin):
    list_display = ("client", "payer", "start_date", "end_date")
    list_filter = ("payer",)
    list_select_related = ("client", "payer")
    search_fields = ("^client__last_name", "payer__name")
    autocomplete_fields = ("client", "payer")


@admin.register(Residence, site=backoffice_site)
class ResidenceAdmin(AgencyScopedAdmin):
    list_display = ("client", "community", "start_date", "end_date")
    list_filter = ("community",)
    list_select_related = ("client", "community")
    search_fields = ("^client__last_name", "community__name")
    autocomplete_fields = ("client", "community")


# Scheduling -----------------------------------------------------------------------------


@admin.register(Caregiver, site=backoffice_site)
class CaregiverAdmin(AgencyScopedAdmin):
    list_display = ("first_name", "last_name", "is_active", "show_photo_to_families")
    list_filter = ("is_active",)
    search_fields = ("^first_name", "^last_name")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """The photo goes through agencies.images, as the logo does: checked, re-encoded,
        stored under a random name (families may be shown it)."""
        if db_field.name == "photo":
            kwargs["form_class"] = ImageUploadField
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Visit, site=backoffice_site)
class VisitAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = "calendar.viewed"
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
    # Latest first, on the (agency, start) index.
    ordering = ("-start",)
    autocomplete_fields = ("client",)
    # A raw id box, as schedulers type caregivers' numbers; its label is scoped too.
    raw_id_fields = ("caregiver",)
    list_select_related = ("client", "caregiver")
    # Set by the schedule's "Create visits" action, never typed in.
    readonly_fields = ("schedule",)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str):
        """Find visits by their client's name (clients_named), through the clients.

        The clients are found in their own small table and the visits by client, on the
        (agency, client, start) index, never by a join of a million visits to the clients.
        """
        if not search_term.split():
            return queryset, False
        clients = _ids(clients_named(request, search_term))
        return scope_to_agency(queryset.filter(client__in=clients), request), False


@admin.register(VisitSchedule, site=backoffice_site)
class VisitScheduleAdmin(AuditedViewMixin, AgencyScopedAdmin):
    # A client's care timetable: audited like the visits it makes.
    viewed_action = "calendar.viewed"
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

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str):
        """Find schedules by their client's name, as visits are found."""
        if not search_term.split():
            return queryset, False
        return scope_to_agency(
            queryset.filter(client__in=clients_named(request, search_term)), request
        ), False

    @admin.action(description=_("Create visits for the next 8 weeks"), permissions=["change"])
    def create_visits(self, request: HttpRequest, queryset: Any) -> None:
        agency = staff_agency(request)
        until = timezone.localdate(timezone=agency.tz) + datetime.timedelta(weeks=8)
        created = sum(
            scheduling_services.generate_visits(
                schedule=schedule, until=until, actor=request.user, request=request
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


# Service plans --------------------------------------------------------------------------


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


# Billing --------------------------------------------------------------------------------


class InvoiceLineInline(AgencyScopedTabularInline):
    model = InvoiceLine
    fields = ("date", "service", "caregiver", "hours", "rate", "amount")
    readonly_fields = ("amount",)
    autocomplete_fields = ("caregiver",)

    @admin.display(description=_("amount"))
    def amount(self, line: InvoiceLine) -> Any:
        return line.amount


class PaymentInline(AgencyScopedTabularInline):
    model = Payment
    fields = ("date", "amount", "method", "reference")


class InvoiceForm(forms.ModelForm):
    class Meta:
        model = Invoice
        fields = (
            "number",
            "bill_to_client",
            "bill_to_payer",
            "bill_to_community",
            "client",
            "period_start",
            "period_end",
            "issue_date",
            "due_date",
            "tax_rate",
            "adjustments",
            "notes",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        parties = [
            f for f in ("bill_to_client", "bill_to_payer", "bill_to_community") if cleaned.get(f)
        ]
        if len(parties) != 1:
            raise ValidationError(_("Bill exactly one party: a client, a payer or a community."))
        # A slip shows the client's care lines to the bill-to party: it must be related.
        problem = billing_services.bill_to_problem(
            client=cleaned.get("client"), party=cleaned[parties[0]]
        )
        if problem:
            self.add_error(parties[0], problem)
        return cleaned


@admin.register(Invoice, site=backoffice_site)
class InvoiceAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = "invoice.viewed"
    list_viewed_action = "invoice.list_viewed"
    form = InvoiceForm
    list_display = (
        "number",
        "bill_to_display",
        "client",
        "issue_date",
        "due_date",
        "total_display",
        "balance_display",
        "shown_status_display",
    )
    # No date_hierarchy (it aggregates over every invoice); issue_date's choices are fixed.
    list_filter = ("status", ("client", AgencyAutocompleteFilter), "issue_date")
    # Searched by exact number or by name through the parties (get_search_results).
    search_fields = ("number", "client__last_name", "bill_to_payer__name")
    search_help_text = _(
        "The whole invoice number, or the first letters of the client's or the payer's name."
    )
    autocomplete_fields = ("client", "bill_to_client", "bill_to_payer", "bill_to_community")
    fieldsets = (
        (None, {"fields": ("number", "status", "shown_status_display")}),
        (_("Bill to"), {"fields": ("bill_to_client", "bill_to_payer", "bill_to_community")}),
        (_("Care"), {"fields": ("client", "period_start", "period_end")}),
        (_("Dates"), {"fields": ("issue_date", "due_date")}),
        (
            _("Money"),
            {
                "fields": (
                    "tax_rate",
                    "adjustments",
                    "subtotal_display",
                    "tax_display",
                    "total_display",
                    "paid_display",
                    "balance_display",
                )
            },
        ),
        (None, {"fields": ("notes",)}),
    )
    # The stored status changes through the issue and void actions alone (with their audit).
    readonly_fields = (
        "status",
        "shown_status_display",
        "subtotal_display",
        "tax_display",
        "total_display",
        "paid_display",
        "balance_display",
    )
    inlines = (InvoiceLineInline, PaymentInline)
    actions = ("issue_selected", "void_selected")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        # The money shown is stored on the invoice: no lines or payments are loaded for
        # the list, only the parties it names.
        return (
            super()
            .get_queryset(request)
            .select_related("client", "bill_to_client", "bill_to_payer", "bill_to_community")
        )

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str):
        """Find invoices by whole number, or by the name of their client or bill-to party.

        Each match goes through an index: the number's unique one, and the client's, the
        payer's or the community's invoices by the ids of the few that match the name.
        This also answers the invoice autocomplete of lines and payments.
        """
        words = search_term.split()
        if not words:
            return queryset, False
        numbered = Q(pk__in=_ids(invoices_numbered(request, search_term)))
        if any(character.isdigit() for character in search_term):
            # A number, not a name: no need to look through the clients and parties.
            return scope_to_agency(queryset.filter(numbered), request), False
        # Payers and communities are a few hundred: a match inside the name is cheap.
        payers = scope_to_agency(Payer.objects.all(), request)
        communities = scope_to_agency(Community.objects.all(), request)
        for word in words:
            payers = payers.filter(name__icontains=word)
            communities = communities.filter(name__icontains=word)
        clients = _ids(clients_named(request, search_term))
        match = (
            numbered
            | Q(client__in=clients)
            | Q(bill_to_client__in=clients)
            | Q(bill_to_payer__in=_ids(payers))
            | Q(bill_to_community__in=_ids(communities))
        )
        return scope_to_agency(queryset.filter(match), request), False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Lines, payments, tax rate or adjustments may have changed: store the new money.
        billing_services.recompute_invoice_money(invoice=form.instance)
        parties = ("bill_to_client", "bill_to_payer", "bill_to_community")
        if change and set(parties) & set(form.changed_data):
            # The party it was billed to before no longer counts it in its totals.
            former = {f"{name}_id": form.initial.get(name) for name in parties}
            billing_services.recount_totals_of_invoices_parties(
                invoices=[
                    Invoice(
                        agency_id=form.instance.agency_id, status=form.instance.status, **former
                    )
                ]
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        billing_services.recount_totals_of_invoices_parties(invoices=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            invoices = list(queryset)
            super().delete_queryset(request, queryset)
            billing_services.recount_totals_of_invoices_parties(invoices=invoices)

    @admin.display(description=_("bill to"))
    def bill_to_display(self, invoice: Invoice) -> Any:
        return invoice.bill_to

    @admin.display(description=_("subtotal"))
    def subtotal_display(self, invoice: Invoice) -> Any:
        return invoice.subtotal if invoice.pk else ""

    @admin.display(description=_("tax"))
    def tax_display(self, invoice: Invoice) -> Any:
        return invoice.tax if invoice.pk else ""

    @admin.display(description=_("total"))
    def total_display(self, invoice: Invoice) -> Any:
        return invoice.total if invoice.pk else ""

    @admin.display(description=_("paid"))
    def paid_display(self, invoice: Invoice) -> Any:
        return invoice.amount_paid if invoice.pk else ""

    @admin.display(description=_("balance"))
    def balance_display(self, invoice: Invoice) -> Any:
        return invoice.balance if invoice.pk else ""

    @admin.display(description=_("shown status"))
    def shown_status_display(self, invoice: Invoice) -> Any:
        return invoice.get_shown_status_display() if invoice.pk else ""

    def _run(self, request: HttpRequest, queryset: Any, service: Any, done: Any) -> None:
        count = 0
        for invoice in scope_to_agency(queryset, request):
            try:
                service(invoice=invoice, actor=request.user, request=request)
            except billing_services.InvoiceStateError as exc:
                self.message_user(request, f"{invoice.number}: {exc}", messages.WARNING)
            else:
                count += 1
        if count:
            self.message_user(request, done(count), messages.SUCCESS)

    @admin.action(description=_("Issue the selected draft invoices"), permissions=["change"])
    def issue_selected(self, request: HttpRequest, queryset: Any) -> None:
        self._run(
            request,
            queryset,
            billing_services.issue_invoice,
            lambda n: ngettext("%(n)d invoice issued.", "%(n)d invoices issued.", n) % {"n": n},
        )

    @admin.action(description=_("Void the selected invoices"), permissions=["change"])
    def void_selected(self, request: HttpRequest, queryset: Any) -> None:
        self._run(
            request,
            queryset,
            billing_services.void_invoice,
            lambda n: ngettext("%(n)d invoice voided.", "%(n)d invoices voided.", n) % {"n": n},
        )


class InvoiceRowMixin:
    """Lines and payments: found by their invoice's number, and its stored money kept right.

    Every save, move and delete recomputes the invoice's stored figures (and the former
    invoice's, if a row moved), in the admin view's transaction.
    """

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str):
        """Find an invoice's rows by its whole number, on the (agency, invoice) index."""
        if not search_term.split():
            return queryset, False
        invoices = _ids(invoices_numbered(request, search_term))
        return scope_to_agency(queryset.filter(invoice__in=invoices), request), False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        former = form.initial.get("invoice") if change else None
        super().save_model(request, obj, form, change)
        billing_services.recompute_money_of_invoices(
            invoice_ids=[obj.invoice_id] + ([former] if former else [])
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        billing_services.recompute_money_of_invoices(invoice_ids=[obj.invoice_id])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            invoice_ids = list(queryset.values_list("invoice_id", flat=True))
            super().delete_queryset(request, queryset)
            billing_services.recompute_money_of_invoices(invoice_ids=invoice_ids)


@admin.register(InvoiceLine, site=backoffice_site)
class InvoiceLineAdmin(InvoiceRowMixin, AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = "invoice.viewed"
    list_viewed_action = "invoice.list_viewed"
    audited_via = "invoice"
    list_display = ("invoice", "date", "service", "caregiver", "hours", "rate")
    list_filter = (("caregiver", AgencyAutocompleteFilter),)
    list_select_related = ("invoice", "caregiver")
    # Searched by the invoice's whole number (get_search_results).
    search_fields = ("invoice__number",)
    search_help_text = _("The whole invoice number.")
    ordering = ("-date", "-id")
    autocomplete_fields = ("invoice", "caregiver")


@admin.register(Payment, site=backoffice_site)
class PaymentAdmin(InvoiceRowMixin, AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = "invoice.viewed"
    list_viewed_action = "invoice.list_viewed"
    audited_via = "invoice"
    list_display = ("invoice", "date", "amount", "method", "reference")
    list_select_related = ("invoice",)
    # Searched by the invoice's whole number (get_search_results); no date_hierarchy.
    search_fields = ("invoice__number",)
    search_help_text = _("The whole invoice number.")
    list_filter = ("date",)
    ordering = ("-date", "-id")
    autocomplete_fields = ("invoice",)


# Messages and audit: read-only ----------------------------------------------------------


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message, site=backoffice_site)
class MessageAdmin(ReadOnlyMixin, AgencyScopedAdmin):
    list_display = ("created_at", "sender_name", "relationship", "subject", "recipient")
    search_fields = ("sender_name", "sender_email", "subject")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "sender",
        "sender_name",
        "sender_email",
        "relationship",
        "recipient",
        "subject",
        "body",
    )
    readonly_fields = fields

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: Any = None) -> HttpResponse:  # fmt: skip
        """Show one message, and record that this staff member read it (issue 11, item 10)."""
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            message = self.get_object(request, object_id)
            if message is not None:
                record("message.viewed", request=request, obj=message, place="backoffice")
        return response


@admin.register(AuditEvent, site=backoffice_site)
class AuditEventAdmin(ReadOnlyMixin, AgencyScopedAdmin):
    """The owner reads the audit trail; nobody, superusers included, edits it."""

    list_display = (
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_label",
        "ip_address",
    )
    # No date_hierarchy nor filters listing every distinct action: both read the whole
    # trail. Its created_at filter has fixed choices; the exact action is searched.
    list_filter = ("created_at",)
    search_fields = ("=action", "^actor_label", "^object_label")
    search_help_text = _("The exact action (invoice.viewed), or the first letters of who or what.")
    fields = (
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "client_id",
        "ip_address",
        "detail",
    )
    readonly_fields = fields


# Staff and the agency's settings --------------------------------------------------------


class StaffMemberAddForm(forms.ModelForm):
    email = forms.EmailField(
        label=_("email"), help_text=_("The invitation to the back office is sent here.")
    )

    class Meta:
        model = StaffMembership
        fields = ("name", "role")


@admin.register(StaffMembership, site=backoffice_site)
class StaffMembershipAdmin(UnlockMixin, AgencyScopedAdmin):
    list_display = ("name", "role", "user", "created_at")
    list_select_related = ("user",)
    list_filter = ("role",)
    search_fields = ("name", "user__username", "user__email")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "email", "role"] if obj is None else ["name", "role", "user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        # Nobody changes their own role: an owner cannot leave the agency without one.
        return ["user", "role"] if obj.user_id == request.user.pk else ["user"]

    @staticmethod
    def _is_owner(user: Any) -> bool:
        membership = roles.membership_of(user)
        return membership is not None and membership.role == StaffRole.OWNER

    def _touches_an_owner(self, request: HttpRequest, obj: Any) -> bool:
        # Only an owner may edit or remove an owner's row (an administrator reads it).
        return obj is not None and obj.role == StaffRole.OWNER and not self._is_owner(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self._touches_an_owner(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.user_id == request.user.pk:
            return False
        if self._touches_an_owner(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        # Only the owner gives the owner role: the choice is not offered to anyone else, and
        # a posted role=owner is refused by the form.
        if db_field.name == "role" and not self._is_owner(request.user):
            kwargs["choices"] = [
                (value, label) for value, label in StaffRole.choices if value != StaffRole.OWNER
            ]
            kwargs["error_messages"] = {
                "invalid_choice": _("Only the owner can give the owner role.")
            }
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = StaffMemberAddForm
            kwargs["fields"] = ["name", "email", "role"]
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A staff login is made and invited by the invitations service, never typed in here.
        user = invitations.invite_staff(
            agency=staff_agency(request),
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user,
            request=request,
        )
        membership = user.staff_membership
        obj.pk, obj.user, obj.created_at = membership.pk, user, membership.created_at


@admin.register(Agency, site=backoffice_site)
class AgencySettingsAdmin(AgencyScopedAdmin):
    """The owner's own agency: contact details and the portal's settings."""

    form = AgencySettingsForm
    fieldsets = (
        (None, {"fields": CONTACT_FIELDS}),
        (_("Passwords and sessions"), {"fields": ACCOUNT_FIELDS}),
        (_("Message to the owner"), {"fields": MESSAGE_FIELDS}),
    )

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return []

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):
        # One agency per staff member: go straight to its settings.
        self._require_module(request)
        agency = staff_agency(request)
        return HttpResponseRedirect(reverse("backoffice:agencies_agency_change", args=[agency.pk]))
