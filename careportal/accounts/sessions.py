"""Sessions: which ones a login has, how long they last, and ending them.

Database sessions are not indexed by user, so every sign-in is noted in SessionRecord;
that is what lets a password change end every other session and `Sign out everywhere`
end all of them.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.http import HttpRequest

from careportal.accounts.models import SessionRecord, User, UserKind

LOGIN_AT = "careportal_login_at"
LAST_ACTIVITY = "careportal_last_activity"
# Set at sign-in when the login needs two-factor: required for it, or turned on by it.
TWO_FACTOR_AT_SIGN_IN = "careportal_two_factor"
ABSOLUTE_SECONDS = 12 * 60 * 60
# Activity is written to the session at most this often (see note_activity).
ACTIVITY_STEP_SECONDS = 30


def _store(session_key: str | None = None) -> SessionBase:
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(
        session_key=session_key
    )
    return store


def note_activity(session: SessionBase, now: float) -> None:
    """Note activity on the session, at most once in ACTIVITY_STEP_SECONDS.

    Writing the session back on every page costs three round trips and a commit; noting
    activity in steps means a session may end up to that many seconds before its idle
    limit (5 to 30 minutes), which nobody notices.
    """
    last = session.get(LAST_ACTIVITY)
    if last is None or now - last >= ACTIVITY_STEP_SECONDS:
        session[LAST_ACTIVITY] = int(now)


def idle_seconds(user: User | AnonymousUser) -> int:
    """Return how long this login may stay idle: the back office's or the agency's limit."""
    if getattr(user, "kind", None) in (UserKind.STAFF, UserKind.OPERATOR):
        return settings.BACKOFFICE_IDLE_MINUTES * 60
    agency = getattr(user, "agency", None)
    minutes = getattr(agency, "session_idle_minutes", None) or settings.PORTAL_IDLE_MINUTES_DEFAULT
    return max(5, min(30, minutes)) * 60


def seconds_left(request: HttpRequest, now: float | None = None) -> int:
    """Return the seconds before the session ends, by idleness or by its 12 hours."""
    now = time.time() if now is None else now
    session = request.session
    login_at = session.get(LOGIN_AT)
    last = session.get(LAST_ACTIVITY)
    if login_at is None or last is None:
        return 0
    by_idle = last + idle_seconds(request.user) - now
    by_age = login_at + ABSOLUTE_SECONDS - now
    return max(0, int(min(by_idle, by_age)))


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """End every session of the login except `keep`; return how many ended."""
    records = SessionRecord.objects.filter(user=user)
    if keep:
        records = records.exclude(session_key=keep)
    keys = list(records.values_list("session_key", flat=True))
    for key in keys:
        _store(key).delete(key)
    records.delete()
    return len(keys)


def note_session(request: HttpRequest, user: User) -> None:
    """Note the request's session as one of the login's (called by `signin.sign_in`)."""
    if request.session.session_key is None:
        request.session.save()
    _forget_ended(user)
    SessionRecord.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={"user": user, "agency": getattr(user, "agency", None)},
    )


def _forget_ended(user: User) -> None:
    # Sessions that expired without a sign-out leave records behind; drop them as we go.
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    SessionRecord.objects.filter(user=user).exclude(session_key__in=live).delete()


@receiver(user_logged_out, dispatch_uid="careportal_session_record_out")
def _forget_session(
    sender: type[User | None], request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        SessionRecord.objects.filter(session_key=key).delete()


def note_new_key(request: HttpRequest, user: User, old_key: str | None) -> None:
    """Follow a session whose key was cycled (after a password change)."""
    if old_key:
        SessionRecord.objects.filter(session_key=old_key).delete()
    note_session(request, user)
