"""Portal accounts for parties, and their invitations.

The back office, imports and any API call `sync_portal_account` after saving a client,
emergency contact, payer, community, payer person or community person, inside the same
transaction. Rows written here (logins, invitations, notice emails) are only seen by the
worker once that transaction commits, so a rolled-back save sends nothing.
"""

from __future__ import annotations

import datetime
import re
import secrets
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careportal.accounts import limits
from careportal.accounts.limits import Limit
from careportal.accounts.models import User, UserKind
from careportal.accounts.security import set_security_answer
from careportal.accounts.services import set_password
from careportal.agencies.models import Agency, StaffMembership
from careportal.audit.actions import Action
from careportal.audit.events import client_ip, record
from careportal.emails.delivery import wake_worker
from careportal.emails.queue import queue_email
from careportal.invitations.models import (
    PENDING_STATES,
    Invitation,
    InvitationState,
    NewInvitationRequest,
)
from careportal.people.models import (
    Client,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
)

if TYPE_CHECKING:
    from careportal.people.services import Party

# The people of a client, a payer or a community: their records share a login by email.
Person = EmergencyContact | PayerPerson | CommunityPerson
# Who gets a login of their own, or a share of one: a client or a person.
Invitee = Client | Person

_Row = TypeVar("_Row", bound=models.Model)

# Re-invitations a person can ask for themselves, per login, counted from the login's
# invitations (accounts.limits).
SELF_SERVICE = Limit(most=3, within=datetime.timedelta(hours=1))
SELF_SERVICE_LIMIT = SELF_SERVICE.most
# A one-time password emailed less than this long ago is not replaced on request: anyone
# who knows the username could otherwise keep killing the one in the person's mailbox.
SELF_SERVICE_FRESH = datetime.timedelta(minutes=15)
# `New invitation` requests the worker handles in one transaction of a pass.
REQUEST_BATCH = 100


class InvitationNotUsable(Exception):
    """The one-time password was spent, replaced or expired meanwhile."""


# Logins -------------------------------------------------------------------------------


