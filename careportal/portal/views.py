"""Portal pages shared by every role: the Dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from careportal.audit.events import record
from careportal.billing.models import Invoice, InvoiceStatus
from careportal.careplans.models import PlanStatus, ServicePlan
from careportal.people import access
from careportal.people.models import Client
from careportal.portal.narrowing import selected_client, selected_client_id
from careportal.scheduling.models import Visit, VisitStatus

UPCOMING = (VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS)
NEXT_VISITS_SHOWN = 5


@dataclass
class ClientRow:
    """One line of a payer's or community's table: a client, the next visit, what is owed."""

    client: Client
    next_visit: Visit | None = None
    owed: Decimal = Decimal("0.00")


@dataclass
class PartySection:
    rows: list[ClientRow] = field(default_factory=list)

    @property
    def total_owed(self) -> Decimal:
        return sum((row.owed for row in self.rows), Decimal("0.00"))


def _only(qs: QuerySet, client_id: int | None) -> QuerySet:
    return qs if client_id is None else qs.filter(pk=client_id)


def _care_section(user: Any, client_id: int | None) -> dict[str, Any] | None:
    """Return what a client or emergency contact sees, or None if the login is neither."""
    clients = Client.objects.filter(
        Q(pk__in=access.own_client(user).values("pk"))
        | Q(pk__in=access.clients_as_contact(user).values("pk"))
    )
    client_ids = list(_only(clients, client_id).values_list("pk", flat=True))
    if not client_ids:
        return None
    now = timezone.now()
    visits = list(
        Visit.objects.visible_to(user)
        .filter(client_id__in=client_ids, end__gte=now, status__in=UPCOMING)
        .order_by("start")[:NEXT_VISITS_SHOWN]
    )
    invoices = [
        invoice
        for invoice in Invoice.objects.visible_to(user).filter(
            bill_to_client_id__in=client_ids, status=InvoiceStatus.ISSUED
        )
        if invoice.balance > 0
    ]
    # Service plans are the client's own: visible_to returns nothing for anyone else.
    plans = list(
        ServicePlan.objects.visible_to(user)
        .prefetch_related(None)
        .filter(status=PlanStatus.ACTIVE, client_id__in=client_ids)
    )
    return {
        "several_clients": len(client_ids) > 1,
        "visits": visits,
        "invoices": invoices,
        "amount_due": sum((i.balance for i in invoices), Decimal("0.00")),
        "plans": plans,
    }


def _party_section(
    user: Any, clients: QuerySet[Client], billed_to: Q, client_id: int | None
) -> PartySection | None:
    """Return a payer's or community's clients with the next visit and what it owes for each.

    Only invoices billed to the payer or community count, never the client's own balance.
    Clients whose link has ended stay listed while the party still owes for them.
    """
    now = timezone.now()
    next_visit = (
        Visit.objects.visible_to(user)
        .filter(client=OuterRef("pk"), end__gte=now, status__in=UPCOMING)
        .order_by("start")
        .values("pk")[:1]
    )
    listed = list(_only(clients, client_id).annotate(next_visit_id=Subquery(next_visit)))
    invoices = Invoice.objects.visible_to(user).filter(billed_to, status=InvoiceStatus.ISSUED)
    if client_id is not None:
        invoices = invoices.filter(client_id=client_id)
    invoices = list(invoices)
    if not listed and not invoices:
        return None
    visits = Visit.objects.visible_to(user).in_bulk(
        [c.next_visit_id for c in listed if c.next_visit_id]
    )
    rows = {c.pk: ClientRow(client=c, next_visit=visits.get(c.next_visit_id)) for c in listed}
    for invoice in invoices:
        row = rows.setdefault(invoice.client_id, ClientRow(client=invoice.client))
        row.owed += max(invoice.balance, Decimal("0.00"))
    return PartySection(
        rows=sorted(rows.values(), key=lambda r: (r.client.last_name, r.client.first_name))
    )


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    client_id = selected_client_id(request)
    party_sections = []
    if access.payers_of(user).exists():
        section = _party_section(
            user,
            access.clients_as_payer(user),
            Q(bill_to_payer__in=access.payers_of(user)),
            client_id,
        )
        if section is not None:
            party_sections.append(
                {
                    "id": "as-payer",
                    "title": _("Clients you pay for"),
                    "owed_label": _("You owe"),
                    "data": section,
                }
            )
    if access.communities_of(user).exists():
        section = _party_section(
            user,
            access.clients_as_community(user),
            Q(bill_to_community__in=access.communities_of(user)),
            client_id,
        )
        if section is not None:
            party_sections.append(
                {
                    "id": "as-community",
                    "title": _("Your residents"),
                    "owed_label": _("Your community owes"),
                    "data": section,
                }
            )
    care = _care_section(user, client_id)
    # The Dashboard shows visits, invoices and a plan's title: recorded like those pages.
    shown = {visit.client_id for visit in care["visits"]} if care else set()
    for section in party_sections:
        shown |= {row.client.pk for row in section["data"].rows}
    record(
        "dashboard.viewed",
        request=request,
        client=selected_client(request),
        clients=sorted(shown),
    )
    context = {"care": care, "party_sections": party_sections}
    return render(request, "portal/dashboard.html", context)
