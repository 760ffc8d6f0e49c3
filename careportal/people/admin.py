"""People in the back office: clients, their emergency contacts, payers, communities, the
people who use the portal for them, and the links between clients and payers or communities.

Every party is saved and deleted through `people.services` (PartyAdminMixin); the logins
behind the rows get the owner's sign-in actions (accounts.admin).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR
from django.db import connection, models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from careportal.accounts.admin import PeopleUnlockMixin, UnlockMixin
from careportal.audit.actions import Action
from careportal.audit.events import audit_event, record_many
from careportal.backoffice.scoping import (
    AgencyAutocompleteFilter,
    AgencyScopedAdmin,
    AgencyScopedTabularInline,
    scope_to_agency,
    staff_agency,
)
from careportal.backoffice.site import backoffice_site, staff_user
from careportal.backoffice.templatetags.backoffice_list import PK_MARK
from careportal.billing.models import Invoice
from careportal.careplans.models import ServicePlan
from careportal.invitations.admin import send_portal_invitations
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
    display_name,
)
from careportal.scheduling.models import Visit

if TYPE_CHECKING:
    from django.forms.models import BaseModelFormSet

    from careportal.people.services import Party

    # The mixin below is used only with model admins: typed as their subclass.
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class PartyAdminMixin(_AdminBase):
    """A party saved or deleted here, or in an inline, goes through the one door.

    `people.services.save_party` and `delete_party` do everything that follows (the portal
    login, its invitation, the review of logins left without a relationship, the audit
    event); this class only hands them the records the forms built.
    """

    def save_model(
        self, request: HttpRequest, obj: Party, form: forms.ModelForm[Party], change: bool
    ) -> None:
        people.save_party(party=obj, agency=obj.agency, actor=staff_user(request), request=request)

    def get_actions(
        self, request: HttpRequest
    ) -> dict[str, tuple[Callable[..., str], str, str] | None]:
        # Every party list offers `Send portal invitations` (invitations.admin), next to
        # the actions each admin declares.
        actions = super().get_actions(request)
        if IS_POPUP_VAR not in request.GET and self.has_change_permission(request):
            # A function is always an action: Django returns None only for a missing name.
            action = cast(
                "tuple[Callable[..., str], str, str]", self.get_action(send_portal_invitations)
            )
            actions[action[1]] = action
        return actions

    def delete_model(self, request: HttpRequest, obj: Party) -> None:
        people.delete_party(party=obj, actor=staff_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Party]) -> None:
        for obj in queryset:
            people.delete_party(party=obj, actor=staff_user(request), request=request)

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm[Any],
        formset: BaseModelFormSet[Any, Any],
        change: bool,
    ) -> None:
        if formset.model not in people.PARTY_MODELS:
            super().save_formset(request, form, formset, change)
            return
        parties = formset.save(commit=False)
        for obj in formset.deleted_objects:
            people.delete_party(party=obj, actor=staff_user(request), request=request)
        for obj in parties:
            people.save_party(
                party=obj, agency=obj.agency, actor=staff_user(request), request=request
            )
        formset.save_m2m()


def clients_named(request: HttpRequest, search_term: str) -> models.QuerySet[Client]:
    """Return the agency's clients with, for each word of the search, a first, last or
    preferred name that starts with it ("marg hal" finds Margaret Hale).

    Visits, schedules and invoices, too many to match by text, are searched through it.
    """
    clients = scope_to_agency(Client.objects.all(), request)
    for word in search_term.split():
        clients = clients.filter(
            Q(last_name__istartswith=word)
            | Q(first_name__istartswith=word)
            | Q(preferred_name__istartswith=word)
        )
    return clients


# Clients and their emergency contacts -------------------------------------------------


class EmergencyContactInline(AgencyScopedTabularInline):
    model = EmergencyContact
    fields = ("name", "relationship", "relationship_other", "email", "phone", "user")
    readonly_fields = ("user",)
    row_select_related = ("user",)


# A row of the client's contacts, payers or communities: (name, start, end, record id).
_Row = tuple[str, datetime.date | None, datetime.date | None, int]


@admin.register(Client, site=backoffice_site)
class ClientAdmin(UnlockMixin, PartyAdminMixin, AgencyScopedAdmin):
    list_display = ("last_name", "first_name", "preferred_name", "status", "email", "phone")
    list_filter = ("status",)
    # Prefixes and the exact email: "hal" finds Hale, on the (agency, last_name) index.
    search_fields = ("^last_name", "^first_name", "^preferred_name", "=email")
    search_help_text = _("The first letters of a name, or the whole email.")
    readonly_fields = ("user",)
    # A new client is entered with their emergency contacts. An existing client's contacts,
    # payers and communities are listed with links to their own pages (change_form.html):
    # as inlines they were most of the page's time. Visits and invoices (hundreds) are
    # links to their lists, filtered to the client.
    inlines = (EmergencyContactInline,)
    # How many contacts, payers or communities the page names; the rest are in the lists.
    links_shown = 10

    def get_inlines(self, request: HttpRequest, obj: Client | None) -> tuple[Any, ...]:
        return tuple(self.inlines) if obj is None else ()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Client]:
        # The page shows the client's login: loaded with the client, on the join the
        # "sign-in locked" column already makes.
        return super().get_queryset(request).select_related("user")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:  # fmt: skip
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
            kinds = [
                (model, party)
                for model, party in (
                    (EmergencyContact, "contact"),
                    (ClientPayer, "payer"),
                    (Residence, "community"),
                )
                if self.admin_site._registry[model].has_module_permission(request)
            ]
            rows = self._link_rows(request, int(object_id), [model for model, _party in kinds])
            extra_context["client_links"] = [
                links_section(self.admin_site, request, model, rows[model], "client", object_id)
                for model, _party in kinds
            ]
        response = super().change_view(request, object_id, form_url, extra_context)
        # A look at the client's details, listed on the client's My privacy page.
        original = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and response.status_code == 200 and original is not None:
            # The client is the staff member's agency's (the page is scoped): named from
            # the membership rather than loaded again from the client. Written as a page
            # view's one event is (record_many: its id is not read back).
            record_many(
                [
                    audit_event(
                        Action.CLIENT_VIEWED,
                        request=request,
                        obj=original,
                        agency=staff_agency(request),
                        place="backoffice",
                    )
                ]
            )
        return response

    def _link_rows(
        self, request: HttpRequest, client_id: int, models_shown: list[type[models.Model]]
    ) -> dict[type[models.Model], list[_Row]]:
        """Return the client's emergency contacts (by name) and latest payer and community
        links (latest start first), each kind's first `links_shown`, as (name, start, end,
        id) rows: a contact's name with the relationship, and no dates.

        One query for every kind, written out rather than built by the ORM: a queryset
        each took a tenth of the client's page.
        """
        found: dict[type[models.Model], list[Any]] = {model: [] for model in models_shown}
        agency = staff_agency(request)
        if agency is None or not models_shown:
            return found
        parts = []
        params: list[Any] = []
        shown = int(self.links_shown)
        # A contact has no dates: typed, for the links' dates in the same columns.
        no_date = "CAST(NULL AS DATE)"
        for index, model in enumerate(models_shown):
            if model is EmergencyContact:
                parts.append(
                    f"SELECT * FROM (SELECT {index}, e.id, e.name, {no_date}, {no_date}, "  # noqa: S608 - names from the models
                    f"e.relationship, e.relationship_other FROM {model._meta.db_table} e "
                    "WHERE e.agency_id = %s AND e.client_id = %s "
                    f"ORDER BY e.name, e.id LIMIT {shown}) link{index}"
                )
            else:
                party = _LINKED_PARTIES[model]
                parts.append(
                    f"SELECT * FROM (SELECT {index}, l.id, p.name, l.start_date, l.end_date, "  # noqa: S608 - names from the models
                    f"'', '' FROM {model._meta.db_table} l "
                    f"JOIN {party._meta.db_table} p ON p.id = l.{party._meta.model_name}_id "
                    "WHERE l.agency_id = %s AND l.client_id = %s "
                    f"ORDER BY l.start_date DESC, l.id DESC LIMIT {shown}) link{index}"
                )
            params += [agency.pk, client_id]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            fetched = cursor.fetchall()
        for index, pk, name, start, end, relationship, in_words in fetched:
            model = models_shown[index]
            if model is EmergencyContact:
                kin = EmergencyContact(relationship=relationship, relationship_other=in_words)
                found[model].append((f"{name} ({kin.relationship_name})", None, None, pk))
            else:
                found[model].append((name, _as_date(start), _as_date(end), pk))
        for model, rows in found.items():
            if model is EmergencyContact:
                rows.sort(key=lambda row: (row[0].casefold(), row[3]))
            else:
                rows.sort(key=lambda row: (row[1], row[3]), reverse=True)
        return found


# Added to a parent's "Add another" links (`links_section`): after the new row is saved, the
# staff member is taken back to the parent's page, where it is listed.
BACK_TO = "_back_to"


class BackToParentMixin(_AdminBase):
    """A row added from its parent's page (a client's contact or link, a payer's or
    community's link) goes back to that page when saved, not to this model's list."""

    parents = ("client", "payer", "community")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The form posts to its own address with the list's filters only: the way back
        # is added to it, or it would be lost between the page and its answer.
        field = request.GET.get(BACK_TO, "")
        if field in self.parents and not form_url:
            form_url = f"?{urlencode({BACK_TO: field})}"
        return super().add_view(request, form_url, extra_context)

    def response_post_save_add(self, request: HttpRequest, obj: Any) -> HttpResponseRedirect:
        field = request.GET.get(BACK_TO, "")
        if field in self.parents and hasattr(obj, f"{field}_id"):
            parent = getattr(obj, field)
            info = (parent._meta.app_label, parent._meta.model_name)
            change = reverse(f"backoffice:{info[0]}_{info[1]}_change", args=[parent.pk])
            return HttpResponseRedirect(change)
        return super().response_post_save_add(request, obj)


def links_section(
    site: admin.AdminSite,
    request: HttpRequest,
    model: type[models.Model],
    rows: list[_Row],
    field: str,
    record_id: str,
) -> dict[str, Any]:
    """Return a record's contacts or links of one kind as its page lists them (the
    `links` of change_form.html): each row with the link to its page (a link's dates too),
    then links to add one for the record (`field` names it) and to see them all."""
    link_admin = site._registry[model]
    info = (model._meta.app_label, model._meta.model_name)
    shown = f"{field}__id__exact={record_id}"
    # One reverse() for the rows' links, each given its id.
    change = reverse(f"backoffice:{info[0]}_{info[1]}_change", args=[PK_MARK])
    return {
        "title": model._meta.verbose_name_plural,
        "rows": [
            (name, start, end, change.replace(PK_MARK, str(pk))) for name, start, end, pk in rows
        ],
        "all_url": f"{reverse(f'backoffice:{info[0]}_{info[1]}_changelist')}?{shown}",
        "add_url": (
            f"{reverse(f'backoffice:{info[0]}_{info[1]}_add')}?{field}={record_id}&"
            f"{urlencode({BACK_TO: field, '_changelist_filters': shown})}"
            if link_admin.has_add_permission(request)
            else ""
        ),
        "add_label": _("Add another %(verbose_name)s") % {"verbose_name": model._meta.verbose_name},
    }


# The party each kind of client link names, by the link's model.
_LINKED_PARTIES: dict[type[models.Model], type[models.Model]] = {
    ClientPayer: Payer,
    Residence: Community,
}


def _as_date(value: Any) -> Any:
    """Return a date read by a raw query as a date (SQLite answers with its text)."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


@admin.register(EmergencyContact, site=backoffice_site)
class EmergencyContactAdmin(BackToParentMixin, UnlockMixin, PartyAdminMixin, AgencyScopedAdmin):
    list_display = ("name", "relationship", "client", "email", "phone")
    list_filter = (("client", AgencyAutocompleteFilter),)
    list_select_related = ("client",)
    search_fields = ("^name", "=email", "^client__last_name")
    search_help_text = _("The first letters of the contact's name or the client's last name.")
    autocomplete_fields = ("client",)
    # What the contact may see is the client's choice, made on My privacy (with its consent
    # event): shown here, never changed by staff.
    readonly_fields = ("user", "sees_calendar", "sees_invoices", "access_ends_on")


# Payers and communities share a shape: the people who use the portal for them, and the
# clients linked to them with dates.


class OrganisationPersonInline(AgencyScopedTabularInline):
    fields = ("name", "email", "user")
    readonly_fields = ("user",)


class LinkedClientInline(AgencyScopedTabularInline):
    fields = ("client", "start_date", "end_date")
    autocomplete_fields = ("client",)


class OrganisationAdmin(PeopleUnlockMixin, PartyAdminMixin, AgencyScopedAdmin):
    """A payer or community: the people who use the portal for it are edited on its page;
    its clients (thousands for a big payer) are listed there, the latest links first, with
    links to their pages and to the whole list (change_form.html). A new payer or
    community is entered with its first clients."""

    list_display = ("name", "kind", "contact_person", "email", "phone")
    list_filter = ("kind",)
    search_fields = ("name", "contact_person", "email")
    # The people's inline, and the clients' inline of a new payer or community.
    people_inline: type[admin.options.InlineModelAdmin[Any, Any]]
    clients_inline: type[LinkedClientInline]
    # How many of its clients the page names; the rest are in the linked list.
    links_shown = 10
    change_form_template = "admin/people/organisation_change_form.html"

    def get_inlines(self, request: HttpRequest, obj: Any) -> tuple[Any, ...]:
        if obj is None:
            return (self.people_inline, self.clients_inline)
        return (self.people_inline,)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:  # fmt: skip
        extra_context = {**(extra_context or {}), "client_links": []}
        link = self.clients_inline.model
        if object_id.isdigit() and self.admin_site._registry[link].has_module_permission(request):
            field = self.model._meta.model_name or ""
            rows = self._client_rows(request, link, field, int(object_id))
            extra_context["client_links"] = [
                links_section(self.admin_site, request, link, rows, field, object_id)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def _client_rows(
        self, request: HttpRequest, link: type[models.Model], field: str, party_id: int
    ) -> list[_Row]:
        """Return the party's latest `links_shown` links (latest start first) as (client's
        name, start, end, link id) rows: one query, on the index led by agency and party."""
        agency = staff_agency(request)
        if agency is None:
            return []
        client = Client._meta.db_table
        sql = (
            "SELECT l.id, c.first_name, c.last_name, c.preferred_name, l.start_date, "  # noqa: S608 - names from the models
            f"l.end_date FROM {link._meta.db_table} l JOIN {client} c ON c.id = l.client_id "
            f"WHERE l.agency_id = %s AND l.{field}_id = %s "
            f"ORDER BY l.start_date DESC, l.id DESC LIMIT {int(self.links_shown)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [agency.pk, party_id])
            fetched = cursor.fetchall()
        return [
            (display_name(first, last, preferred), _as_date(start), _as_date(end), pk)
            for pk, first, last, preferred, start, end in fetched
        ]


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
    people_inline = PayerPersonInline
    clients_inline = PayerClientInline


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
    people_inline = CommunityPersonInline
    clients_inline = CommunityResidentInline


@admin.register(CommunityPerson, site=backoffice_site)
class CommunityPersonAdmin(OrganisationPersonAdmin):
    list_display = ("name", "email", "community")
    list_filter = ("community",)
    list_select_related = ("community",)
    autocomplete_fields = ("community",)


@admin.register(ClientPayer, site=backoffice_site)
class ClientPayerAdmin(BackToParentMixin, AgencyScopedAdmin):
    list_display = ("client", "payer", "start_date", "end_date")
    list_filter = ("payer",)
    list_select_related = ("client", "payer")
    search_fields = ("^client__last_name", "payer__name")
    autocomplete_fields = ("client", "payer")


@admin.register(Residence, site=backoffice_site)
class ResidenceAdmin(BackToParentMixin, AgencyScopedAdmin):
    list_display = ("client", "community", "start_date", "end_date")
    list_filter = ("community",)
    list_select_related = ("client", "community")
    search_fields = ("^client__last_name", "community__name")
    autocomplete_fields = ("client", "community")
