"""Imports in the back office: upload, preview, import all with progress; templates, exports.

The list is the agency's imports, with a template and an export for each kind of file
(kinds.py). "Import a file" (the add page) takes a CSV file and its kind and shows its
preview (the change page); "Import all" queues the import; the page then polls its state
every 2 seconds. The owner and administrators have the module (backoffice.roles).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from careportal.backoffice.scoping import AgencyScopedAdmin, staff_agency
from careportal.backoffice.site import backoffice_site, staff_user
from careportal.imports import cells, kinds
from careportal.imports.models import ClientImport, ImportKind, ImportState
from careportal.imports.services import (
    MAX_ERRORS,
    ImportNotReady,
    describe,
    export_rows,
    preview_client_import,
    recheck_client_import,
    start_client_import,
)

if TYPE_CHECKING:
    from careportal.agencies.models import Agency


def _agency(request: HttpRequest) -> Agency:
    """Return the staff member's agency: the back office lets in staff of an agency alone."""
    return cast("Agency", staff_agency(request))


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Which kind of file is it?"), widget=forms.RadioSelect)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("One row for each record, with the columns of the template. Up to 10 MB."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["kind"])
        field.choices = [(kind.name, kind.label) for kind in kinds.KINDS.values()]
        field.initial = next(iter(kinds.KINDS))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > cells.MAX_BYTES:
            raise forms.ValidationError(cells.too_large())
        return upload


# The back office list of each kind's records, linked from an import's summary.
RECORDS_URL = {
    ImportKind.CLIENTS: "backoffice:people_client_changelist",
    ImportKind.PAYERS: "backoffice:people_payer_changelist",
    ImportKind.COMMUNITIES: "backoffice:people_community_changelist",
    ImportKind.LINKS: "backoffice:people_clientpayer_changelist",
    ImportKind.VISITS: "backoffice:scheduling_visit_changelist",
}
# The kinds whose rows bring people who get a portal login and an invitation.
INVITING = (ImportKind.CLIENTS, ImportKind.PAYERS, ImportKind.COMMUNITIES)
# The page's heading, by the import's state: %(file)s is the file's name.
HEADINGS = {
    ImportState.QUEUED: _("Importing %(file)s"),
    ImportState.RUNNING: _("Importing %(file)s"),
    ImportState.DONE: _("Imported %(file)s"),
    ImportState.FAILED: _("%(file)s was not imported"),
}


def state_context(client_import: ClientImport) -> dict[str, Any]:
    """Return what the import's state (_state.html) shows: its heading, its summary's links."""
    heading = HEADINGS.get(ImportState(client_import.state), _("Preview of %(file)s"))
    return {
        "title": heading % {"file": client_import.file_name},
        "client_import": client_import,
        "kind_label": kinds.kind_of(client_import.kind).label,
        "records_url": reverse(RECORDS_URL[ImportKind(client_import.kind)]),
        "invitations_url": reverse("backoffice:invitations_invitation_changelist"),
        "may_invite": client_import.kind in INVITING,
    }


class Echo:
    """A file-like object whose write returns what it was given (csv.writer into a stream)."""

    def write(self, value: str) -> str:
        return value


