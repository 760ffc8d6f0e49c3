"""Sign-in by username, or by email where that email belongs to one login only."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.db.models.functions import Lower
from django.http import HttpRequest

from careportal.accounts.models import User


def find_login(typed: str) -> User | None:
    """Return the login for a username (any case) or an email that has one login only."""
    typed = (typed or "").strip()
    if not typed:
        return None
    # Compared in lower case, as the case-insensitive indexes on username and email are.
    users = get_user_model()._default_manager.alias(
        username_lower=Lower("username"), email_lower=Lower("email")
    )
    user = users.filter(username_lower=typed.lower()).first()
    if user is None and "@" in typed:
        matches = list(users.filter(email_lower=typed.lower(), is_active=True)[:2])
        user = matches[0] if len(matches) == 1 else None
    return user


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        user = find_login(username)
        if user is None:
            # Run the hasher anyway, so an unknown name costs what a wrong password costs.
            make_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: int | str) -> User | None:
        """Return the signed-in login in one query with what every page reads: its agency
        (the time zone, the frame) and, for staff, the membership and its agency (the back
        office's role and scoping)."""
        users = get_user_model()._default_manager.select_related(
            "agency", "staff_membership__agency"
        )
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
