"""Changes a signed-in login makes in its account settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse

from careportal.accounts.emails import queue_account_email
from careportal.accounts.models import User
from careportal.accounts.security import set_security_answer
from careportal.accounts.services import set_password
from careportal.accounts.sessions import end_sessions, note_new_key
from careportal.accounts.tokens import email_change_token
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.people.models import Client, CommunityPerson, EmergencyContact, PayerPerson

# The party records a login stands for; each keeps a copy of the login's email.
PARTIES_WITH_LOGINS = (Client, EmergencyContact, PayerPerson, CommunityPerson)


@transaction.atomic
def change_password(*, user: User, raw_password: str, request: HttpRequest) -> None:
    """Set the new password, keep this session (with a new key), and end every other one."""
    set_password(user=user, raw_password=raw_password, request=request, reason="change")
    old_key = request.session.session_key
    update_session_auth_hash(request, user)
    note_new_key(request, user, old_key)
    end_sessions(user, keep=request.session.session_key)
    if user.email:
        queue_account_email(
            to=user.email, template="password_changed", user=user, context={"by_reset": False}
        )


@transaction.atomic
def change_security_question(
    *, user: User, question: str, answer: str, request: HttpRequest
) -> None:
    set_security_answer(user, question, answer)
    user.save(update_fields=["security_question", "security_answer_hash"])
    record(Action.SECURITY_QUESTION_CHANGE, request=request, actor=user, obj=user)


@transaction.atomic
def request_email_change(*, user: User, new_email: str, request: HttpRequest) -> None:
    """Send a confirmation link to the new address; nothing changes until it is followed."""
    token = email_change_token(user, new_email)
    url = settings.SITE_URL + reverse("accounts:email_confirm", args=[token])
    queue_account_email(to=new_email, template="email_confirm", user=user, context={"url": url})
    record(Action.EMAIL_CHANGE_REQUESTED, request=request, actor=user, obj=user)


@transaction.atomic
def confirm_email_change(*, user: User, new_email: str, request: HttpRequest) -> None:
    old_email = user.email
    user.email = new_email
    user.save(update_fields=["email"])
    record(Action.EMAIL_CHANGED, request=request, actor=user, obj=user)
    _copy_email_to_party_records(user=user, new_email=new_email, request=request)
    if old_email:
        queue_account_email(
            to=old_email, template="email_changed", user=user, context={"new_email": new_email}
        )


def _copy_email_to_party_records(*, user: User, new_email: str, request: HttpRequest) -> None:
    """Give every party record of the login its new email, so the records agree with it.

    A record left with the old address would look changed to the next back-office save,
    which would then make a new login and invite the old address (invitations.services).
    """
    if user.agency_id is None:
        return  # a platform operator's login stands for no party record
    for model in PARTIES_WITH_LOGINS:
        for party in model.objects.filter(agency_id=user.agency_id, user=user).order_by("pk"):
            if party.email == new_email:
                continue
            previous = party.email
            party.email = new_email
            party.save(update_fields=["email"])
            record(
                Action.PARTY_EMAIL_CHANGED,
                request=request,
                actor=user,
                obj=party,
                previous_email=previous,
                email=new_email,
            )


@transaction.atomic
def sign_out_everywhere(*, user: User, request: HttpRequest) -> int:
    record(Action.SESSION_SIGNED_OUT_EVERYWHERE, request=request, actor=user, obj=user)
    return end_sessions(user)
