"""The agency's emails in the back office (resets, notices, messages; invitations are
invitations.admin's): their delivery, read only, and never the body."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from post_office.models import STATUS, Log

from careportal.backoffice.scoping import AgencyScopedAdmin
from careportal.backoffice.site import backoffice_site
from careportal.emails.models import AgencyEmail

# The agency's emails ----------------------------------------------------------------------


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
        value = self.value()
        if value not in Delivery.values:
            return queryset
        statuses = DELIVERY_STATUSES[Delivery(value)]
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
        return str(delivery_of(obj.email.status).label)

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
