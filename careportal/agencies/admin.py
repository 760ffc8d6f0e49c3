"""Django's own /admin/ is the platform operators' site: they create agencies here.

Creating an agency invites its owner (owner_name, owner_email) to the back office, through
the same service as every staff invitation; an agency without an owner yet can be given one
later with the `Invite the owner` action.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from careportal.agencies.images import ImageUploadField
from careportal.agencies.models import Agency, StaffMembership, StaffRole
from careportal.invitations.services import invite_staff


def _owners() -> QuerySet[StaffMembership]:
    return StaffMembership.objects.filter(agency=OuterRef("pk"), role=StaffRole.OWNER)


@admin.register(Agency)
class AgencyOperatorAdmin(admin.ModelAdmin):
    list_display = ("name", "owner_name", "owner_email", "has_owner", "time_zone", "created_at")
    search_fields = ("name", "owner_name", "owner_email")
    actions = ("invite_owner",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agency]:
        return super().get_queryset(request).annotate(owner_exists=Exists(_owners()))

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """The logo goes through agencies.images here too: checked, re-encoded, renamed."""
        if db_field.name == "logo":
            kwargs["form_class"] = ImageUploadField
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("owner in the back office"), boolean=True)
    def has_owner(self, agency: Agency) -> bool:
        return agency.owner_exists

    def save_model(self, request: HttpRequest, obj: Agency, form: Any, change: bool) -> None:
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
            actor=request.user,
            request=request,
        )
        self.message_user(
            request,
            _("%(name)s is invited to the back office of %(agency)s as its owner (%(username)s).")
            % {"name": agency.owner_name, "agency": agency, "username": user.username},
            messages.SUCCESS,
        )