def _username_base(name: str, email: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    parts = re.findall(r"[a-z0-9]+", ascii_name.lower())
    if not parts:
        parts = re.findall(r"[a-z0-9]+", email.split("@")[0].lower())
    return ".".join(parts)[:140] or "user"


def logins_named(usernames: Iterable[str]) -> QuerySet[User]:
    """Return the logins whose username is one of `usernames`, whatever the case.

    LOWER(username) = ... is what the case-insensitive unique index serves; `__iexact`
    (UPPER on PostgreSQL) would read the whole table.
    """
    names = {name.lower() for name in usernames}
    return (
        get_user_model()
        ._default_manager.alias(username_lower=Lower("username"))
        .filter(username_lower__in=names)
    )


def username_taken(username: str) -> bool:
    """Return True if a login already has this username, in any case."""
    return logins_named([username]).exists()


def _create_login(*, agency: Agency, name: str, email: str, kind: str, **extra: bool) -> User:
    """Create a login with a readable username unique across the deployment."""
    base = _username_base(name, email)
    first, _sep, last = name.strip().partition(" ")
    number = 1
    while True:
        username = base if number == 1 else f"{base}{number}"
        number += 1
        if username_taken(username):
            continue
        user = get_user_model()(
            agency=agency,
            username=username,
            email=email,
            kind=kind,
            first_name=first[:150],
            last_name=last.strip()[:150],
            must_change_password=True,
            **extra,
        )
        user.set_unusable_password()
        try:
            # A savepoint: another process may take the same name between check and insert.
            with transaction.atomic():
                user.save()
        except IntegrityError:
            continue
        return user


def _other_relationships(user: User, party: Party) -> int:
    """Return how many party records other than `party` the login stands for."""
    count = 0
    for model in (EmergencyContact, PayerPerson, CommunityPerson):
        # A login with a relationship belongs to the agency of its party records.
        rows = model.objects.filter(agency_id=cast(int, user.agency_id), user=user)
        if isinstance(party, model):
            rows = rows.exclude(pk=party.pk)
        count += rows.count()
    if not isinstance(party, Client) and Client.objects.filter(user=user).exists():
        count += 1
    return count


def _describe(party: Party) -> dict[str, str]:
    """Return what a relationship gives access to, for the notice email."""
    if isinstance(party, EmergencyContact):
        return {"kind": "contact", "name": party.client.full_name}
    if isinstance(party, PayerPerson):
        return {"kind": "payer", "name": party.payer.name}
    if isinstance(party, CommunityPerson):
        return {"kind": "community", "name": party.community.name}
    return {"kind": "client", "name": str(party)}


def _party_name(party: Party) -> str:
    if isinstance(party, Client):
        return party.full_name
    return party.name


# Invitations --------------------------------------------------------------------------


def _agency_of(user: User) -> Agency:
    """Return the login's agency: every login invited belongs to one."""
    assert user.agency is not None, f"{user} belongs to no agency"
    return user.agency


def queue_invitation(
    *,
    user: User,
    actor: User | None = None,
    request: HttpRequest | None = None,
    action: Action = Action.INVITATION_QUEUED,
) -> Invitation:
    """Supersede the login's open invitations and queue a new one for the worker."""
    now = timezone.now()
    Invitation.objects.filter(user=user).open().update(
        state=InvitationState.SUPERSEDED, otp_hash="", next_attempt_at=None
    )
    invitation = Invitation.objects.create(
        agency=_agency_of(user),
        user=user,
        email=user.email,
        state=InvitationState.QUEUED,
        next_attempt_at=now,
        # A platform operator inviting an agency's first owner belongs to no agency: the
        # audit event names them, the row (which points within its agency only) does not.
        created_by=actor
        if actor is not None and actor.is_authenticated and actor.agency_id == user.agency_id
        else None,
        created_at=now,
    )
    record(
        action,
        request=request,
        actor=actor,
        obj=invitation,
        agency=user.agency,
        email=invitation.email,
        login=user.username,
    )
    wake_worker()
    return invitation


def _notify(
    *, to: str, template: str, user: User, agency: Agency | None, context: dict[str, Any]
) -> None:
    queue_email(
        name=template,
        to=to,
        context={
            "user": user,
            "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
            **context,
        },
        language=getattr(user, "language", "") or None,
        agency=agency,
        reply_to=agency.portal_message_email if agency else None,
    )


def _invite_or_notify_new_address(
    *, user: User, actor: User | None, request: HttpRequest | None
) -> None:
    """A login's email changed: a login never set up gets a fresh invitation, else a notice."""
    if user.must_change_password or not user.has_usable_password():
        queue_invitation(user=user, actor=actor, request=request)
    else:
        _notify(
            to=user.email,
            template="email_changed_new",
            user=user,
            agency=user.agency,
            context={},
        )


def _tell_old_address(*, previous_email: str, user: User, party: Party) -> None:
    _notify(
        to=previous_email,
        template="email_changed_old",
        user=user,
        agency=party.agency,
        context={"party_name": _party_name(party)},
    )


def _changed(previous: str | None, current: str) -> bool:
    return (previous or "").strip().lower() != current.strip().lower()


@transaction.atomic
def sync_portal_account(
    *,
    party: Party,
    previous_email: str | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Give the party a portal login and queue its invitation when its email is new or changed.

    - A client always gets a login of their own, even when the email is shared.
    - A contact, payer person or community person whose email already has a non-client
      portal login in the agency is linked to it and told by email, without new credentials.
    - A changed email: the new address is invited (or told, if the login is already set
      up) and the old address is told.
    - A payer or community record: its own email is the first of its people.
    - An unchanged email (the record saved for its phone number, say) touches no login.
    """
    email = (party.email or "").strip()
    if previous_email is not None and not _changed(previous_email, email):
        return
    if isinstance(party, Payer | Community):
        _sync_organisation(
            party=party, email=email, previous_email=previous_email, actor=actor, request=request
        )
        return
    if not email:
        return
    previous = (previous_email or "").strip()
    if isinstance(party, Client):
        _sync_client(party=party, email=email, previous=previous, actor=actor, request=request)
    elif isinstance(party, EmergencyContact | PayerPerson | CommunityPerson):
        _sync_person(party=party, email=email, previous=previous, actor=actor, request=request)
    else:
        raise TypeError(f"No portal account for {type(party).__name__}")


def _sync_client(
    *, party: Client, email: str, previous: str, actor: User | None, request: HttpRequest | None
) -> None:
    user = party.user
    if user is None:
        user = _create_login(
            agency=party.agency, name=party.full_name, email=email, kind=UserKind.PORTAL
        )
        party.user = user
        party.save(update_fields=["user"])
        queue_invitation(user=user, actor=actor, request=request)
        return
    if not _changed(user.email, email) and not _changed(previous, email):
        return
    old = previous or user.email
    user.email = email
    user.save(update_fields=["email"])
    _invite_or_notify_new_address(user=user, actor=actor, request=request)
    if old and _changed(old, email):
        _tell_old_address(previous_email=old, user=user, party=party)


def _sync_person(
    *, party: Person, email: str, previous: str, actor: User | None, request: HttpRequest | None
) -> None:
    agency = party.agency
    current = party.user
    if current is not None and not _changed(current.email, email):
        return
    old = previous or (current.email if current is not None else "")
    users = get_user_model()._default_manager
    existing = (
        users.alias(email_lower=Lower("email"))
        .filter(agency=agency, kind=UserKind.PORTAL, is_active=True, email_lower=email.lower())
        .filter(client_record__isnull=True)
        .order_by("pk")
        .first()
    )
    login: User
    if existing is not None:
        login = party.user = existing
        party.save(update_fields=["user"])
        _notify(
            to=existing.email,
            template="access_added",
            user=existing,
            agency=agency,
            context={"access": _describe(party)},
        )
        record(
            Action.PORTAL_ACCOUNT_LINKED,
            request=request,
            actor=actor,
            obj=party,
            agency=agency,
            login=existing.username,
        )
    elif (
        current is not None
        # A client's own login is never moved to someone else's address.
        and not Client.objects.filter(user=current).exists()
        and _other_relationships(current, party) == 0
    ):
        # The login stands for this relationship alone: it moves to the new address.
        login = current
        current.email = email
        current.save(update_fields=["email"])
        _invite_or_notify_new_address(user=current, actor=actor, request=request)
    else:
        login = _link_new_login(party=party, email=email, actor=actor, request=request)
    if old and _changed(old, email):
        _tell_old_address(previous_email=old, user=login, party=party)


def _link_new_login(
    *, party: Person, email: str, actor: User | None, request: HttpRequest | None
) -> User:
    """Give the person a new login of their own and queue its invitation; return it."""
    user = _create_login(agency=party.agency, name=party.name, email=email, kind=UserKind.PORTAL)
    party.user = user
    party.save(update_fields=["user"])
    queue_invitation(user=user, actor=actor, request=request)
    return user


def _sync_organisation(
    *,
    party: Payer | Community,
    email: str,
    previous_email: str | None,
    actor: User | None,
    request: HttpRequest | None,
) -> None:
    if not email or not _changed(previous_email, email):
        return
    person_model = PayerPerson if isinstance(party, Payer) else CommunityPerson
    link = {"payer": party} if isinstance(party, Payer) else {"community": party}
    person = None
    if previous_email:
        person = person_model.objects.filter(
            agency=party.agency, email__iexact=previous_email, **link
        ).first()
    if person is not None:
        old = person.email
        person.email = email
        person.save(update_fields=["email"])
        sync_portal_account(party=person, previous_email=old, actor=actor, request=request)
        return
    if person_model.objects.filter(agency=party.agency, email__iexact=email, **link).exists():
        return  # already one of its people (added with it, in the same form)
    person = person_model.objects.create(
        agency=party.agency, name=party.contact_person or party.name, email=email, **link
    )
    sync_portal_account(party=person, previous_email=None, actor=actor, request=request)


# Many at once ------------------------------------------------------------------------


class SkipReason:
    """Why a party of a bulk invitation gets none."""

    NO_EMAIL = "no_email"
    INVITED = "invited"
    SIGNED_UP = "signed_up"
    INACTIVE = "inactive"

    labels = {
        NO_EMAIL: _("no email"),
        INVITED: _("already invited"),
        SIGNED_UP: _("already signed up"),
        INACTIVE: _("login deactivated"),
    }


@dataclass
class InvitationSummary:
    """What a bulk invitation did (or, previewed, would do), party by party.

    `invited`: the records that get an invitation (a payer's or community's people, not the
    organisation); `linked`: people whose email already has a login in the agency, linked to
    it and told by email; `skipped`: the records that get nothing, by SkipReason.
    """

    invited: list[Invitee] = field(default_factory=list)
    linked: list[Person] = field(default_factory=list)
    skipped: dict[str, list[Party]] = field(default_factory=lambda: defaultdict(list))

    def skipped_counts(self) -> list[tuple[str, int]]:
        """Return (reason shown to staff, how many), for the reasons that occurred."""
        return [
            (str(SkipReason.labels[reason]), len(self.skipped[reason]))
            for reason in SkipReason.labels
            if self.skipped.get(reason)
        ]


@dataclass
class _Plan:
    summary: InvitationSummary
    # Parties needing a new login; people sharing an email share the login of the first.
    new_logins: list[Invitee] = field(default_factory=list)
    sharing: dict[int, list[Invitee]] = field(default_factory=dict)
    new_people: list[PayerPerson | CommunityPerson] = field(default_factory=list)
    reinvite: list[User] = field(default_factory=list)  # logins never set up, nothing open
    link_existing: list[tuple[Person, User]] = field(default_factory=list)  # (party, login)


PERSON_MODELS = (EmergencyContact, PayerPerson, CommunityPerson)


def preview_invitations(*, agency: Agency, parties: Iterable[Party]) -> InvitationSummary:
    """Return what `invite_parties` would do with these parties, writing nothing."""
    return _plan_invitations(agency=agency, parties=parties).summary


@transaction.atomic
def invite_parties(
    *,
    agency: Agency,
    parties: Iterable[Party],
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> InvitationSummary:
    """Give portal logins and queue invitations for many parties at once, in one transaction.

    Parties are clients, emergency contacts, payers, communities and their people, all of
    `agency` (others are refused with ValueError before anything is written). A payer or
    community is invited through its people; one without people but with an email gets
    its first person from it, as saving it does. A party with a login never set up and no
    invitation open is invited again; one already invited, already signed up, with a
    deactivated login or without an email is skipped. A person whose email already has
    a portal login of the agency (not a client's) is linked to it and told by email, as
    `sync_portal_account` does. The queries do not grow with the number of parties (but
    for the rare linked person's notice), and one audit event records the batch.
    """
    plan = _plan_invitations(agency=agency, parties=parties, lock=True)
    summary = plan.summary
    now = timezone.now()
    if plan.new_people:
        PayerPerson.objects.bulk_create([p for p in plan.new_people if isinstance(p, PayerPerson)])
        CommunityPerson.objects.bulk_create(
            [p for p in plan.new_people if isinstance(p, CommunityPerson)]
        )
    users = _bulk_create_logins(agency=agency, parties=plan.new_logins)
    changed: dict[type[Invitee], list[Invitee]] = defaultdict(list)
    for party, user in zip(plan.new_logins, users, strict=True):
        for record_ in [party, *plan.sharing.get(id(party), [])]:
            record_.user = user
            changed[type(record_)].append(record_)
    for party, user in plan.link_existing:
        party.user = user
        changed[type(party)].append(party)
    for model, rows in changed.items():
        _set_logins(model, rows)
    reinvited = list(plan.reinvite)
    if reinvited:
        Invitation.objects.filter(user__in=reinvited).open().update(
            state=InvitationState.SUPERSEDED, otp_hash="", next_attempt_at=None
        )
    creator = (
        actor
        if actor is not None and actor.is_authenticated and actor.agency_id == agency.pk
        else None
    )
    Invitation.objects.bulk_create(
        [
            Invitation(
                agency=agency,
                user=user,
                email=user.email,
                state=InvitationState.QUEUED,
                next_attempt_at=now,
                created_by=creator,
                created_at=now,
            )
            for user in [*users, *reinvited]
        ],
        batch_size=1000,
    )
    wake_worker()
    for party, user in plan.link_existing:
        _notify(
            to=user.email,
            template="access_added",
            user=user,
            agency=agency,
            context={"access": _describe(party)},
        )
    record(
        Action.INVITATION_BULK_QUEUED,
        request=request,
        actor=actor,
        agency=agency,
        invited=len(summary.invited),
        logins_created=len(users),
        linked=len(summary.linked),
        skipped={reason: len(rows) for reason, rows in summary.skipped.items() if rows},
    )
    return summary


def _rows(model: type[_Row], pks: set[int], *, lock: bool) -> QuerySet[_Row]:
    """Return the model's rows of these ids in order, locked with `lock`."""
    rows = model._default_manager.filter(pk__in=pks).order_by("pk")
    if lock:
        rows = rows.select_for_update(of=("self",))
    return rows


def _plan_invitations(*, agency: Agency, parties: Iterable[Party], lock: bool = False) -> _Plan:
    """Sort the parties into what a bulk invitation does with each (see invite_parties).

    With `lock`, the parties are read again under a row lock, so that two staff inviting
    the same clients at once cannot both give them a login.
    """
    by_model: dict[type[Party], set[int]] = defaultdict(set)
    for party in parties:
        if party.agency_id != agency.pk:
            raise ValueError(f"{party} is not of the agency {agency}.")
        by_model[type(party)].add(party.pk)
    invitees: list[Invitee] = []
    plan = _Plan(summary=InvitationSummary())
    summary = plan.summary
    for model, pks in by_model.items():
        if issubclass(model, Payer | Community):
            person_model = PayerPerson if model is Payer else CommunityPerson
            organisations = _rows(model, pks, lock=lock).prefetch_related(
                Prefetch("people", queryset=person_model.objects.select_related("user"))
            )
            for organisation in organisations:
                people: list[PayerPerson | CommunityPerson] = [*organisation.people.all()]
                if people:
                    invitees.extend(people)
                elif (organisation.email or "").strip():
                    link = "payer" if model is Payer else "community"
                    person = person_model(
                        agency=agency,
                        name=organisation.contact_person or organisation.name,
                        email=organisation.email.strip(),
                        **{link: organisation},
                    )
                    plan.new_people.append(person)
                    invitees.append(person)
                else:
                    summary.skipped[SkipReason.NO_EMAIL].append(organisation)
        elif model is Client or model in PERSON_MODELS:
            invitees.extend(_rows(model, pks, lock=lock).select_related("user"))
        else:
            raise TypeError(f"No portal account for {model.__name__}")
    _sort_invitees(agency=agency, invitees=invitees, plan=plan)
    return plan


def _sort_invitees(*, agency: Agency, invitees: list[Invitee], plan: _Plan) -> None:
    summary = plan.summary
    seen: set[tuple[type[Invitee], int]] = set()
    with_login = [party for party in invitees if party.user_id is not None]
    users = {party.user_id: party.user for party in with_login if party.user_id}
    # People that a payer or community brings twice count once.
    unexpired = Q(state=InvitationState.SENT, expires_at__gt=timezone.now())
    live = set(
        Invitation.objects.filter(user_id__in=users)
        .filter(Q(state__in=PENDING_STATES) | unexpired)
        .values_list("user_id", flat=True)
    )
    emails = {
        (party.email or "").strip().lower()
        for party in invitees
        if party.user_id is None and isinstance(party, PERSON_MODELS)
    }
    emails.discard("")
    existing: dict[str, User] = {}
    if emails:
        for login in (
            get_user_model()
            ._default_manager.alias(email_lower=Lower("email"))
            .filter(
                agency=agency,
                kind=UserKind.PORTAL,
                is_active=True,
                email_lower__in=emails,
                client_record__isnull=True,
            )
            .order_by("-pk")
        ):
            existing[login.email.lower()] = login  # the oldest login wins, as one by one
    first_with_email: dict[str, Invitee] = {}
    reinvited: set[int] = set()
    for party in invitees:
        key = (type(party), party.pk if party.pk is not None else id(party))
        if key in seen:
            continue
        seen.add(key)
        email = (party.email or "").strip()
        user = users.get(party.user_id) if party.user_id else None
        if user is not None:
            if not user.is_active:
                summary.skipped[SkipReason.INACTIVE].append(party)
            elif not user.must_change_password and user.has_usable_password():
                summary.skipped[SkipReason.SIGNED_UP].append(party)
            elif user.pk in live or user.pk in reinvited:
                summary.skipped[SkipReason.INVITED].append(party)
            elif not user.email:
                summary.skipped[SkipReason.NO_EMAIL].append(party)
            else:
                reinvited.add(user.pk)
                plan.reinvite.append(user)
                summary.invited.append(party)
            continue
        if not email:
            summary.skipped[SkipReason.NO_EMAIL].append(party)
            continue
        party.email = email
        if isinstance(party, Client):
            plan.new_logins.append(party)
            summary.invited.append(party)
            continue
        lowered = email.lower()
        if lowered in existing:
            plan.link_existing.append((party, existing[lowered]))
            summary.linked.append(party)
        elif lowered in first_with_email:
            # Someone earlier in this batch has this email: one login, one invitation.
            plan.sharing.setdefault(id(first_with_email[lowered]), []).append(party)
            summary.linked.append(party)
        else:
            first_with_email[lowered] = party
            plan.new_logins.append(party)
            summary.invited.append(party)


def _set_logins(model: type[Invitee], rows: list[Invitee]) -> None:
    """Write each row's login in one UPDATE ... FROM (VALUES ...) per thousand rows.

    bulk_update's CASE WHEN grows with the square of the rows; a join on a list of
    (id, login) pairs does not (PostgreSQL, and SQLite since 3.33).
    """
    table = connection.ops.quote_name(model._meta.db_table)
    for offset in range(0, len(rows), 1000):
        chunk = rows[offset : offset + 1000]
        values = ", ".join(["(%s, %s)"] * len(chunk))
        params = [value for row in chunk for value in (row.pk, row.user_id)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET user_id = pairs.login "  # noqa: S608 - names from _meta
                f"FROM (SELECT column1 AS party, column2 AS login FROM (VALUES {values}) AS v) "
                f"AS pairs WHERE {table}.id = pairs.party",
                params,
            )


def _bulk_create_logins(*, agency: Agency, parties: list[Invitee]) -> list[User]:
    """Create one portal login per party, with readable unique usernames; return them.

    Usernames are chosen for the whole batch (see choose_usernames). Another process may
    take one of them between the choice and the insert: the batch then chooses again.
    """
    if not parties:
        return []
    user_model = get_user_model()
    names = [_party_name(party) for party in parties]
    bases = [_username_base(name, party.email) for name, party in zip(names, parties, strict=True)]
    for attempt in range(3):
        usernames = choose_usernames(bases)
        users = []
        for name, party, username in zip(names, parties, usernames, strict=True):
            first, _sep, last = name.strip().partition(" ")
            users.append(
                user_model(
                    agency=agency,
                    username=username,
                    email=party.email,
                    kind=UserKind.PORTAL,
                    first_name=first[:150],
                    last_name=last.strip()[:150],
                    must_change_password=True,
                    # What set_unusable_password() stores, without its slower random draw.
                    password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),
                )
            )
        try:
            with transaction.atomic():
                return user_model._default_manager.bulk_create(users, batch_size=1000)
        except IntegrityError:
            if attempt == 2:
                raise
    return []  # not reached


def choose_usernames(bases: list[str]) -> list[str]:
    """Return one free username per base, in order: the base, else base2, base3, ...

    Bases repeated in the list get distinct names. Candidates are looked up a window at a
    time with LOWER(username) IN (...), which the case-insensitive unique index serves:
    one query for most batches, a few more where many names are taken.
    """
    needed = Counter(bases)
    next_number = dict.fromkeys(needed, 1)
    chosen: dict[str, list[str]] = defaultdict(list)
    given: set[str] = set()
    window = 3
    chunk = 5000
    while needed:
        candidates: dict[str, str] = {}
        for base, count in needed.items():
            start = next_number[base]
            stop = start + count + window
            for number in range(start, stop):
                candidates.setdefault(base if number == 1 else f"{base}{number}", base)
            next_number[base] = stop
        names = list(candidates)
        taken: set[str] = set()
        for offset in range(0, len(names), chunk):
            taken.update(
                name.lower()
                for name in logins_named(names[offset : offset + chunk]).values_list(
                    "username", flat=True
                )
            )
        for name, base in candidates.items():
            # "ann.lee1" + "2" and "ann.lee" + "12" are one name: never give it twice.
            if needed.get(base) and name not in taken and name not in given:
                chosen[base].append(name)
                given.add(name)
                needed[base] -= 1
        needed = +needed  # drop the bases that have all their names
        window *= 4
    return [chosen[base].pop(0) for base in bases]


@transaction.atomic
def invite_staff(
    *,
    agency: Agency,
    name: str,
    email: str,
    role: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Create a back-office login with its role, and queue its invitation."""
    user = _create_login(
        agency=agency, name=name, email=email.strip(), kind=UserKind.STAFF, is_staff=True
    )
    StaffMembership.objects.create(agency=agency, user=user, role=role, name=name)
    queue_invitation(user=user, actor=actor, request=request)
    return user


@transaction.atomic
def resend_invitation(
    *, invitation: Invitation, actor: User | None = None, request: HttpRequest | None = None
) -> Invitation:
    """Queue a new invitation for the same login; the old one-time password dies at once."""
    # The new one goes to the login's address of today, which staff may have corrected.
    return queue_invitation(
        user=invitation.user, actor=actor, request=request, action=Action.INVITATION_RESENT
    )


def request_new_invitation(*, user: User | None, request: HttpRequest | None = None) -> bool:
    """Queue a fresh invitation asked for by the person, within the per-login rate limit.

    Return whether one was queued; the page answers the same either way. A one-time
    password that still works and was sent less than SELF_SERVICE_FRESH ago is kept.
    """
    if user is None or not user.is_active or not user.must_change_password or not user.email:
        return False
    with transaction.atomic():
        # Lock the login so two quick clicks cannot both pass the limit.
        user = limits.lock_login(user)
        live = current_invitation(user)
        if live is not None and live.sent_at and timezone.now() - live.sent_at < SELF_SERVICE_FRESH:
            return False
        if limits.reached(Invitation.objects.filter(user=user), SELF_SERVICE):
            return False
        queue_invitation(user=user, actor=user, request=request, action=Action.INVITATION_RESENT)
    return True


def login_named(typed: str) -> User | None:
    """Return the active login a `Username or email` names, or None.

    By username (in any case), else by an email that exactly one active login has.
    """
    typed = (typed or "").strip()
    if not typed:
        return None
    user = logins_named([typed]).first()
    if user is None and "@" in typed:
        users = get_user_model()._default_manager.alias(email_lower=Lower("email"))
        # LOWER(...) = ..., which the case-insensitive indexes serve (not __iexact's UPPER).
        matches = list(users.filter(email_lower=typed.lower(), is_active=True)[:2])
        user = matches[0] if len(matches) == 1 else None
    return user


def record_new_invitation_request(*, typed: str, request: HttpRequest | None) -> None:
    """Keep what was typed on `New invitation` for the worker, and nothing else.

    No lookup happens here: the same insert whatever the name, so the page answers in the
    same time for a known and an unknown one (issue 11, item 2).
    """
    NewInvitationRequest.objects.create(
        typed=(typed or "").strip()[:254], ip_address=client_ip(request)
    )
    wake_worker()


def _request_from(ip_address: str | None) -> HttpRequest:
    # The worker has no request of its own: it lends the audit events the address the
    # page saw (already read past the trusted proxies).
    request = HttpRequest()
    if ip_address:
        request.META["REMOTE_ADDR"] = ip_address
    return request


def process_new_invitation_requests(*, limit: int = REQUEST_BATCH) -> int:
    """Handle the waiting `New invitation` requests, oldest first; return invitations queued.

    The worker's pass calls it. Rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED, so
    several workers share them, and deleted in the transaction that handles them; each
    name goes through request_new_invitation and its per-login limit.
    """
    with transaction.atomic():
        rows = list(NewInvitationRequest.objects.select_for_update(skip_locked=True)[:limit])
        queued = 0
        for row in rows:
            user = login_named(row.typed)
            if user is not None and request_new_invitation(
                user=user, request=_request_from(row.ip_address)
            ):
                queued += 1
        NewInvitationRequest.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return queued


@transaction.atomic
def count_wrong_one_time_password(
    *, invitation: Invitation, request: HttpRequest | None = None
) -> bool:
    """Count a wrong one-time password typed on Change Password; return whether it ended.

    At WRONG_TRIES_LIMIT the invitation ends (issue 11, item 6): its one-time password is
    dropped, the page says to ask the agency for a new one, and `invitation.ended_by_wrong_
    tries` is recorded. The row is locked so that parallel guesses are all counted.
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.ended_by_wrong_tries or invitation.state != InvitationState.SENT:
        return invitation.ended_by_wrong_tries
    invitation.wrong_tries += 1
    fields = ["wrong_tries"]
    if invitation.ended_by_wrong_tries:
        invitation.state = InvitationState.EXPIRED
        invitation.otp_hash = ""
        invitation.next_attempt_at = None
        fields += ["state", "otp_hash", "next_attempt_at"]
    invitation.save(update_fields=fields)
    if invitation.ended_by_wrong_tries:
        record(
            Action.INVITATION_ENDED_BY_WRONG_TRIES,
            request=request,
            actor=None,
            obj=invitation,
            agency=invitation.agency,
            login=invitation.user.username,
            wrong_tries=invitation.wrong_tries,
        )
    return invitation.ended_by_wrong_tries


@transaction.atomic
def accept_invitation(
    *,
    invitation: Invitation,
    new_password: str,
    question: str,
    answer: str,
    request: HttpRequest | None = None,
) -> User:
    """Spend the one-time password: set the password and security answer, accept.

    The caller has checked the one-time password and validated the new password.
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_usable:
        # Spent or replaced by a request that got here first.
        raise InvitationNotUsable(invitation)
    user = invitation.user
    set_security_answer(user, question, answer)
    user.save(update_fields=["security_question", "security_answer_hash"])
    set_password(user=user, raw_password=new_password, request=request, reason="set")
    invitation.state = InvitationState.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.otp_hash = ""
    invitation.next_attempt_at = None
    invitation.save(update_fields=["state", "accepted_at", "otp_hash", "next_attempt_at"])
    record(
        Action.INVITATION_ACCEPTED, request=request, actor=user, obj=invitation, agency=user.agency
    )
    return user


def current_invitation(user: User) -> Invitation | None:
    """Return the login's newest invitation whose one-time password still works."""
    invitation = Invitation.objects.filter(user=user, state=InvitationState.SENT).first()
    return invitation if invitation is not None and invitation.is_usable else None


def authenticate_one_time_password(
    *, username_or_user: str | User, password: str
) -> Invitation | None:
    """Return the invitation whose one-time password this is, for the sign-in page, or None.

    The caller sends the person to `setup_url_for(invitation)`; signing in is only done by
    Change Password.
    """
    user = login_named(username_or_user) if isinstance(username_or_user, str) else username_or_user
    if user is None or not user.is_active or not password:
        return None
    invitation = current_invitation(user)
    if invitation is None or not invitation.check_one_time_password(password):
        return None
    return invitation


def setup_url_for(invitation: Invitation, *, absolute: bool = False) -> str:
    """Return the Change Password address of an invitation."""
    path = reverse("invitations:setup", args=[invitation.token])
    return settings.SITE_URL + path if absolute else path