@admin.register(ClientImport, site=backoffice_site)
class ClientImportAdmin(AgencyScopedAdmin):
    list_display = ("file_name", "kind", "uploaded_at", "uploaded_by", "state", "row_count",
                    "created", "updated", "invitations_queued")  # fmt: skip
    fields = ("file_name", "kind", "state")
    readonly_fields = ("file_name", "kind", "state")
    change_list_template = "admin/imports/clientimport/change_list.html"
    actions = None

    def has_delete_permission(self, request: HttpRequest, obj: ClientImport | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClientImport]:
        return super().get_queryset(request).select_related("uploaded_by").defer("rows")

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "template/<str:kind>/",
                wrap(self.template_view),
                name="imports_clientimport_template",
            ),  # fmt: skip
            path("export/<str:kind>/", wrap(self.export_view), name="imports_clientimport_export"),
            path(
                "<path:object_id>/import/",
                wrap(require_POST(self.import_view)),
                name="imports_clientimport_import",
            ),  # fmt: skip
            path(
                "<path:object_id>/recheck/",
                wrap(require_POST(self.recheck_view)),
                name="imports_clientimport_recheck",
            ),  # fmt: skip
            path(
                "<path:object_id>/progress/",
                wrap(self.progress_view),
                name="imports_clientimport_progress",
            ),  # fmt: skip
            *super().get_urls(),
        ]

    def _require_import(self, request: HttpRequest) -> None:
        """404 for a role without the module, as the back office answers; 403 without "add"."""
        self._require_module(request)
        if not self.has_add_permission(request):
            raise Http404

    def _kind(self, request: HttpRequest, kind: str) -> kinds.Kind:
        """Return the kind of file the URL names, for those who may import: else 404."""
        self._require_import(request)
        if kind not in kinds.KINDS:
            raise Http404
        return kinds.kind_of(kind)

    def _own_import(self, request: HttpRequest, object_id: str) -> ClientImport:
        obj: ClientImport | None = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        return obj

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The upload page: a file in, its preview out (nothing saved but the preview)."""
        self._require_module(request)
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)  # Django's 403
        posted = request.method == "POST"
        form = UploadForm(request.POST, request.FILES) if posted else UploadForm()
        if posted and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                client_import = preview_client_import(
                    agency=_agency(request),
                    kind=form.cleaned_data["kind"],
                    data=upload.read(),
                    file_name=upload.name or "",
                    actor=staff_user(request),
                )
            except cells.FileRefused as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("backoffice:imports_clientimport_change", client_import.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a file"),
            "opts": self.opts,
            "form": form,
            "kinds": list(kinds.KINDS.values()),
            "max_mb": cells.MAX_BYTES // (1024 * 1024),
        }
        return TemplateResponse(request, "admin/imports/clientimport/upload.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:  # fmt: skip
        """The preview of an uploaded file, then its progress and its summary."""
        self._require_module(request)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined,no-any-return]
                request, self.opts, object_id
            )
        context = {
            **self.admin_site.each_context(request),
            **state_context(obj),
            "opts": self.opts,
            "original": obj,
            "errors": [describe(error) for error in obj.errors],
            "errors_capped": len(obj.errors) >= MAX_ERRORS,
            "may_import": self.has_change_permission(request, obj),
        }
        return TemplateResponse(request, "admin/imports/clientimport/preview.html", context)

    def import_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Import all: queue the import of exactly the rows the preview showed."""
        self._require_import(request)
        obj = self._own_import(request, object_id)
        if not self.has_change_permission(request, obj):
            raise Http404
        try:
            start_client_import(client_import=obj, actor=staff_user(request))
        except ImportNotReady:
            messages.error(request, _("This file cannot be imported (again)."))
        return redirect("backoffice:imports_clientimport_change", obj.pk)

    def recheck_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Check the rows of a failed import again, as a new preview (no new upload)."""
        self._require_import(request)
        obj = self._own_import(request, object_id)
        try:
            preview = recheck_client_import(client_import=obj, actor=staff_user(request))
        except ImportNotReady:
            messages.error(request, _("This file is no longer kept: please choose it again."))
            return redirect("backoffice:imports_clientimport_add")
        return redirect("backoffice:imports_clientimport_change", preview.pk)

    def progress_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The state fragment the page polls: empty (204) while nothing has changed."""
        self._require_module(request)
        obj = self._own_import(request, object_id)
        if obj.is_under_way and request.GET.get("seen") == obj.poll_key:
            return HttpResponse(status=204)
        return TemplateResponse(
            request,
            "admin/imports/clientimport/_state.html",
            {**state_context(obj), "polled": True},
        )

    def template_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        """Download a kind's template: the header and its example rows."""
        of_kind = self._kind(request, kind)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{of_kind.name}-template.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerows(of_kind.template_rows())
        return response

    def export_view(self, request: HttpRequest, kind: str) -> StreamingHttpResponse:
        """Export a kind's records of the agency, streamed as CSV (the import's columns)."""
        of_kind = self._kind(request, kind)
        rows = export_rows(
            agency=_agency(request), kind=of_kind.name, actor=staff_user(request), request=request
        )
        writer = csv.writer(Echo())

        def lines() -> Iterator[str]:
            yield "\ufeff"
            for row in rows:
                yield writer.writerow(row)

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{of_kind.name}.csv"'
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "title": _("Imports"),
            "may_import": self.has_add_permission(request),
            "kinds": list(kinds.KINDS.values()),
        }
        return super().changelist_view(request, extra_context)
