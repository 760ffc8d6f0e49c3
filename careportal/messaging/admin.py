"""Family messages in the back office: read only, and each one opened is an audit event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.backoffice.scoping import AgencyScopedAdmin, ReadOnlyMixin
from careportal.backoffice.site import backoffice_site
from careportal.messaging.models import Message


@admin.register(Message, site=backoffice_site)
class MessageAdmin(ReadOnlyMixin, AgencyScopedAdmin):
    list_display = ("created_at", "sender_name", "relationship", "subject", "recipient")
    search_fields = ("sender_name", "sender_email", "subject")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "sender",
        "sender_name",
        "sender_email",
        "relationship",
        "recipient",
        "subject",
        "body",
    )
    readonly_fields = fields

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:  # fmt: skip
        """Show one message, and record that this staff member read it (issue 11, item 10)."""
        response: HttpResponse = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            message = self.get_object(request, object_id)
            if message is not None:
                record(Action.MESSAGE_VIEWED, request=request, obj=message, place="backoffice")
        return response
