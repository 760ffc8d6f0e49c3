"""Portal accounts for parties, and their invitations.

The back office, imports and any API call `sync_portal_account` after saving a client,
emergency contact, payer, community, payer person or community person, inside the same
transaction. Rows written here (logins, invitations, notice emails) are only seen by the
worker once that transaction commits, so a rolled-back save sends nothing.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from careportal.accounts.models import UserKind
from careportal.accounts.security import set_security_answer
from careportal.accounts.services import set_password
from careportal.agencies.models import StaffMembership
from careportal.audit.events import record
from careportal.invitations.emails import queue_email
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import (
    Client,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
)

# Re-invitations a person can ask for themselves, per login, per window.
SELF_SERVICE_LIMIT = 3
SELF_SERVICE_WINDOW = datetime.timedelta(hours=1)
# A one-time password emailed less than this long ago is not replaced on request: anyone
# who knows the username could otherwise keep killing the one in the person's mailbox.
SELF_SERVICE_FRESH = datetime.timedelta(minutes=15)


class InvitationNotUsable(Exception):
    """The one-time password was spent, replaced or expired meanwhile."""


# Logins -------------------------------------------------------------------------------


def _username_base(name: str, email: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    parts = re.findall(r"[a-z0-9]+", ascii_name.lower())
    if not parts:
        parts = re.findall(r"[a-z0-9]+", email.split("@")[0].lower())
    return ".".join(parts)[:140] or "user"


def _create_login(*, agency: Any, name: str, email: str, kind: str, **extra: Any) -> Any:
    """Create a login with a readable username unique across the deployment."""
    users = get_user_model()._default_manager
    base = _username_base(name, email)
    first, _sep, last = name.strip().partition(" ")
    number = 1
    while True:
        username = base if number == 1 else f"{base}{number}"
        number += 1
        if users.filter(username__iexact=username).exists():
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


def _other_relationships(user: Any, party: Any) -> int:
    """Return how many party records other than `party` the login stands for."""
    count = 0
    for model in (EmergencyContact, PayerPerson, CommunityPerson):
        rows = model.objects.filter(agency_id=user.agency_id, user=user)
        if isinstance(party, model):
            rows = rows.exclude(pk=party.pk)
        count += rows.count()
    if not isinstance(party, Client) and Client.objects.filter(user=user).exists():
        count += 1
    return count


def _describe(party: Any) -> dict[str, str]:
    """Return what a relationship gives access to, for the notice email."""
    if isinstance(party, EmergencyContact):
        return {"kind": "contact", "name": party.client.full_name}
    if isinstance(party, PayerPerson):
        return {"kind": "payer", "name": party.payer.name}
    if isinstance(party, CommunityPerson):
        return {"kind": "community", "name": party.community.name}
    return {"kind": "client", "name": str(party)}


def _party_name(party: Any) -> str:
    if isinstance(party, Client):
        return party.full_name
    return party.name


# Invitations --------------------------------------------------------------------------


def queue_invitation(
    *, user: Any, actor: Any = None, request: HttpRequest | None = None, action: str = "queued"
) -> Invitation:
    """Supersede the login's open invitations and queue a new one for the worker."""
    now = timezone.now()
    Invitation.objects.filter(user=user).open().update(
        state=InvitationState.SUPERSEDED, otp_hash="", next_attempt_at=None
    )
    invitation = Invitation.objects.create(
        agency=user.agency,
        user=user,
        email=user.email,
        state=InvitationState.QUEUED,
        next_attempt_at=now,
        # A platform operator inviting an agency's first owner belongs to no agency: the
        # audit event names them, the row (which points within its agency only) does not.
        created_by=actor
        if getattr(actor, "is_authenticated", False) and actor.agency_id == user.agency_id
        else None,
        created_at=now,
    )
    record(
        f"invitation.{action}",
        request=request,
        actor=actor,
        obj=invitation,
        agency=user.agency,
        email=invitation.email,
        login=user.username,
    )
    return invitation


def _notify(*, to: str, template: str, user: Any, agency: Any, context: dict[str, Any]) -> None:
    queue_email(
        to=to,
        subject_template=f"emails/{template}_subject.txt",
        text_template=f"emails/{template}.txt",
        html_template=f"emails/{template}.html",
        context={
            "user": user,
            "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
            **context,
        },
        language=getattr(user, "language", "") or None,
        agency=agency,
        reply_to=agency.portal_message_email if agency else None,
    )


def _invite_or_notify_new_address(*, user: Any, actor: Any, request: HttpRequest | None) -> None:
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


def _tell_old_address(*, previous_email: str, user: Any, party: Any) -> None:
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
    party: Any,
    previous_email: str | None,
    actor: Any = None,
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


def _sync_client(*, party: Client, email: str, previous: str, actor: Any, request: Any) -> None:
    if party.user_id is None:
        user = _create_login(
            agency=party.agency, name=party.full_name, email=email, kind=UserKind.PORTAL
        )
        party.user = user
        party.save(update_fields=["user"])
        queue_invitation(user=user, actor=actor, request=request)
        return
    user = party.user
    if not _changed(user.email, email) and not _changed(previous, email):
        return
    old = previous or user.email
    user.email = email
    user.save(update_fields=["email"])
    _invite_or_notify_new_address(user=user, actor=actor, request=request)
    if old and _changed(old, email):
        _tell_old_address(previous_email=old, user=user, party=party)


