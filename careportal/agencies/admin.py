"""Agencies on both admin sites.

Django's own /admin/ is the platform operators' site: they create agencies here. Creating
an agency invites its owner (owner_name, owner_email) to the back office, through the same
service as every staff invitation; an agency without an owner yet can be given one later
with the `Invite the owner` action.

In the back office, the owner keeps the agency's settings, and staff are added (and
invited) and changed; who may touch which staff row is decided in roles.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, Field, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from careportal.accounts.admin import UnlockMixin
from careportal.agencies.forms import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    MESSAGE_FIELDS,
    AgencySettingsForm,
)
from careportal.agencies.images import ImageUploadField
from careportal.agencies.models import Agency, StaffMembership, StaffRole
from careportal.backoffice import roles
from careportal.backoffice.scoping import AgencyScopedAdmin, staff_agency
from careportal.backoffice.site import backoffice_site, staff_user
from careportal.invitations.services import invite_staff

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups
    from django_stubs_ext import WithAnnotations

    class _OwnerExists(TypedDict):
        owner_exists: bool


def _owners() -> QuerySet[StaffMembership]:
    return StaffMembership.objects.filter(agency=OuterRef("pk"), role=StaffRole.OWNER)


@admin.register(Agency)
class AgencyOperatorAdmin(admin.ModelAdmin[Agency]):
    list_display = ("name", "owner_name", "owner_email", "has_owner", "time_zone", "created_at")
    search_fields = ("name", "owner_name", "owner_email")
    actions = ("invite_owner",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agency]:
        agencies: QuerySet[Agency] = (
            super().get_queryset(request).annotate(owner_exists=Exists(_owners()))
        )
        return agencies

    def formfield_for_dbfield(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        """The logo goes through agencies.images here too: checked, re-encoded, renamed."""
        if db_field.name == "logo":
            kwargs["form_class"] = ImageUploadField
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("owner in the back office"), boolean=True)
    def has_owner(self, agency: WithAnnotations[Agency, _OwnerExists]) -> bool:
        return agency.owner_exists

    def save_model(
        self, request: HttpRequest, obj: Agency, form: forms.ModelForm[Agency], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self._invite_owner(request, obj)

    @admin.action(description=_("Invite the owner of the selected agencies"))
    def invite_owner(self, request: HttpRequest, queryset: QuerySet[Agency]) -> None:
        for agency in queryset:
            self._invite_owner(request, agency)

    def _invite_owner(self, request: HttpRequest, agency: Agency) -> None:
        """Invite the agency's owner to the back office, unless it has an owner already."""
        if StaffMembership.objects.filter(agency=agency, role=StaffRole.OWNER).exists():
            self.message_user(
                request,
                _("%(agency)s has an owner already: nobody was invited.") % {"agency": agency},
                messages.WARNING,
            )
            return
        user = invite_staff(
            agency=agency,
            name=agency.owner_name,
            email=agency.owner_email,
            role=StaffRole.OWNER,
            actor=staff_user(request),
            request=request,
        )
        self.message_user(
            request,
            _("%(name)s is invited to the back office of %(agency)s as its owner (%(username)s).")
            % {"name": agency.owner_name, "agency": agency, "username": user.username},
            messages.SUCCESS,
        )


# The back office: staff and the agency's settings ---------------------------------------


class StaffMemberAddForm(forms.ModelForm[StaffMembership]):
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

    def get_fields(self, request: HttpRequest, obj: StaffMembership | None = None) -> _FieldGroups:
        return ["name", "email", "role"] if obj is None else ["name", "role", "user"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: StaffMembership | None = None
    ) -> list[str]:
        if obj is None:
            return []
        return ["user"] if roles.may_change_role_of(request.user, obj) else ["user", "role"]

    def has_change_permission(
        self, request: HttpRequest, obj: StaffMembership | None = None
    ) -> bool:
        if obj is not None and not roles.may_change_staff_row(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: StaffMembership | None = None
    ) -> bool:
        if obj is not None and not roles.may_remove_staff_row(request.user, obj):
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_choice_field(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.TypedChoiceField | None:
        # A role the staff member may not give is not offered, and the form refuses it
        # if posted.
        if db_field.name == "role":
            given = [
                (value, label)
                for value, label in StaffRole.choices
                if roles.may_give_role(request.user, value)
            ]
            if len(given) < len(StaffRole.choices):
                kwargs["choices"] = given
                kwargs["error_messages"] = {
                    "invalid_choice": _("Only the owner can give the owner role.")
                }
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_form(
        self,
        request: HttpRequest,
        obj: StaffMembership | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm[Any]]:
        if obj is None:
            kwargs["form"] = StaffMemberAddForm
            kwargs["fields"] = ["name", "email", "role"]
        return super().get_form(request, obj, change, **kwargs)

    def save_model(
        self,
        request: HttpRequest,
        obj: StaffMembership,
        form: forms.ModelForm[StaffMembership],
        change: bool,
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        agency = staff_agency(request)
        assert agency is not None, "the back office lets only an agency's staff in"
        # A staff login is made and invited by the invitations service, never typed in here.
        user = invite_staff(
            agency=agency,
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=staff_user(request),
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

    def get_exclude(self, request: HttpRequest, obj: Agency | None = None) -> list[str]:
        return []

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # One agency per staff member: go straight to its settings.
        self._require_module(request)
        agency = staff_agency(request)
        assert agency is not None, "the back office lets only an agency's staff in"
        return HttpResponseRedirect(reverse("backoffice:agencies_agency_change", args=[agency.pk]))
