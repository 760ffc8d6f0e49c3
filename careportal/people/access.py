"""Who may see what in the portal: DESIGN.md section 4, in one place.

Every portal view, download, feed and count starts from the querysets here or from the
`visible_to(user)` methods built on them (`Invoice.objects.visible_to`, ...). A login that
is not an active portal login of an agency sees nothing. Discharged clients are seen by
nobody in the portal.

| data      | client        | emergency contact   | payer / community                  |
| clients   | self          | clients of contact  | linked clients / residents (active) |
| narrowing | as clients    | as clients          | as clients, and clients invoiced   |
| visits    | own           | those clients'      | those clients'                     |
| invoices  | billed to self| billed to those     | billed to the payer / community    |
| plans     | own           | never               | never                              |
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from careportal.people.models import (
    Client,
    ClientPayer,
    ClientStatus,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Residence,
)


def is_portal_login(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "kind", None) == "portal"
        and user.agency_id is not None
    )


def _clients(user: Any) -> QuerySet[Client]:
    return Client.objects.filter(agency_id=user.agency_id).exclude(status=ClientStatus.DISCHARGED)


def own_client(user: Any) -> QuerySet[Client]:
    """Return the client record the login stands for (at most one)."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(user=user)


def clients_as_contact(user: Any) -> QuerySet[Client]:
    if not is_portal_login(user):
        return Client.objects.none()
    contacts = EmergencyContact.objects.filter(
        agency_id=user.agency_id, user=user, client=OuterRef("pk")
    )
    return _clients(user).filter(Exists(contacts))


def payers_of(user: Any) -> QuerySet[Payer]:
    if not is_portal_login(user):
        return Payer.objects.none()
    people = PayerPerson.objects.filter(agency_id=user.agency_id, user=user, payer=OuterRef("pk"))
    return Payer.objects.filter(agency_id=user.agency_id).filter(Exists(people))


def communities_of(user: Any) -> QuerySet[Community]:
    if not is_portal_login(user):
        return Community.objects.none()
    people = CommunityPerson.objects.filter(
        agency_id=user.agency_id, user=user, community=OuterRef("pk")
    )
    return Community.objects.filter(agency_id=user.agency_id).filter(Exists(people))


def clients_as_payer(user: Any, on: datetime.date | None = None) -> QuerySet[Client]:
    if not is_portal_login(user):
        return Client.objects.none()
    links = ClientPayer.objects.active(on).filter(
        agency_id=user.agency_id, client=OuterRef("pk"), payer__in=payers_of(user)
    )
    return _clients(user).filter(Exists(links))


def clients_as_community(user: Any, on: datetime.date | None = None) -> QuerySet[Client]:
    if not is_portal_login(user):
        return Client.objects.none()
    links = Residence.objects.active(on).filter(
        agency_id=user.agency_id, client=OuterRef("pk"), community__in=communities_of(user)
    )
    return _clients(user).filter(Exists(links))


def _today(user: Any) -> datetime.date:
    agency = getattr(user, "agency", None)
    return timezone.localdate(timezone=agency.tz) if agency is not None else timezone.localdate()


def calendar_client_filter(user: Any) -> Q:
    """Return a filter on Client for every client whose visits the login may see."""
    if not is_portal_login(user):
        return Q(pk__in=[])
    on = _today(user)
    return (
        Q(pk__in=own_client(user).values("pk"))
        | Q(pk__in=clients_as_contact(user).values("pk"))
        | Q(pk__in=clients_as_payer(user, on).values("pk"))
        | Q(pk__in=clients_as_community(user, on).values("pk"))
    )


def calendar_clients(user: Any) -> QuerySet[Client]:
    """Return the clients listed for the login: self, contacts' clients, linked clients."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(calendar_client_filter(user))


def invoice_filter(user: Any) -> Q:
    """Return a filter on Invoice for every invoice billed to the login's parties."""
    if not is_portal_login(user):
        return Q(pk__in=[])
    return (
        Q(bill_to_client__in=own_client(user).values("pk"))
        | Q(bill_to_client__in=clients_as_contact(user).values("pk"))
        | Q(bill_to_payer__in=payers_of(user).values("pk"))
        | Q(bill_to_community__in=communities_of(user).values("pk"))
    )


def narrowable_client_filter(user: Any) -> Q:
    """Return a filter on Client for the clients a page may be narrowed to (`?client=`).

    The calendar's clients, and the clients of the invoices the login sees: a payer or a
    community keeps the invoices of a link that has ended, and the Dashboard lists that
    client, so its pages may be narrowed to them (the calendar then shows no visits).
    """
    if not is_portal_login(user):
        return Q(pk__in=[])
    from careportal.billing.models import Invoice

    return calendar_client_filter(user) | Q(
        pk__in=Invoice.objects.visible_to(user).values("client_id")
    )


def narrowable_clients(user: Any) -> QuerySet[Client]:
    """Return the clients offered by the "Showing" selector and accepted by `?client=`."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(narrowable_client_filter(user))


def service_plan_client_filter(user: Any) -> Q:
    """Return a filter on Client for service plans: the client's own login alone."""
    if not is_portal_login(user):
        return Q(pk__in=[])
    return Q(pk__in=own_client(user).values("pk"))


def has_care_plan(user: Any) -> bool:
    return own_client(user).exists()


def relationships(user: Any) -> dict[str, list[Any]]:
    """Return the login's relationships, for labels: client, contacts, payers, communities."""
    if not is_portal_login(user):
        return {"client": [], "contacts": [], "payers": [], "communities": []}
    return {
        "client": list(own_client(user)),
        "contacts": list(
            EmergencyContact.objects.filter(agency_id=user.agency_id, user=user)
            .exclude(client__status=ClientStatus.DISCHARGED)
            .select_related("client")
        ),
        "payers": list(payers_of(user)),
        "communities": list(communities_of(user)),
    }
