"""My privacy: the client's page. Who may see their information (and the client's choice
for each emergency contact), who has looked at it, and a copy of their record.

The client's alone: every other login gets the page it never has, 404 (as Care Plan).
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from careportal.people import access
from careportal.people.models import Client, EmergencyContact
from careportal.privacy import services, viewers
from careportal.privacy.forms import ContactAccessForm
from careportal.privacy.models import RecordCopy

if TYPE_CHECKING:
    from careportal.accounts.http import AuthenticatedHttpRequest


def _own_client(request: HttpRequest) -> Client:
    """Return the client the login stands for, with the agency; or answer 404."""
    user = request.user
    if not access.is_portal_login(user):
        raise Http404
    # The login's relationships (read once per request, with the clients' names) name
    # its own client: no query of its own.
    rels = access.relationship_ids(user)
    own = next((c for c in rels.care_clients if c.pk in rels.own_client_ids), None)
    if own is None:
        raise Http404
    # A copy: the relationships' client is shared by the request's other readers.
    client = copy.copy(own)
    client.agency = user.agency
    return client


@dataclass
class _ContactCard:
    """An emergency contact's card: what they see now, and the choices its form shows."""

    contact: EmergencyContact
    # The card's id ("contact-12"), the start of its fields' names; "Name, Relationship".
    id: str
    title: str
    access_line: str
    # The last day the contact sees anything, while it is still to come.
    until: datetime.date | None
    sees_calendar: bool
    sees_invoices: bool
    # The last day as the date field shows it: "2027-03-31", or what was refused.
    access_ends_on: str
    # Whether a change was refused, and why (the last day's errors).
    refused: bool = False
    errors: list[str] = field(default_factory=list)


def _card(contact: EmergencyContact, today: datetime.date) -> _ContactCard:
    ends = contact.access_ends_on
    return _ContactCard(
        contact,
        f"contact-{contact.pk}",
        f"{contact.name}, {contact.relationship_name}",
        _access_line(contact, today),
        ends if ends is not None and ends >= today else None,
        bool(contact.sees_calendar),
        bool(contact.sees_invoices),
        ends.strftime("%Y-%m-%d") if ends else "",
    )


def _refused_card(
    contact: EmergencyContact, today: datetime.date, form: ContactAccessForm
) -> _ContactCard:
    """Return the card of a refused change, with what was sent and the errors."""
    card = _card(contact, today)
    card.sees_calendar = bool(form["sees_calendar"].value())
    card.sees_invoices = bool(form["sees_invoices"].value())
    card.access_ends_on = str(form["access_ends_on"].value() or "")
    card.refused = True
    card.errors = [str(error) for error in form.errors.get("access_ends_on", [])]
    return card


# One emergency contact's card: what they see now and the form of the client's choices, the
# form's fields written out (ContactAccessForm checks them) with the ids, names and labels
# Django gives them.
_CARD = """<section class="card" id="{id}" aria-labelledby="{id}-name">
    <h4 id="{id}-name">{title}</h4>
    <p><strong>{now}</strong> {access_line}{until}</p>
    {no_account}
    <form method="post" action="{action}#{id}" novalidate>
      <input type="hidden" name="csrfmiddlewaretoken" value="{token}">
      <input type="hidden" name="contact" value="{pk}">
      {refused}
      <fieldset>
        <legend>{legend}</legend>
        <div class="field">
          <label for="id_{id}-sees_calendar"><input type="checkbox" name="{id}-sees_calendar" \
id="id_{id}-sees_calendar"{calendar_checked}> {calendar}</label>
        </div>
        <div class="field">
          <label for="id_{id}-sees_invoices"><input type="checkbox" name="{id}-sees_invoices" \
id="id_{id}-sees_invoices"{invoices_checked}> {invoices}</label>
        </div>
      </fieldset>
      <div class="field{field_error}">
        <label for="id_{id}-access_ends_on">{last_day}</label>
        <span class="helptext" id="id_{id}-access_ends_on_helptext">{help}</span>
        {errors}
        <input type="date" name="{id}-access_ends_on"{value}{described} id="id_{id}-access_ends_on">
      </div>
      <p class="actions"><button type="submit" class="button">{save}</button></p>
    </form>
  </section>"""


def _cards_html(cards: list[_ContactCard], action: str, token: str) -> SafeString:
    """Return the emergency contacts' cards as HTML, each value escaped as a template would
    (a translation whole, a name put into one).

    Written here rather than by the template, as the list's rows are (viewers.table_body):
    each card's thirty-odd template nodes cost more than the rest of the section.
    """
    words = {
        "now": conditional_escape(_("Now:")),
        "calendar": conditional_escape(_("Can see my calendar of visits")),
        "invoices": conditional_escape(_("Can see my invoices")),
        "last_day": conditional_escape(_("Last day they can see anything (optional)")),
        "help": conditional_escape(
            _("After this day they see nothing. Leave it empty for no end.")
        ),
        "action": conditional_escape(action),
        "token": conditional_escape(token),
    }
    html = []
    for card in cards:
        contact = card.contact
        name = {"name": conditional_escape(contact.name)}
        ident = card.id
        helptext = f"id_{ident}-access_ends_on_helptext"
        error_id = f"id_{ident}-access_ends_on_error"
        until = ""
        if card.until is not None:
            day = conditional_escape(formats.date_format(card.until, "DATE_FORMAT"))
            until = " " + _("Until %(day)s.") % {"day": day}
        refused = ""
        if card.refused:
            said = _("Nothing was changed for %(name)s. Please correct the date below.") % name
            refused = f'<div class="form-errors" role="alert"><p>{said}</p></div>'
        errors = ""
        described = f' aria-describedby="{helptext}"'
        if card.errors:
            items = "".join(f"<li>{conditional_escape(error)}</li>" for error in card.errors)
            errors = f'<ul class="errorlist" id="{error_id}">{items}</ul>'
            described = f' aria-invalid="true" aria-describedby="{helptext} {error_id}"'
        no_account = ""
        if not contact.user_id:
            no_account = '<p class="helptext">{}</p>'.format(
                conditional_escape(_("This person has no portal account yet."))
            )
        value = conditional_escape(card.access_ends_on)
        html.append(
            _CARD.format(
                **words,
                id=ident,
                pk=contact.pk,
                title=conditional_escape(card.title),
                access_line=conditional_escape(card.access_line),
                until=until,
                no_account=no_account,
                refused=refused,
                legend=_("What %(name)s can see") % name,
                calendar_checked=" checked" if card.sees_calendar else "",
                invoices_checked=" checked" if card.sees_invoices else "",
                field_error=" field-error" if card.errors else "",
                errors=errors,
                value=f' value="{value}"' if value else "",
                described=described,
                save=_("Save for %(name)s") % name,
            )
        )
    return mark_safe("\n  ".join(html))  # every value is escaped above


