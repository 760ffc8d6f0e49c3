"""Writes on logins that have side effects (history, audit, sessions)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careportal.accounts.models import PasswordHistory
from careportal.audit.events import record


@transaction.atomic
def set_password(
    *, user: Any, raw_password: str, request: HttpRequest | None = None, reason: str = "change"
) -> None:
    """Set a new password, remember its hash in the history, and audit it.

    The caller has validated the password (validate_password) first.
    """
    user.set_password(raw_password)
    user.password_changed_at = timezone.now()
    user.must_change_password = False
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    PasswordHistory.objects.create(agency=user.agency, user=user, password_hash=user.password)
    record(f"password.{reason}", request=request, actor=user, obj=user, agency=user.agency)
