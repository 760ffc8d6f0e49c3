"""The integration API's keys, and the answers it keeps for safe retries."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import AgencyScoped

# What a key may reach: read or write, per area of the agency's records.
AREAS = ("people", "scheduling", "careplans", "billing")
ACCESS = ("read", "write")
# How long a create's answer is kept for a retry with the same Idempotency-Key.
IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)


class Scope(models.TextChoices):
    PEOPLE_READ = "people:read", _("Read clients, contacts, payers and communities")
    PEOPLE_WRITE = "people:write", _("Add and change clients, contacts, payers and communities")
    SCHEDULING_READ = "scheduling:read", _("Read caregivers and visits")
    SCHEDULING_WRITE = "scheduling:write", _("Add and change caregivers and visits")
    CAREPLANS_READ = "careplans:read", _("Read service plans")
    CAREPLANS_WRITE = "careplans:write", _("Add and change service plans")
    BILLING_READ = "billing:read", _("Read invoices and payments")
    BILLING_WRITE = "billing:write", _("Add and change invoices and payments")


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self, now: datetime.datetime | None = None) -> ApiKeyQuerySet:
        """Return the keys that open the API now: not revoked, not expired."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(AgencyScoped):
    """A key an agency's own system uses to call the API; only its hash is stored."""

    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("What this key is for, for example “Scheduling system”."),
    )
    # The first characters of the key, shown in lists so the owner can tell keys apart.
    prefix = models.CharField(_("key starts with"), max_length=16, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("access"), default=list, blank=True)
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True, help_text=_("Empty: the key does not expire.")
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agency", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    def allows(self, area: str, access: str) -> bool:
        """Return whether the key may read or write the area; write includes read."""
        if access == "read":
            return f"{area}:read" in self.scopes or f"{area}:write" in self.scopes
        return f"{area}:{access}" in self.scopes


class IdempotentRequest(AgencyScoped):
    """A create's answer, kept so a retry with the same Idempotency-Key gets it again."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # What was asked (method, path and body): the same key with another body is refused.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key
