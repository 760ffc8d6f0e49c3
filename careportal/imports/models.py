"""A CSV file of records, as it was previewed and imported.

Its kind (clients, payers, communities, links, visits) says which columns it has and how
its rows are saved (kinds.py). The rows are kept as parsed (JSON), so "Import all" acts on
exactly what the preview showed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import AgencyScoped


class ImportState(models.TextChoices):
    REFUSED = "refused", _("Has errors: nothing can be imported")
    READY = "ready", _("Checked: ready to import")
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Not imported: nothing was saved")


class ImportKind(models.TextChoices):
    CLIENTS = "clients", _("Clients with their emergency contacts")
    PAYERS = "payers", _("Payers with their people")
    COMMUNITIES = "communities", _("Communities with their people")
    LINKS = "links", _("Clients' payers and communities")
    VISITS = "visits", _("Visits")


UNDER_WAY = (ImportState.QUEUED, ImportState.RUNNING)


class ClientImport(AgencyScoped):
    # The model keeps its first name: it holds an import of any kind of file.
    kind = models.CharField(
        _("kind of file"), max_length=12, choices=ImportKind, default=ImportKind.CLIENTS
    )
    file_name = models.CharField(_("file"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # Who pressed "Import all": the import's records are theirs (the uploader's if empty).
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ImportState, default=ImportState.READY
    )
    # Each row: {"line": n, "<column>": "<cell>", ...}, as read from the file.
    rows = models.JSONField(default=list, blank=True)
    # Each error: {"line": n, "column": "<column or empty>", "message": "..."}.
    errors = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    to_create = models.PositiveIntegerField(_("new"), default=0)
    to_update = models.PositiveIntegerField(_("to update"), default=0)
    to_skip = models.PositiveIntegerField(_("without changes"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    invitations_queued = models.PositiveIntegerField(_("invitations queued"), default=0)
    failure = models.TextField(_("why it was not imported"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-uploaded_at", "-pk"]
        indexes = [models.Index(fields=["agency", "uploaded_at"])]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_under_way(self) -> bool:
        return self.state in UNDER_WAY

    @property
    def poll_key(self) -> str:
        """Return what the progress fragment compares to answer "no change"."""
        return f"{self.state}-{self.progress}"
