"""Invitations in the back office: their state, and a Resend action; the "Send portal
invitations" action of the party lists. The agency's other emails: emails.admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.backoffice.scoping import AgencyScopedAdmin, scope_to_agency
from careportal.backoffice.site import backoffice_site, staff_user
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
    # The last error shows why an invitation is retrying (a recipient refused, say).
    list_display = ("user", "email", "state", "sent_at", "expires_at", "attempts", "last_error")
    list_filter = ("state",)
    search_fields = ("user__username", "email")
    fields = FIELDS
    readonly_fields = FIELDS
    actions = ("resend_selected",)
    list_select_related = ("user",)

    # Who sees invitations and resends them is roles.py's INVITATIONS; nobody edits one.
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # invitations come from saving a person, never by hand

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False

    @admin.action(description=_("Resend invitation"), permissions=["change"])
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
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
            services.resend_invitation(
                invitation=invitation, actor=staff_user(request), request=request
            )
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


# Many at once, from the party lists -------------------------------------------------------


@admin.action(description=_("Send portal invitations"), permissions=["change"])
def send_portal_invitations(
    modeladmin: AgencyScopedAdmin, request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    """Invite the selected parties, after a page that counts who is invited and who is
    skipped and why; the party admins list it among their actions."""
    parties = list(scope_to_agency(queryset, request))
    staff = staff_user(request)
    agency = staff.agency
    assert agency is not None, "the back office lets only an agency's staff in"
    if request.POST.get("confirm") == "yes":
        summary = services.invite_parties(
            agency=agency, parties=parties, actor=staff, request=request
        )
        modeladmin.message_user(
            request,
            ngettext(
                "%(n)d portal invitation queued.",
                "%(n)d portal invitations queued.",
                len(summary.invited),
            )
            % {"n": len(summary.invited)},
            messages.SUCCESS,
        )
        for label, count in summary.skipped_counts():
            modeladmin.message_user(
                request,
                _("Skipped, %(reason)s: %(n)d.") % {"reason": label, "n": count},
                messages.WARNING,
            )
        return None
    summary = services.preview_invitations(agency=agency, parties=parties)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Send portal invitations"),
        "opts": modeladmin.model._meta,
        "summary": summary,
        "invited": len(summary.invited),
        "linked": len(summary.linked),
        "skipped": summary.skipped_counts(),
        "selected": [party.pk for party in parties],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action": "send_portal_invitations",
    }
    return TemplateResponse(request, "admin/invitations/send_portal_invitations.html", context)