def _contact_form(
    contact: EmergencyContact, today: datetime.date, data: QueryDict | None = None
) -> ContactAccessForm:
    initial = {
        "sees_calendar": contact.sees_calendar,
        "sees_invoices": contact.sees_invoices,
        "access_ends_on": contact.access_ends_on,
    }
    return ContactAccessForm(data, initial=initial, prefix=f"contact-{contact.pk}", today=today)


def _asked_filter(request: HttpRequest, today: datetime.date) -> viewers.ViewFilter:
    """Return the list's filters as the query asks them: a month not offered is ignored;
    whom is checked by `_view_filter`, once the people offered are known."""
    months = viewers.months_offered(today)
    who = request.GET.get("who", "")
    month_text = request.GET.get("month", "")
    month = next((m for m in months if m.strftime("%Y-%m") == month_text), None)
    # A login's id (a bigint) or the staff; anything else is everyone already.
    if who != viewers.STAFF and not (who.isascii() and who.isdigit() and len(who) < 19):
        who = ""
    return viewers.ViewFilter(
        who=who,
        month=month,
        include_own=request.GET.get("own") == "1",
        months=months,
    )


def _view_filter(
    asked: viewers.ViewFilter,
    client: Client,
    contacts: list[EmergencyContact],
    related: viewers.Related,
) -> viewers.ViewFilter:
    """Return the list's filters: whom only if the filter offers them, else everyone."""
    offered = viewers.viewers_of(client, contacts, related)
    return viewers.ViewFilter(
        who=asked.who if asked.who in {v.value for v in offered} else "",
        month=asked.month,
        include_own=asked.include_own,
        viewers=offered,
        months=asked.months,
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


def _page_link(request: HttpRequest, number: int) -> str:
    """Return the link to a page of the list, with the filters kept (as `querystring`)."""
    params = request.GET.copy()
    params["page"] = str(number)
    return f"?{params.urlencode()}#who-looked"


def _link_dates(link: viewers.Link, today: datetime.date) -> str:
    """Return when a payer's or community's link is in force, in a few words."""
    start = formats.date_format(link.start_date, "DATE_FORMAT")
    end = link.end_date
    if end is not None and end < today:
        ended = formats.date_format(end, "DATE_FORMAT")
        return _("from %(start)s to %(end)s (ended)") % {"start": start, "end": ended}
    if link.start_date > today:
        return _("from %(start)s (not started yet)") % {"start": start}
    if end is not None:
        ends = formats.date_format(end, "DATE_FORMAT")
        return _("from %(start)s to %(end)s") % {"start": start, "end": ends}
    return _("since %(start)s") % {"start": start}


@require_http_methods(["GET", "POST"])
def my_privacy(request: AuthenticatedHttpRequest) -> HttpResponse:
    client = _own_client(request)
    agency = client.agency
    today = timezone.localdate(timezone=agency.tz)
    asked = _asked_filter(request, today)
    read = None
    if request.method == "POST":
        # The contacts, links and their people, and the latest copy of the record.
        related = viewers.related_of(client)
    else:
        # The same and the page of views asked for: one query.
        read = viewers.related_and_views(client, request.user, asked, request.GET.get("page"))
        related = read.related
    contacts = related.contacts
    cards = {contact.pk: _card(contact, today) for contact in contacts}
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
        cards[contact.pk] = _refused_card(contact, today, form)
        status = 400
    chosen = _view_filter(asked, client, contacts, related)
    page, rows = viewers.page_of_views(
        client, request.user, chosen, request.GET.get("page"), contacts=contacts, read=read
    )
    page_url = reverse("privacy:my_privacy")
    context = {
        "page_url": page_url,
        "client": client,
        "agency": agency,
        "today": today,
        "cards": _cards_html([cards[c.pk] for c in contacts], page_url, get_token(request)),
        "payer_links": [(link, _link_dates(link, today)) for link in related.payer_links],
        "community_links": [(link, _link_dates(link, today)) for link in related.community_links],
        "chosen": chosen,
        "page": page,
        "newer_views": _page_link(request, page.previous_page_number) if page.has_previous else "",
        "older_views": _page_link(request, page.next_page_number) if page.has_next else "",
        "rows": rows,
        "table_body": viewers.table_body(rows),
        "viewer_options": viewers.viewer_options(chosen),
        "month_options": viewers.month_options(chosen),
        # Copies last 7 days: most clients have none, and then no query is spent on it.
        "record_copy": (
            RecordCopy.objects.filter(pk=related.record_copy_id).first()
            if related.record_copy_id is not None
            else None
        ),
    }
    return render(request, "privacy/my_privacy.html", context, status=status)
