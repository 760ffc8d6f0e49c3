"""Messages portal users send to the agency owner: kept before they are emailed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import AgencyScoped

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careportal.accounts.models import User


class MessageQuerySet(models.QuerySet["Message"]):
    def visible_to(self, user: User | AnonymousUser) -> MessageQuerySet:
        """Return the messages a portal login sent: its own, never anyone else's."""
        from careportal.people import access

        if not access.is_portal_login(user):
            return self.none()
        return self.filter(agency_id=user.agency_id, sender=user)


class Message(AgencyScoped):
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="messages_sent",
        verbose_name=_("sender"),
    )
    sender_name = models.CharField(_("sender's name"), max_length=200)
    sender_email = models.EmailField(_("sender's email"))
    relationship = models.CharField(_("relationship"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    recipient = models.EmailField(_("sent to"))
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    email = models.ForeignKey(
        "post_office.Email",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agency", "sender", "created_at"])]

    def __str__(self) -> str:
        return self.subject
