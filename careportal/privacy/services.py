"""My privacy's writes: what a client lets each emergency contact see."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest

from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.people.models import Client, EmergencyContact

if TYPE_CHECKING:
    from careportal.accounts.models import User


class NotYourContact(LookupError):
    """The contact is not one of this client's: the view answers 404."""


def _choices(contact: EmergencyContact) -> dict[str, Any]:
    return {
        "sees_calendar": contact.sees_calendar,
        "sees_invoices": contact.sees_invoices,
        "access_ends_on": contact.access_ends_on.isoformat() if contact.access_ends_on else None,
    }


def _notify_owner(*, client: Client, contact: EmergencyContact) -> None:
    """Queue the owner's notice of a client's choice (in the caller's transaction).

    The one call to the email queue of this app: the notice names the people and what the
    contact now sees, no health information.
    """
    from careportal.emails.queue import queue_email

    agency = client.agency
    queue_email(
        name="consent_changed",
        to=agency.owner_email,
        agency=agency,
        context={
            "client_name": client.full_name,
            "contact_name": contact.name,
            "relationship": contact.relationship_name,
            "sees_calendar": contact.sees_calendar,
            "sees_invoices": contact.sees_invoices,
            "access_ends_on": contact.access_ends_on,
        },
    )


def set_contact_access(
    *,
    client: Client,
    contact: EmergencyContact,
    sees_calendar: bool,
    sees_invoices: bool,
    access_ends_on: datetime.date | None,
    actor: User,
    request: HttpRequest | None,
) -> bool:
    """Save what the client lets this emergency contact see; return whether it changed.

    In one transaction: the contact's row (locked), the audit event "consent.changed" with
    the choices before and after, and a notice to the agency's owner. The contact sees the
    change at its next request (people.access reads the row each request). A contact of
    another client (or agency) raises NotYourContact and changes nothing.
    """
    if contact.client_id != client.pk or contact.agency_id != client.agency_id:
        raise NotYourContact
    with transaction.atomic():
        locked = EmergencyContact.objects.select_for_update().get(
            agency_id=client.agency_id, client_id=client.pk, pk=contact.pk
        )
        before = _choices(locked)
        locked.sees_calendar = sees_calendar
        locked.sees_invoices = sees_invoices
        locked.access_ends_on = access_ends_on
        after = _choices(locked)
        if before == after:
            return False
        locked.save()
        record(
            Action.CONSENT_CHANGED,
            request=request,
            actor=actor,
            agency=client.agency,
            obj=locked,
            client=client,
            before=before,
            after=after,
        )
        _notify_owner(client=client, contact=locked)
    contact.sees_calendar, contact.sees_invoices = sees_calendar, sees_invoices
    contact.access_ends_on = access_ends_on
    return True
