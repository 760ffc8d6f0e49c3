"""Writes on logins that have side effects (history, audit, sessions)."""

from __future__ import annotations

from typing import Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careportal.accounts.models import PasswordHistory, User
from careportal.accounts.sessions import end_sessions
from careportal.audit.actions import Action
from careportal.audit.events import record

# Why a password is set: a change, a reset, or a first one (an invitation, the demo).
PasswordReason = Literal["change", "reset", "set"]
PASSWORD_ACTIONS: dict[PasswordReason, Action] = {
    "change": Action.PASSWORD_CHANGE,
    "reset": Action.PASSWORD_RESET,
    "set": Action.PASSWORD_SET,
}


@transaction.atomic
def set_password(
    *,
    user: User,
    raw_password: str,
    request: HttpRequest | None = None,
    reason: PasswordReason = "change",
) -> None:
    """Set a new password, remember its hash in the history, and audit it.

    The caller has validated the password (validate_password) first.
    """
    user.set_password(raw_password)
    user.password_changed_at = timezone.now()
    user.must_change_password = False
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    PasswordHistory.objects.create(agency=user.agency, user=user, password_hash=user.password)
    record(PASSWORD_ACTIONS[reason], request=request, actor=user, obj=user, agency=user.agency)


@transaction.atomic
def require_password_change(
    *, user: User, actor: User | None, request: HttpRequest | None = None
) -> int:
    """The owner's demand: the login must choose a new password at its next sign-in.

    Sets must_change_password (PasswordChangeRequiredMiddleware then allows nothing but
    Change Password), ends every session of the login so that the demand applies now,
    and records `password.change_required`. Return how many sessions ended.
    """
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    ended = end_sessions(user)
    record(
        Action.PASSWORD_CHANGE_REQUIRED,
        request=request,
        actor=actor,
        obj=user,
        agency=user.agency,
        login=user.username,
        sessions_ended=ended,
    )
    return ended
