"""My privacy: the client's page. Who may see their information (and the client's choice
for each emergency contact), who has looked at it, and a copy of their record.

The client's alone: every other login gets the page it never has, 404 (as Care Plan).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from careportal.people import access
from careportal.people.models import Client, EmergencyContact
from careportal.privacy import services, viewers
from careportal.privacy.forms import ContactAccessForm
from careportal.privacy.models import RecordCopy

if TYPE_CHECKING:
    from careportal.accounts.http import AuthenticatedHttpRequest


def _own_client(request: HttpRequest) -> tuple[Client, bool]:
    """Return the client the login stands for, with the agency, and whether a copy of
    their record is kept; or answer 404."""
    # The login's relationships (read once per request) say whether it is a client.
    if not access.has_care_plan(request.user):
        raise Http404
    client = (
        access.own_client(request.user)
        .select_related("agency")
        .annotate(has_record_copy=Exists(RecordCopy.objects.filter(client=OuterRef("pk"))))
        .first()
    )
    if client is None:
        raise Http404
    return client, bool(getattr(client, "has_record_copy", False))


def _contact_form(
    contact: EmergencyContact, today: datetime.date, data: QueryDict | None = None
) -> ContactAccessForm:
    initial = {
        "sees_calendar": contact.sees_calendar,
        "sees_invoices": contact.sees_invoices,
        "access_ends_on": contact.access_ends_on,
    }
    return ContactAccessForm(data, initial=initial, prefix=f"contact-{contact.pk}", today=today)


def _view_filter(
    request: HttpRequest,
    client: Client,
    today: datetime.date,
    contacts: list[EmergencyContact],
    related: viewers.Related,
) -> viewers.ViewFilter:
    """Return the list's filters from the query: unknown values are ignored."""
    offered = viewers.viewers_of(client, contacts, related)
    months = viewers.months_offered(today)
    who = request.GET.get("who", "")
    month_text = request.GET.get("month", "")
    month = next((m for m in months if m.strftime("%Y-%m") == month_text), None)
    return viewers.ViewFilter(
        who=who if who in {v.value for v in offered} else "",
        month=month,
        include_own=request.GET.get("own") == "1",
        viewers=offered,
        months=months,
    )


def _access_line(contact: EmergencyContact, today: datetime.date) -> str:
    """Return what the contact sees now, in a few words."""
    if contact.access_ends_on is not None and contact.access_ends_on < today:
        return _("Sees nothing: their access has ended.")
    if contact.sees_calendar and contact.sees_invoices:
        return _("Sees your calendar of visits and your invoices.")
    if contact.sees_calendar:
        return _("Sees your calendar of visits, not your invoices.")
    if contact.sees_invoices:
        return _("Sees your invoices, not your calendar of visits.")
    return _("Sees neither your calendar nor your invoices.")


@require_http_methods(["GET", "POST"])
def my_privacy(request: AuthenticatedHttpRequest) -> HttpResponse:
    client, has_record_copy = _own_client(request)
    agency = client.agency
    today = timezone.localdate(timezone=agency.tz)
    contacts = list(
        EmergencyContact.objects.filter(agency_id=agency.pk, client=client).order_by("name", "pk")
    )
    forms = {contact.pk: _contact_form(contact, today) for contact in contacts}
    status = 200
    if request.method == "POST":
        raw = request.POST.get("contact", "")
        contact = next((c for c in contacts if raw.isdigit() and c.pk == int(raw)), None)
        if contact is None:
            raise Http404
        form = _contact_form(contact, today, request.POST)
        if form.is_valid():
            changed = services.set_contact_access(
                client=client,
                contact=contact,
                sees_calendar=form.cleaned_data["sees_calendar"],
                sees_invoices=form.cleaned_data["sees_invoices"],
                access_ends_on=form.cleaned_data["access_ends_on"],
                actor=request.user,
                request=request,
            )
            if changed:
                messages.success(
                    request,
                    _("Saved. %(name)s sees the change from now on.") % {"name": contact.name},
                )
            else:
                messages.info(request, _("Nothing changed for %(name)s.") % {"name": contact.name})
            return redirect(f"{reverse('privacy:my_privacy')}#contact-{contact.pk}")
        forms[contact.pk] = form
        status = 400
    # The links and their people name the people in the list and its filter too.
    related = viewers.related_of(client)
    chosen = _view_filter(request, client, today, contacts, related)
    page, rows = viewers.page_of_views(
        client, request.user, chosen, request.GET.get("page"), contacts=contacts
    )
    context = {
        "client": client,
        "agency": agency,
        "today": today,
        "contacts": [(c, forms[c.pk], _access_line(c, today)) for c in contacts],
        "payer_links": related.payer_links,
        "community_links": related.community_links,
        "chosen": chosen,
        "page": page,
        "rows": rows,
        "table_body": viewers.table_body(rows),
        "month_options": viewers.month_options(chosen),
        # Copies last 7 days: most clients have none, and then no query is spent on it.
        "record_copy": client.record_copies.first() if has_record_copy else None,
    }
    return render(request, "privacy/my_privacy.html", context, status=status)
