"""Writes on people with side effects: the one door for every party, and its portal login.

`save_party` and `delete_party` are the only way a client, emergency contact, payer, payer
person, community or community person is created, changed or deleted: the back office,
the data import, the API and `seed_demo` all call them. Each is one transaction with its
audit event, and the portal login follows (invitations.services.sync_portal_account).

DESIGN.md section 4: removing a contact, ending a link or discharging a client ends that
access at the next request (people.access), and a login left with no relationship is
deactivated (`review_portal_logins`); ending a payer or community link never leaves a login
without a relationship, since the payer's or community's people keep their row (invoices
billed to it stay theirs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest

from careportal.accounts.models import UserKind
from careportal.accounts.sessions import end_sessions
from careportal.agencies.writes import changed_fields
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.services import sync_portal_account
from careportal.people.models import (
    Client,
    ClientStatus,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
)

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency

# The records that stand for a person or an organisation around the care: each may have
# an email, and with it a portal login.
PARTY_MODELS = (Client, EmergencyContact, Payer, PayerPerson, Community, CommunityPerson)
Party = Client | EmergencyContact | Payer | PayerPerson | Community | CommunityPerson


@transaction.atomic
def save_party(
    *, party: Party, agency: Agency, actor: User | None = None, request: HttpRequest | None = None
) -> Party:
    """Create or change a party of `agency`; return it, saved.

    In one transaction: the record checked (`full_clean`: a bad value raises
    ValidationError and nothing is written) and saved in the agency; its portal login
    created, moved to a new email or linked, with the invitation or notice queued
    (`sync_portal_account`, which compares with the email stored before); every login
    whose relationships the record carries reviewed (a discharged client's contacts lose
    access); and the audit event, naming the fields that changed (never their values).
    """
    if not isinstance(party, PARTY_MODELS):
        raise TypeError(f"{type(party).__name__} is not a party")
    party.agency = agency
    party.full_clean()
    stored = _stored(party)
    logins = logins_of(party) if stored is not None else set()
    party.save()
    sync_portal_account(
        party=party,
        previous_email=stored.email if stored is not None else None,
        actor=actor,
        request=request,
    )
    review_portal_logins(user_ids=logins | logins_of(party), actor=actor, request=request)
    if stored is None:
        record(Action.PARTY_CREATED, request=request, actor=actor, obj=party, agency=agency)
    else:
        # The login is the service's to manage, not a change the caller made.
        changed = changed_fields(stored, party, ignore=("user",))
        if changed:
            record(
                Action.PARTY_CHANGED,
                request=request,
                actor=actor,
                obj=party,
                agency=agency,
                fields=changed,
            )
    return party


@transaction.atomic
def delete_party(
    *, party: Party, actor: User | None = None, request: HttpRequest | None = None
) -> None:
    """Delete a party (with what hangs on it: a client's contacts and links); logins follow.

    A login left with no relationship is deactivated, in the same transaction.
    """
    logins = logins_of(party)
    record(Action.PARTY_DELETED, request=request, actor=actor, obj=party, agency=party.agency)
    party.delete()
    review_portal_logins(user_ids=logins, actor=actor, request=request)


def _stored(party: Party) -> Party | None:
    """Return the row as stored before this save, or None for a new record."""
    if party.pk is None:
        return None
    return type(party)._default_manager.filter(pk=party.pk).first()


def has_relationship(user: User) -> bool:
    """Return whether the login still stands for a party, by people.access's rules.

    A client record or an emergency contact row counts while the client is not discharged
    (a discharged client is seen by nobody in the portal); a payer or community person row
    counts as long as it exists, whatever the state of the links.
    """
    # A portal login belongs to an agency (only a platform operator has none).
    agency_id = cast(int, user.agency_id)
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


def logins_of(party: Party) -> set[int]:
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
    return {pk for pk in ids if pk is not None}


@transaction.atomic
def review_portal_login(
    *, user: User, actor: User | None = None, request: HttpRequest | None = None
) -> bool:
    """Deactivate a portal login left with no relationship, or reactivate one given back.

    Deactivating ends its sessions and kills its open invitation; both are audited. Return
    whether the login changed. Staff and operator logins are never touched here.
    """
    users = get_user_model()._default_manager
    login = users.select_for_update().filter(pk=user.pk, kind=UserKind.PORTAL).first()
    if login is None:
        return False
    related = has_relationship(login)
    if related == login.is_active:
        return False
    if related:
        # Only this service deactivates portal logins: a client readmitted, or a contact
        # of one, gets their login back, with the password they had.
        login.is_active = True
        login.save(update_fields=["is_active"])
        record(Action.PORTAL_ACCOUNT_REACTIVATED, request=request, actor=actor, obj=login)
        return True
    login.is_active = False
    login.save(update_fields=["is_active"])
    ended = end_sessions(login)
    Invitation.objects.filter(user=login).open().update(
        state=InvitationState.EXPIRED, otp_hash="", next_attempt_at=None
    )
    record(
        Action.PORTAL_ACCOUNT_DEACTIVATED,
        request=request,
        actor=actor,
        obj=login,
        login=login.username,
        sessions_ended=ended,
    )
    return True


def review_portal_logins(
    *, user_ids: Iterable[int], actor: User | None = None, request: HttpRequest | None = None
) -> int:
    """Review each login (see review_portal_login); return how many changed."""
    users = get_user_model()._default_manager.filter(pk__in=set(user_ids), kind=UserKind.PORTAL)
    return sum(review_portal_login(user=user, actor=actor, request=request) for user in users)
