"""django-axes hooks: lock by account, whatever the case of the name or email typed.

Axes (8.3) calls `lockout_key(request, credentials)` for the key of every attempt,
`client_ip(request)` for the address it records, `failure_limit(request, credentials)`
for how many failures lock, and `lockout_response(request, original_response, credentials)`
for the page a locked account gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessFailureLog
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import Exists
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from careportal.accounts.backends import find_login
from careportal.audit.actions import Action
from careportal.audit.events import client_ip as _client_ip
from careportal.audit.events import record

if TYPE_CHECKING:
    from careportal.accounts.models import User


def _typed(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username")
    return (typed or "").strip()


def lockout_key(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """Return the account's username for what was typed, or the typed text lower-cased.

    Unknown names are keyed (and locked) too, so a lock tells nobody whether a name exists.
    """
    typed = _typed(request, credentials)
    user = find_login(typed)
    return (user.username if user else typed).lower()


def key_for(user: User) -> str:
    return user.username.lower()


def client_ip(request: HttpRequest) -> str | None:
    return _client_ip(request)


def failure_limit(request: HttpRequest | None, credentials: dict[str, Any] | None) -> int:
    """Return the agency's number of tries (it may only be fewer than three)."""
    user = find_login(_typed(request, credentials))
    agency = getattr(user, "agency", None)
    limit = settings.ACCOUNT_FAILURE_LIMIT
    if agency is not None and agency.max_failed_sign_ins:
        limit = min(limit, agency.max_failed_sign_ins)
    return limit


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/locked.html", {"minutes": minutes}, status=403)


class CountingRequest(HttpRequest):
    """A request as the handler sees it while axes records a failure (`careportal_counting`)."""

    careportal_counting: bool


class SlidingWindowHandler(AxesDatabaseHandler):  # type: ignore[misc]  # axes has no types
    """Axes' database handler, counting each failure for 30 minutes from when it happened.

    Axes keeps one row per name, address and browser, with the time of its latest failure,
    so failures at 0, 20 and 40 minutes would lock. Here every failure is its own
    AccessFailureLog row (AXES_ENABLE_ACCESS_FAILURE_LOG), the failures of the last 30
    minutes are counted, and a lock lasts 30 minutes from the failure that started it
    (failures during a lock are not recorded, AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT).
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        key = get_client_username(request, credentials)
        now = getattr(request, "axes_attempt_time", None) or timezone.now()
        recent = AccessFailureLog.objects.filter(
            username=key, attempt_time__gt=now - get_cool_off(request)
        )
        if recent.filter(locked_out=True).exists():
            limit: int = get_failure_limit(request, credentials)
            return limit
        # While a failure is being recorded, its own log row is written after this count.
        counted: int = recent.count()
        return counted + (1 if getattr(request, "careportal_counting", False) else 0)

    def user_login_failed(
        self,
        sender: object,
        credentials: dict[str, Any],
        request: CountingRequest | None = None,
        **kwargs: Any,
    ) -> None:
        if request is not None:
            request.careportal_counting = True
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            if request is not None:
                request.careportal_counting = False

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        AccessFailureLog.objects.filter(username=get_client_username(request, credentials)).delete()
        reset: int = super().reset_user_attempts(request, credentials)
        return reset


def count_wrong_password(*, request: HttpRequest, user: User) -> bool:
    """Count a wrong Current Password on a settings form as a failed sign-in of the login.

    The forms that re-check the password (email, security question, two-step sign-in
    off, new recovery codes, password change) would otherwise let a borrowed session guess
    without limit. The failure goes through django-axes as sign-in's do, so the same
    count, limit and 30-minute lock apply. Return whether the login is locked now.
    """
    credentials = {"username": user.username}
    AxesProxyHandler.update_request(request)
    if not AxesProxyHandler.is_allowed(request, credentials):
        return True
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    record(Action.PASSWORD_RECHECK_FAILURE, request=request, actor=user, obj=user)
    if getattr(request, "axes_locked_out", False):
        record(Action.ACCOUNT_LOCKED, request=request, actor=user, obj=user)
        return True
    return False


def is_locked(user: User) -> bool:
    """Return whether the account is locked now (a lock started in the last 30 minutes)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    locked: bool = AccessFailureLog.objects.filter(
        username=key_for(user), attempt_time__gt=since, locked_out=True
    ).exists()
    return locked


def locked_now(username: Combinable) -> Exists:
    """Return an expression: is the login whose username is `username` locked now?

    `username` is an expression such as OuterRef("user__username"), for a list's column
    without one query per row; the same rule as is_locked.
    """
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return Exists(
        AccessFailureLog.objects.filter(
            username=Lower(username), attempt_time__gt=since, locked_out=True
        )
    )


def clear_failures(user: User) -> int:
    """Forget the account's failed sign-ins, under its username and its email."""
    keys = {key_for(user)}
    if user.email:
        keys.add(user.email.lower())
    count = 0
    for key in keys:
        count += AccessFailureLog.objects.filter(username=key).delete()[0]
        AxesProxyHandler.reset_attempts(username=key)
    return count


@transaction.atomic
def unlock_account(*, user: User, actor: User | None, request: HttpRequest | None) -> None:
    """Unlock sign-in and the password reset of a login, and audit who did it."""
    from careportal.accounts.models import PasswordResetRequest

    cleared = clear_failures(user)
    PasswordResetRequest.objects.filter(user=user, wrong_answers__gt=0).update(wrong_answers=0)
    record(
        Action.ACCOUNT_UNLOCKED,
        request=request,
        actor=actor,
        obj=user,
        agency=user.agency,
        failures_cleared=cleared,
    )
