"""A copy of my record: asked for, its progress, and its three downloads. The client alone.

Every other login (contacts, payers, communities, another client, another agency) gets 404,
as on the Care Plan page; staff never reach the portal. Each download is an audit event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from careportal.audit.actions import Action
from careportal.audit.events import record as record_event
from careportal.people import access
from careportal.people.models import Client
from careportal.privacy.models import CopyState, RecordCopy
from careportal.privacy.tasks import CopyUnderWay, ask_for_record_copy

if TYPE_CHECKING:
    from careportal.accounts.http import AuthenticatedHttpRequest

# What each download is: the copy's field, its media type and the file's extension.
DOWNLOADS = {
    "pdf": ("pdf_file", "application/pdf", "pdf"),
    "fhir": ("fhir_file", "application/fhir+json", "json"),
    "csv": ("csv_file", "application/zip", "zip"),
}


def _own_client(request: HttpRequest) -> Client:
    client = access.own_client(request.user).select_related("agency").first()
    if client is None:
        raise Http404
    return client


def _own_copy(request: HttpRequest, pk: int) -> RecordCopy:
    copies = RecordCopy.objects.visible_to(request.user).select_related("agency", "client")
    return get_object_or_404(copies, pk=pk)


def _my_privacy() -> str:
    return reverse("privacy:my_privacy") + "#record-copy"


@require_POST
def ask(request: AuthenticatedHttpRequest) -> HttpResponse:
    client = _own_client(request)
    try:
        ask_for_record_copy(client=client, user=request.user, request=request)
    except CopyUnderWay:
        messages.warning(
            request,
            _("A copy of your record is already being made. Please wait until it is ready."),
        )
    else:
        messages.success(
            request,
            _(
                "We are making a copy of your record. This page shows how far it has got, "
                "and we will email you when it is ready."
            ),
        )
    return redirect(_my_privacy())


@require_GET
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the copy's state: the part of My privacy that polls it every 2 seconds.

    Polled (htmx) with what the page shows (`seen`), an unchanged copy on its way answers
    204, which changes nothing on the page (a screen reader hears nothing new).
    """
    copy = _own_copy(request, pk)
    polled = bool(request.headers.get("HX-Request"))
    if polled and copy.is_under_way and request.GET.get("seen") == copy.poll_key:
        return HttpResponse(status=204)
    return render(request, "privacy/record_status.html", {"copy": copy, "polled": polled})


@require_GET
def download(request: HttpRequest, pk: int, kind: str) -> HttpResponseBase:
    if kind not in DOWNLOADS:
        raise Http404
    copy = _own_copy(request, pk)
    if copy.is_expired():
        return render(request, "privacy/record_expired.html", {"copy": copy}, status=404)
    if copy.state != CopyState.READY:
        raise Http404
    field_name, content_type, extension = DOWNLOADS[kind]
    stored = getattr(copy, field_name)
    try:
        content = stored.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    record_event(
        Action.RECORD_COPY_DOWNLOADED,
        request=request,
        agency=copy.agency,
        obj=copy,
        client=copy.client,
        format=kind,
    )
    made = timezone.localdate(copy.built_at) if copy.built_at else timezone.localdate()
    return FileResponse(
        content,
        as_attachment=True,
        filename=f"my-record-{made:%Y-%m-%d}.{extension}",
        content_type=content_type,
    )