def _sync_person(*, party: Any, email: str, previous: str, actor: Any, request: Any) -> None:
    agency = party.agency
    current = party.user
    if current is not None and not _changed(current.email, email):
        return
    old = previous or (current.email if current is not None else "")
    users = get_user_model()._default_manager
    existing = (
        users.filter(agency=agency, kind=UserKind.PORTAL, is_active=True, email__iexact=email)
        .filter(client_record__isnull=True)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        party.user = existing
        party.save(update_fields=["user"])
        _notify(
            to=existing.email,
            template="access_added",
            user=existing,
            agency=agency,
            context={"access": _describe(party)},
        )
        record(
            "portal_account.linked",
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
        current.email = email
        current.save(update_fields=["email"])
        _invite_or_notify_new_address(user=current, actor=actor, request=request)
    else:
        _link_new_login(party=party, email=email, actor=actor, request=request)
    if old and _changed(old, email):
        _tell_old_address(previous_email=old, user=party.user, party=party)


def _link_new_login(*, party: Any, email: str, actor: Any, request: Any) -> None:
    user = _create_login(agency=party.agency, name=party.name, email=email, kind=UserKind.PORTAL)
    party.user = user
    party.save(update_fields=["user"])
    queue_invitation(user=user, actor=actor, request=request)


def _sync_organisation(
    *, party: Payer | Community, email: str, previous_email: str | None, actor: Any, request: Any
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


@transaction.atomic
def invite_staff(
    *,
    agency: Any,
    name: str,
    email: str,
    role: str,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Any:
    """Create a back-office login with its role, and queue its invitation."""
    user = _create_login(
        agency=agency, name=name, email=email.strip(), kind=UserKind.STAFF, is_staff=True
    )
    StaffMembership.objects.create(agency=agency, user=user, role=role, name=name)
    queue_invitation(user=user, actor=actor, request=request)
    return user


@transaction.atomic
def resend_invitation(
    *, invitation: Invitation, actor: Any = None, request: HttpRequest | None = None
) -> Invitation:
    """Queue a new invitation for the same login; the old one-time password dies at once."""
    # The new one goes to the login's address of today, which staff may have corrected.
    return queue_invitation(user=invitation.user, actor=actor, request=request, action="resent")


def request_new_invitation(*, user: Any, request: HttpRequest | None = None) -> bool:
    """Queue a fresh invitation asked for by the person, within the per-login rate limit.

    Return whether one was queued; the page answers the same either way. A one-time
    password that still works and was sent less than SELF_SERVICE_FRESH ago is kept.
    """
    if user is None or not user.is_active or not user.must_change_password or not user.email:
        return False
    with transaction.atomic():
        # Lock the login so two quick clicks cannot both pass the limit.
        user = type(user)._default_manager.select_for_update().get(pk=user.pk)
        now = timezone.now()
        live = current_invitation(user)
        if live is not None and live.sent_at and now - live.sent_at < SELF_SERVICE_FRESH:
            return False
        since = now - SELF_SERVICE_WINDOW
        if (
            Invitation.objects.filter(user=user, created_at__gte=since).count()
            >= SELF_SERVICE_LIMIT
        ):
            return False
        queue_invitation(user=user, actor=user, request=request, action="resent")
    return True


@transaction.atomic
def accept_invitation(
    *,
    invitation: Invitation,
    new_password: str,
    question: str,
    answer: str,
    request: HttpRequest | None = None,
) -> Any:
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
    record("invitation.accepted", request=request, actor=user, obj=invitation, agency=user.agency)
    return user


def current_invitation(user: Any) -> Invitation | None:
    """Return the login's newest invitation whose one-time password still works."""
    invitation = Invitation.objects.filter(user=user, state=InvitationState.SENT).first()
    return invitation if invitation is not None and invitation.is_usable else None


def authenticate_one_time_password(*, username_or_user: Any, password: str) -> Invitation | None:
    """Return the invitation whose one-time password this is, for the sign-in page, or None.

    The caller sends the person to `setup_url_for(invitation)`; signing in is only done by
    Change Password.
    """
    user = username_or_user
    if isinstance(user, str):
        users = get_user_model()._default_manager
        typed = user.strip()
        user = users.filter(username__iexact=typed).first()
        if user is None and "@" in typed:
            matches = list(users.filter(email__iexact=typed, is_active=True)[:2])
            user = matches[0] if len(matches) == 1 else None
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


def issue_demo_invitation(*, client: Client) -> tuple[str, str]:
    """Issue the client's invitation afresh and send it now (development only).

    Every run of seed_demo calls this, so the onboarding can always be tried: a client who
    has set up her account is put back to the not-yet-signed-in state, and her earlier
    invitations are deleted (their one-time passwords die with them) so that re-running
    leaves one invitation, not one more each time. Return (link, one-time password).
    """
    from careportal.invitations.outbox import send_invitation

    if not settings.DEBUG:
        raise RuntimeError("Demo invitations are for development only.")
    with transaction.atomic():
        user = client.user
        if user is None:
            sync_portal_account(party=client, previous_email=None)
            client.refresh_from_db()
            user = client.user
        if not user.must_change_password or user.has_usable_password():
            _reset_demo_login(user)
        Invitation.objects.filter(user=user).delete()
        invitation = queue_invitation(user=user)
    otp = send_invitation(invitation)
    invitation.refresh_from_db()
    return setup_url_for(invitation, absolute=True), otp


def _reset_demo_login(user: Any) -> None:
    """Put a demo login back to the state before its first sign-in (development only)."""
    from django_otp import devices_for_user

    from careportal.accounts.lockout import clear_failures
    from careportal.accounts.sessions import end_sessions

    user.must_change_password = True
    user.set_unusable_password()
    user.password_changed_at = None
    user.security_question = ""
    user.security_answer_hash = ""
    user.is_active = True
    user.save()
    user.password_history.all().delete()
    user.password_resets.all().delete()
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    clear_failures(user)
    end_sessions(user)
    record("portal_account.demo_reset", obj=user, agency=user.agency, login=user.username)
