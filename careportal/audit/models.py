"""Append-only audit trail: who did what to which record, when, from where."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    # Nullable and not a cascade: an event outlives the agency row, the login and the record.
    # Neither key has an index of its own: every list leads with the agency (the indexes in
    # Meta), and each index more is one more write for every page a portal user opens.
    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agency"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    actor_label = models.CharField(_("who (as recorded)"), max_length=200, blank=True)
    action = models.CharField(_("what"), max_length=64)  # an Action's value
    object_type = models.CharField(_("record type"), max_length=64, blank=True)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    object_label = models.CharField(_("record"), max_length=200, blank=True)
    client_id = models.BigIntegerField(_("client id"), null=True, blank=True)
    # The client's own look at their information: My privacy leaves it out unless asked.
    by_client = models.BooleanField(_("by the client"), default=False)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "created_at"]),
            models.Index(fields=["agency", "action", "created_at"]),
            models.Index(fields=["agency", "actor", "created_at"]),
            # My privacy: the events about one client, newest first, a page at a time.
            models.Index(
                fields=["agency", "client_id", "-created_at"],
                name="audit_event_client_idx",
                condition=models.Q(client_id__isnull=False),
            ),
            # The same without the client's own views (the list's default): a client who
            # opens their pages every day has thousands, and a page of others' views is
            # read without walking past them.
            models.Index(
                fields=["agency", "client_id", "-created_at"],
                name="audit_event_client_others_idx",
                condition=models.Q(client_id__isnull=False, by_client=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")
