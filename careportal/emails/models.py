"""The agency's record of each email it sent: what staff see of post_office's outbox."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import AgencyScoped


class EmailKind(models.TextChoices):
    RESET = "reset", _("Password reset")
    CONFIRM = "confirm", _("Email confirmation")
    NOTICE = "notice", _("Notice")
    MESSAGE = "message", _("Message to the agency")


class AgencyEmail(AgencyScoped):
    """One email of an agency in post_office's outbox: what staff see of its delivery.

    post_office's Email has no agency column; this row gives it one, without the body (a
    reset link must not show in the back office). It is written with the Email, in the same
    transaction, and goes with it when old sent mail is deleted.
    """

    email = models.OneToOneField(
        "post_office.Email", on_delete=models.CASCADE, related_name="+", editable=False
    )
    recipient = models.CharField(_("to"), max_length=1000)
    subject = models.CharField(_("subject"), max_length=255)
    kind = models.CharField(_("kind"), max_length=12, choices=EmailKind, default=EmailKind.NOTICE)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        # The table it had in invitations, where it began: moving it lost no row.
        db_table = "invitations_agencyemail"
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "created_at"])]

    def __str__(self) -> str:
        return f"{self.subject} to {self.recipient}"
