"""Signing in: everything that follows a correct password, in one place and in order.

Both pages that sign a person in call `sign_in`: the sign-in page, after the password, and
an invitation's Change Password page, after the new one. Nothing of it hides in a signal
handler, so reading this function tells what a sign-in does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.contrib.auth import login
from django.http import HttpRequest

from careportal.accounts import sessions, twofactor
from careportal.accounts.languages import APPLY_AT_SIGN_IN, is_supported
from careportal.accounts.middleware import PASSWORD_EXPIRED
from careportal.accounts.passwords import password_expired
from careportal.audit.actions import Action
from careportal.audit.events import record

if TYPE_CHECKING:
    from careportal.accounts.models import User


def sign_in(request: HttpRequest, user: User, *, backend: str | None = None) -> bool:
    """Sign `user` in on this request; return True if two-step sign-in comes next.

    In order:
    1. a new session key (Django's `login`), so a session from before is left behind;
    2. the session's clocks (idle and 12-hour) start, and the session is noted in
       `SessionRecord`, so a password change or `Sign out everywhere` can end it;
    3. two-step sign-in is required for the session if the login needs it or has it on;
    4. the language saved in the account is applied (the cookie is set on the way out);
    5. the audit event;
    6. a password past the agency's expiry sends the person to Change Password
       (`PasswordChangeRequiredMiddleware` keeps them there, after two-step sign-in).
    """
    login(request, user, backend=backend)
    session = request.session
    now = int(time.time())
    session[sessions.LOGIN_AT] = now
    session[sessions.LAST_ACTIVITY] = now
    two_factor = twofactor.requires_two_factor(user) or twofactor.has_two_factor(user)
    session[sessions.TWO_FACTOR_AT_SIGN_IN] = two_factor
    sessions.note_session(request, user)
    if is_supported(getattr(user, "language", "")):
        session[APPLY_AT_SIGN_IN] = user.language
    record(Action.SIGNIN_SUCCESS, request=request, actor=user, obj=user)
    if password_expired(user):
        session[PASSWORD_EXPIRED] = True
        record(Action.PASSWORD_EXPIRED, request=request, actor=user, obj=user)
    return two_factor
