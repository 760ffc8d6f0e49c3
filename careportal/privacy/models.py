"""My privacy's own records: the copies of their record that clients ask for.

A copy's files are kept with Django's default storage, each under a random name
(`record-copies/<random>.<ext>`), and reached only through the download views, which check
that the login is the copy's client. Files rather than database rows: a record of years of
visits makes a PDF and a JSON of a few megabytes, kept seven days, which would swell the
table and every backup, and the default storage may be moved to object storage without
a change here.
"""

from __future__ import annotations

import datetime
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import AgencyScoped

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careportal.accounts.models import User

# How long a copy's files are kept once built.
KEPT_FOR = datetime.timedelta(days=7)
# A copy still on its way after this long will not come (its worker was stopped): it
# counts as failed, and the client may ask again.
GIVE_UP_AFTER = datetime.timedelta(hours=1)
FOLDER = "record-copies"


def random_name(extension: str) -> str:
    """Return a storage name nobody can guess, for one file of a copy."""
    return f"{FOLDER}/{secrets.token_urlsafe(32)}.{extension}"


class CopyState(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    BUILDING = "building", _("Being made")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Could not be made")
    # Its files are deleted: kept for `KEPT_FOR` only.
    EXPIRED = "expired", _("No longer kept")


# The states of a copy still on its way: a client has at most one.
UNDER_WAY = (CopyState.QUEUED, CopyState.BUILDING)


class RecordCopyQuerySet(models.QuerySet["RecordCopy"]):
    def visible_to(self, user: User | AnonymousUser) -> RecordCopyQuerySet:
        """Return the copies a portal login may see: its own client's, never anyone else's."""
        from careportal.people import access

        if not access.is_portal_login(user):
            return self.none()
        own = access.relationship_ids(user).own_client_ids
        return self.filter(agency_id=user.agency_id, client_id__in=own)

    def expired(self, now: datetime.datetime | None = None) -> RecordCopyQuerySet:
        """Return the ready copies whose time is up (their files still to delete)."""
        return self.filter(state=CopyState.READY, expires_at__lte=now or timezone.now())


class RecordCopy(AgencyScoped):
    client = models.ForeignKey(
        "people.Client",
        on_delete=models.CASCADE,
        related_name="record_copies",
        verbose_name=_("client"),
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("asked by"),
    )
    asked_at = models.DateTimeField(_("asked on"), default=timezone.now)
    state = models.CharField(_("state"), max_length=10, choices=CopyState, default=CopyState.QUEUED)
    progress = models.PositiveSmallIntegerField(_("percent done"), default=0)
    built_at = models.DateTimeField(_("made on"), null=True, blank=True)
    expires_at = models.DateTimeField(_("kept until"), null=True, blank=True)
    # Names in the default storage (random, see `random_name`); empty until built and
    # after the copy expires.
    pdf_file = models.FileField(_("PDF"), max_length=200, blank=True)
    fhir_file = models.FileField(_("FHIR bundle"), max_length=200, blank=True)
    csv_file = models.FileField(_("CSV files"), max_length=200, blank=True)

    objects = RecordCopyQuerySet.as_manager()

    class Meta:
        verbose_name = _("copy of a record")
        verbose_name_plural = _("copies of records")
        ordering = ["-asked_at", "-id"]
        indexes = [
            # The client's latest copy, on My privacy.
            models.Index(fields=["agency", "client", "asked_at"]),
            # The copies whose files are due for deletion.
            models.Index(fields=["state", "expires_at"]),
        ]
        constraints = [
            # One copy on its way per client, whatever two requests do at once.
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(state__in=["queued", "building"]),
                name="privacy_recordcopy_one_under_way",
            )
        ]

    def __str__(self) -> str:
        return f"Copy of the record of {self.client_id} asked on {self.asked_at:%Y-%m-%d}"

    @property
    def is_under_way(self) -> bool:
        return self.state in UNDER_WAY and self.asked_at > timezone.now() - GIVE_UP_AFTER

    @property
    def poll_key(self) -> str:
        """Return what the page last showed of the copy: its answer is empty while unchanged."""
        return f"{self.state}-{self.progress}"

    @property
    def has_failed(self) -> bool:
        return self.state == CopyState.FAILED or (self.state in UNDER_WAY and not self.is_under_way)

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        """Return whether the copy's files are gone or due to go."""
        if self.state == CopyState.EXPIRED:
            return True
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_downloadable(self) -> bool:
        return self.state == CopyState.READY and not self.is_expired()
