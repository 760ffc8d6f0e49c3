"""A copy of my record, in the background: asked for, built by the worker, deleted after 7 days.

`ask_for_record_copy` is the one door for asking; `build_record_copy` is the django-tasks
task that `manage.py run_worker` runs; `delete_expired_copies` deletes the files of copies
whose time is up (the task `delete_expired_record_copies` is queued to run when a copy
expires, and the worker or a command may call the function any time).
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from careportal.audit.actions import Action
from careportal.audit.events import record as record_event
from careportal.emails.queue import queue_email
from careportal.people.models import Client
from careportal.privacy import record
from careportal.privacy.models import (
    GIVE_UP_AFTER,
    KEPT_FOR,
    UNDER_WAY,
    CopyState,
    RecordCopy,
    random_name,
)

if TYPE_CHECKING:
    from careportal.accounts.models import User

logger = logging.getLogger(__name__)

# Progress is written when it has moved this far since the last write: a few writes a copy.
PROGRESS_STEP = 5


class CopyUnderWay(Exception):
    """The client's earlier copy is still being made."""


def ask_for_record_copy(*, client: Client, user: User, request: HttpRequest | None) -> RecordCopy:
    """Queue a new copy of the client's record, or raise CopyUnderWay if one is on its way.

    One transaction: the copy's row, its task (the database backend's row, so a rolled-back
    ask leaves no task behind) and the audit event.
    """
    with transaction.atomic():
        # The client's row, locked: two asks at once wait for each other here (the
        # database's unique condition is the last word).
        Client.objects.select_for_update().filter(pk=client.pk).first()
        under_way = RecordCopy.objects.filter(client=client, state__in=UNDER_WAY)
        under_way.filter(asked_at__lte=timezone.now() - GIVE_UP_AFTER).update(
            state=CopyState.FAILED
        )
        if under_way.exists():
            raise CopyUnderWay
        try:
            with transaction.atomic():
                copy = RecordCopy.objects.create(
                    agency_id=client.agency_id, client=client, asked_by=user
                )
        except IntegrityError as exc:
            raise CopyUnderWay from exc
        build_record_copy.enqueue(copy.pk)
        record_event(
            Action.RECORD_COPY_ASKED, request=request, agency=client.agency, obj=copy, client=client
        )
    return copy


def _save_progress(copy: RecordCopy, percent: int) -> None:
    if percent - copy.progress >= PROGRESS_STEP:
        copy.progress = percent
        RecordCopy.objects.filter(pk=copy.pk).update(progress=percent)


@task()
def build_record_copy(copy_id: int) -> str:
    """Build the copy's three files, keep them 7 days, and tell the client by email."""
    # Claimed by one update: a second worker, or the same task run twice, finds nothing.
    claimed = RecordCopy.objects.filter(pk=copy_id, state=CopyState.QUEUED).update(
        state=CopyState.BUILDING, progress=0
    )
    if not claimed:
        return "not queued"
    copy = RecordCopy.objects.select_related("agency", "client", "client__user").get(pk=copy_id)
    try:
        files = record.build_files(copy.client, lambda percent: _save_progress(copy, percent))
        names = {
            "pdf_file": default_storage.save(random_name("pdf"), ContentFile(files.pdf)),
            "fhir_file": default_storage.save(random_name("json"), ContentFile(files.fhir)),
            "csv_file": default_storage.save(random_name("zip"), ContentFile(files.csv_zip)),
        }
    except Exception:
        logger.exception("The copy of a record %s could not be made", copy_id)
        RecordCopy.objects.filter(pk=copy_id).update(state=CopyState.FAILED)
        raise
    now = timezone.now()
    with transaction.atomic():
        for name, value in names.items():
            setattr(copy, name, value)
        copy.state = CopyState.READY
        copy.progress = 100
        copy.built_at = now
        copy.expires_at = now + KEPT_FOR
        copy.save()
        _tell_client(copy)
        delete_expired_record_copies.using(run_after=copy.expires_at).enqueue()
    return "ready"


def _tell_client(copy: RecordCopy) -> None:
    """Queue the email that says the copy is ready: no health information, a sign-in link."""
    client = copy.client
    user = client.user
    address = (user.email if user is not None else "") or client.email
    if not address:
        return
    queue_email(
        name="record_ready",
        to=address,
        context={
            "user": user,
            "name": (user.first_name if user is not None else "") or client.first_name,
            "kept_until": copy.expires_at,
            "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
        },
        language=getattr(user, "language", "") or None,
        agency=copy.agency,
    )


def delete_expired_copies(now: datetime.datetime | None = None) -> int:
    """Delete the files of the copies whose 7 days are over; return how many copies."""
    deleted = 0
    for copy in RecordCopy.objects.expired(now).order_by("pk").iterator(chunk_size=100):
        for field in (copy.pdf_file, copy.fhir_file, copy.csv_file):
            if field.name:
                default_storage.delete(field.name)
        RecordCopy.objects.filter(pk=copy.pk).update(
            state=CopyState.EXPIRED, pdf_file="", fhir_file="", csv_file=""
        )
        deleted += 1
    return deleted


@task()
def delete_expired_record_copies() -> int:
    """The worker's run of `delete_expired_copies`, queued for when a copy expires."""
    return delete_expired_copies()
