"""Email the agency owner: compose, the confirmation, and the sender's own sent messages."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from careportal.accounts.http import AuthenticatedHttpRequest
from careportal.agencies.models import Agency
from careportal.messaging import services
from careportal.messaging.forms import ComposeForm
from careportal.messaging.models import Message
from careportal.people import access


def _require_portal_login(request: AuthenticatedHttpRequest) -> Agency:
    """Return the portal login's agency; 404 for anyone else.

    Staff write to the owner through their own channels, not through the portal.
    """
    agency = request.user.agency
    if not access.is_portal_login(request.user) or agency is None:
        raise Http404
    return agency


@require_http_methods(["GET", "POST"])
def compose(request: AuthenticatedHttpRequest) -> HttpResponse:
    agency = _require_portal_login(request)
    status = 200
    if request.method == "POST":
        form = ComposeForm(request.POST)
        if form.is_valid():
            try:
                message = services.send_message_to_owner(
                    user=request.user,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    request=request,
                )
            except services.RateLimited as exc:
                form.add_error(None, str(exc))
                status = 429
            else:
                messages.success(
                    request,
                    _("Your message is saved and on its way to %(agency)s.")
                    % {"agency": agency.name},
                )
                return redirect("messaging:message_detail", pk=message.pk)
        limit = None
    else:
        form = ComposeForm(initial=services.draft_for(request.user))
        limit = services.limit_reached(request.user)
    return render(
        request,
        "messaging/compose.html",
        {"form": form, "limit": limit, "agency": agency},
        status=status,
    )


def sent(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_portal_login(request)
    listed = Message.objects.visible_to(request.user).only("pk", "subject", "created_at")
    page = Paginator(listed, 25).get_page(request.GET.get("page"))
    return render(request, "messaging/sent.html", {"page": page, "rows": _sent_rows(page)})


@dataclass(frozen=True)
class SentRow:
    url: str
    subject: str
    sent: str


def _sent_rows(page: Page[Message]) -> list[SentRow]:
    # What the template's `url` tag and `date` filter would give, made here: one address
    # prefix for every row, and the words "Sent ..." looked up once per page.
    prefix = reverse("messaging:message_detail", args=[0]).removesuffix("0/")
    sent = _("Sent %(sent)s")
    return [
        SentRow(
            url=f"{prefix}{message.pk}/",
            subject=message.subject,
            sent=sent
            % {"sent": formats.date_format(localtime(message.created_at), "DATETIME_FORMAT")},
        )
        for message in page.object_list
    ]


def message_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_portal_login(request)
    message = get_object_or_404(Message.objects.visible_to(request.user), pk=pk)
    return render(request, "messaging/message_detail.html", {"message": message})
