"""Writes on people with side effects: a portal login follows its relationships.

DESIGN.md section 4: removing a contact, ending a link or discharging a client ends that
access at the next request (people.access), and a login left with no relationship is
deactivated. The back office calls `review_portal_logins` after it deletes or changes a
party; ending a payer or community link never leaves a login without a relationship, since
the payer's or community's people keep their row (invoices billed to it stay theirs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest

from careportal.accounts.models import UserKind
from careportal.accounts.sessions import end_sessions
from careportal.audit.events import record
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import (
    Client,
    ClientStatus,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
)


def has_relationship(user: Any) -> bool:
    """Return whether the login still stands for a party, by people.access's rules.

    A client record or an emergency contact row counts while the client is not discharged
    (a discharged client is seen by nobody in the portal); a payer or community person row
    counts as long as it exists, whatever the state of the links.
    """
    agency_id = user.agency_id
    return (
        Client.objects.filter(agency_id=agency_id, user=user)
        .exclude(status=ClientStatus.DISCHARGED)
        .exists()
        or EmergencyContact.objects.filter(agency_id=agency_id, user=user)
        .exclude(client__status=ClientStatus.DISCHARGED)
        .exists()
        or PayerPerson.objects.filter(agency_id=agency_id, user=user).exists()
        or CommunityPerson.objects.filter(agency_id=agency_id, user=user).exists()
    )


def logins_of(party: Any) -> set[int]:
    """Return the ids of the portal logins whose relationships the party record carries.

    A client: its own login and its contacts'; a payer or community: its people's.
    """
    if isinstance(party, Client):
        ids = {party.user_id}
        if party.pk is not None:
            ids.update(
                EmergencyContact.objects.filter(client=party).values_list("user_id", flat=True)
            )
    elif isinstance(party, Payer | Community):
        ids = set(party.people.values_list("user_id", flat=True)) if party.pk else set()
    else:
        ids = {getattr(party, "user_id", None)}
    ids.discard(None)
    return ids


@transaction.atomic
def review_portal_login(
    *, user: Any, actor: Any = None, request: HttpRequest | None = None
) -> bool:
    """Deactivate a portal login left with no relationship, or reactivate one given back.

    Deactivating ends its sessions and kills its open invitation; both are audited. Return
    whether the login changed. Staff and operator logins are never touched here.
    """
    users = get_user_model()._default_manager
    user = users.select_for_update().filter(pk=user.pk, kind=UserKind.PORTAL).first()
    if user is None:
        return False
    related = has_relationship(user)
    if related == user.is_active:
        return False
    if related:
        # Only this service deactivates portal logins: a client readmitted, or a contact
        # of one, gets their login back, with the password they had.
        user.is_active = True
        user.save(update_fields=["is_active"])
        record("portal_account.reactivated", request=request, actor=actor, obj=user)
        return True
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_sessions(user)
    Invitation.objects.filter(user=user).open().update(
        state=InvitationState.EXPIRED, otp_hash="", next_attempt_at=None
    )
    record(
        "portal_account.deactivated",
        request=request,
        actor=actor,
        obj=user,
        login=user.username,
        sessions_ended=ended,
    )
    return True


def review_portal_logins(
    *, user_ids: Iterable[int], actor: Any = None, request: HttpRequest | None = None
) -> int:
    """Review each login (see review_portal_login); return how many changed."""
    users = get_user_model()._default_manager.filter(pk__in=set(user_ids), kind=UserKind.PORTAL)
    return sum(review_portal_login(user=user, actor=actor, request=request) for user in users)
