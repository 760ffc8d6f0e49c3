"""Invitations in the back office: their state, and a Resend action; the agency's other
emails (resets, notices, messages) and their delivery, read only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from post_office.models import STATUS, Log

from careportal.backoffice.scoping import AgencyScopedAdmin, scope_to_agency
from careportal.backoffice.site import backoffice_site
from careportal.invitations import services
from careportal.invitations.models import AgencyEmail, Invitation

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


# Many at once, from the party lists -------------------------------------------------------


@admin.action(description=_("Send portal invitations"), permissions=["change"])
def send_portal_invitations(
    modeladmin: Any, request: HttpRequest, queryset: Any
) -> HttpResponse | None:
    """Invite the selected parties, after a page that counts who is invited and who is
    skipped and why; the party admins list it among their actions."""
    parties = list(scope_to_agency(queryset, request))
    agency = request.user.agency
    if request.POST.get("confirm") == "yes":
        summary = services.invite_parties(
            agency=agency, parties=parties, actor=request.user, request=request
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


# The agency's other emails ----------------------------------------------------------------


class Delivery(models.TextChoices):
    """What became of an email, from post_office's status (the msgids of invitations')."""

    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Failed, retrying")
    FAILED = "failed", _("Failed, gave up")


# post_office's statuses behind each state (a row without one has not been tried yet).
DELIVERY_STATUSES = {
    Delivery.QUEUED: (STATUS.queued, None),
    Delivery.SENT: (STATUS.sent,),
    Delivery.RETRYING: (STATUS.requeued,),
    Delivery.FAILED: (STATUS.failed,),
}


def delivery_of(status: int | None) -> Delivery:
    for state, statuses in DELIVERY_STATUSES.items():
        if status in statuses:
            return state
    return Delivery.QUEUED


def failed_attempts(email: Any) -> int:
    """Return how many times sending the email failed.

    post_office counts a failure as a retry while it requeues, and stops counting at the
    failure it gives up on.
    """
    retries = email.number_of_retries or 0
    return retries + 1 if email.status == STATUS.failed else retries


class DeliveryFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return Delivery.choices

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() not in DELIVERY_STATUSES:
            return queryset
        statuses = DELIVERY_STATUSES[self.value()]
        condition = models.Q(email__status__in=[s for s in statuses if s is not None])
        if None in statuses:
            condition |= models.Q(email__status__isnull=True)
        return queryset.filter(condition)


EMAIL_FIELDS = ("created_at", "recipient", "subject", "kind", "delivery", "attempts", "error")


@admin.register(AgencyEmail, site=backoffice_site)
class AgencyEmailAdmin(AgencyScopedAdmin):
    """Read only, and never the body: a reset email holds a link that signs its reader in."""

    list_display = EMAIL_FIELDS
    list_filter = (DeliveryFilter, "kind")
    search_fields = ("recipient", "subject")
    date_hierarchy = "created_at"
    fields = EMAIL_FIELDS
    readonly_fields = EMAIL_FIELDS
    list_select_related = ("email",)

    def get_queryset(self, request: HttpRequest) -> Any:
        last_error = Log.objects.filter(email=OuterRef("email_id"), status=STATUS.failed).order_by(
            "-date", "-id"
        )
        return (
            super()
            .get_queryset(request)
            .select_related("email")
            .annotate(
                last_error_type=Subquery(last_error.values("exception_type")[:1]),
                last_error_message=Subquery(last_error.values("message")[:1]),
            )
        )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("delivery"))
    def delivery(self, obj: AgencyEmail) -> str:
        return delivery_of(obj.email.status).label

    @admin.display(description=_("failed attempts"))
    def attempts(self, obj: AgencyEmail) -> int:
        return failed_attempts(obj.email)

    @admin.display(description=_("last error"))
    def error(self, obj: AgencyEmail) -> str:
        """The first line of the last failure, while it matters (not once the email went)."""
        if delivery_of(obj.email.status) not in (Delivery.RETRYING, Delivery.FAILED):
            return ""
        kind = getattr(obj, "last_error_type", "") or ""
        message = (getattr(obj, "last_error_message", "") or "").strip()
        first_line = message.splitlines()[0] if message else ""
        return ": ".join(part for part in (kind, first_line) if part)[:300]
