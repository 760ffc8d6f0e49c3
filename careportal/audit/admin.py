"""The audit trail in the back office, and the mixin that audits every look at protected
records there (service plans, invoices, visits and schedules)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from careportal.audit.actions import Action
from careportal.audit.events import audit_event, record, record_many
from careportal.audit.models import AuditEvent
from careportal.backoffice.scoping import AgencyScopedAdmin, ReadOnlyMixin, staff_agency
from careportal.backoffice.site import backoffice_site

if TYPE_CHECKING:
    # The mixin is used only with the back office's model admins: typed as their subclass.
    _AdminBase = AgencyScopedAdmin
else:
    _AdminBase = object


class AuditedViewMixin(_AdminBase):
    """Record every view of protected health information or money in the back office.

    Service plans (with their goals and tasks), invoices (with their lines and payments)
    and visits and recurring schedules (the calendar) are audited wherever staff read
    them, as in the portal:
    - a change page records `viewed_action` naming the record, or the record it belongs
      to (`audited_via`: a goal's plan, a payment's invoice), with the row itself;
    - a change list records one `list_viewed_action` event per page view, with the ids of
      the rows shown on that page, of the records they belong to and of their clients.
    """

    viewed_action: Action  # set by every admin that uses the mixin
    # Defaults to viewed_action.
    list_viewed_action: Action | None = None
    # The foreign key to the record an event names ("plan", "invoice"); "" for the row.
    audited_via = ""

    def _audited_record(self, obj: models.Model) -> Any:
        """Return the record an event names: the row, or the one it belongs to (any model)."""
        return getattr(obj, self.audited_via) if self.audited_via else obj

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = super().get_queryset(request)
        # The change list reads each row's record and client: keep it one query. Django
        # skips list_select_related once a select_related is set, so name its fields too.
        if not self.audited_via:
            return queryset
        shown = (
            self.list_select_related if isinstance(self.list_select_related, tuple | list) else ()
        )
        return queryset.select_related(self.audited_via, *shown)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:  # fmt: skip
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                detail: dict[str, Any] = {"place": "backoffice"}
                if self.audited_via:
                    # Every model class has its name (Options.contribute_to_class).
                    detail[cast(str, self.opts.model_name)] = obj.pk
                record(self.viewed_action, request=request, obj=self._audited_record(obj), **detail)
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and response.status_code == 200 and changelist is not None:
            rows = list(changelist.result_list)  # the page's rows, loaded once for the page
            records = [self._audited_record(row) for row in rows]
            detail: dict[str, Any] = {
                "place": "backoffice",
                "model": self.opts.label_lower,
                "ids": [row.pk for row in rows],
                "clients": sorted({r.client_id for r in records if r.client_id is not None}),
            }
            if self.audited_via:
                detail[f"{self.audited_via}s"] = sorted({r.pk for r in records})
            # The page view's one event, its id not read back (record_many).
            record_many(
                [
                    audit_event(
                        self.list_viewed_action or self.viewed_action,
                        request=request,
                        agency=staff_agency(request),
                        **detail,
                    )
                ]
            )
        return response


# Each action in plain words, by its stored value.
ACTION_LABELS = dict(Action.choices)


class ActionFilter(admin.SimpleListFilter):
    """Events of one action, chosen from Action's list (never read from the trail)."""

    title = _("what")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return Action.choices

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(action=value) if value in ACTION_LABELS else queryset


@admin.register(AuditEvent, site=backoffice_site)
class AuditEventAdmin(ReadOnlyMixin, AgencyScopedAdmin):
    """The owner reads the audit trail; nobody, superusers included, edits it."""

    list_display = (
        "created_at",
        "actor_label",
        "what",
        "object_type",
        "object_label",
        "ip_address",
    )
    # No date_hierarchy nor filters listing every distinct value: both read the whole
    # trail. The created_at filter has fixed choices, and the action's are Action's.
    list_filter = ("created_at", ActionFilter)
    search_fields = ("=action", "^actor_label", "^object_label")
    search_help_text = _("The exact action (invoice.viewed), or the first letters of who or what.")
    fields = (
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "client_id",
        "ip_address",
        "detail",
    )
    readonly_fields = fields

    @admin.display(description=_("what"), ordering="action")
    def what(self, event: AuditEvent) -> str:
        """Return the action in plain words, or as stored if Action no longer has it."""
        return str(ACTION_LABELS.get(event.action, event.action))
