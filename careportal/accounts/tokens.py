"""Tokens of the emailed links: password reset (one hour, good once) and email change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.utils.http import base36_to_int

if TYPE_CHECKING:
    from careportal.accounts.models import User

RESET_LINK_SECONDS = 60 * 60
EMAIL_CHANGE_SECONDS = 24 * 60 * 60


class ResetTokenGenerator(PasswordResetTokenGenerator):
    """contrib.auth's HMAC token with a timestamp, for one hour.

    It is bound to the password hash, so it dies when the reset completes, and to the
    time of the last sign-in (as Django's own generator is), so a link issued before a
    sign-in dies with it: whoever signs in has shown they hold the password.
    """

    key_salt = "careportal.accounts.tokens.ResetTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        # Seconds, without microseconds: a database may round them (as Django does).
        last_login = (
            "" if user.last_login is None else user.last_login.replace(microsecond=0, tzinfo=None)
        )
        return (
            f"{user.pk}{user.password}{user.security_answer_hash}{user.email}"
            f"{last_login}{timestamp}"
        )

    def check_token(self, user: User | None, token: str | None) -> bool:
        if not token or not super().check_token(user, token):
            return False
        try:
            timestamp = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        return self._num_seconds(self._now()) - timestamp <= RESET_LINK_SECONDS


reset_tokens = ResetTokenGenerator()

_EMAIL_SALT = "careportal.accounts.email-change"


def email_change_token(user: User, new_email: str) -> str:
    # Bound to the current address, so a link dies once any change is made.
    return signing.dumps({"u": user.pk, "e": new_email, "o": user.email}, salt=_EMAIL_SALT)


def read_email_change_token(user: User, token: str) -> str | None:
    """Return the new address the token confirms for this login, or None."""
    try:
        data = signing.loads(token, salt=_EMAIL_SALT, max_age=EMAIL_CHANGE_SECONDS)
    except signing.BadSignature:
        return None
    if data.get("u") != user.pk or data.get("o") != user.email:
        return None
    new_email: str | None = data.get("e")
    return new_email
