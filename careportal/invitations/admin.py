"""Invitations in the back office: their state, and a Resend action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.backoffice import roles
from careportal.backoffice.scoping import AgencyScopedAdmin, scope_to_agency
from careportal.backoffice.site import backoffice_site
from careportal.invitations import services
from careportal.invitations.models import Invitation

FIELDS = (
    "user",
    "email",
    "state",
    "attempts",
    "last_error",
    "created_at",
    "created_by",
    "sent_at",
    "expires_at",
    "accepted_at",
)


@admin.register(Invitation, site=backoffice_site)
class InvitationAdmin(AgencyScopedAdmin):
    list_display = ("user", "email", "state", "sent_at", "expires_at", "attempts")
    list_filter = ("state",)
    search_fields = ("user__username", "email")
    fields = FIELDS
    readonly_fields = FIELDS
    actions = ("resend_selected",)
    list_select_related = ("user",)

    def _can(self, request: HttpRequest, action: str) -> bool:
        # roles.py decides once it names invitations; until then, whoever may change the
        # people an invitation belongs to may see it and resend it, and nobody edits one.
        if roles.capabilities(request.user, self.opts.label_lower):
            return super()._can(request, action)
        return action in ("view", "change") and roles.can(request.user, "change", "people.client")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "view")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # invitations come from saving a person, never by hand

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Resend invitation"), permissions=["change"])
    def resend_selected(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for invitation in scope_to_agency(queryset, request).select_related("user"):
            user = invitation.user
            if not user.is_active or not user.must_change_password:
                self.message_user(
                    request,
                    _("%(login)s has already set up the account: nothing was sent.")
                    % {"login": user.username},
                    messages.WARNING,
                )
                continue
            services.resend_invitation(invitation=invitation, actor=request.user, request=request)
            count += 1
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(n)d invitation queued with a new one-time password.",
                    "%(n)d invitations queued with new one-time passwords.",
                    count,
                )
                % {"n": count},
                messages.SUCCESS,
            )
