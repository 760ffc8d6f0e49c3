"""Writes of the integration API: its keys, the answers kept for retries, and the links.

A key is made and revoked only here, each in one transaction with its audit event. The key
itself is returned once by `create_api_key` and never stored: only its SHA-256 hash is, so a
copy of the database opens nothing. (A key is 32 random bytes: a plain hash cannot be
guessed back, and it does not change when SECRET_KEY is rotated.)
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careportal.api.models import IDEMPOTENCY_WINDOW, ApiKey, IdempotentRequest, Scope
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.people.models import ClientPayer, Residence

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency

KEY_START = "cpk_"
# How many characters of the key lists show (the fixed start and eight random ones).
PREFIX_LENGTH = len(KEY_START) + 8

Link = ClientPayer | Residence


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_api_key(
    *,
    agency: Agency,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime.datetime | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    key: str | None = None,
) -> tuple[ApiKey, str]:
    """Make a key for the agency; return the row and the key, which is shown only once.

    `key` is for the demo data alone (a known value, printed by seed_demo).
    """
    known = {choice.value for choice in Scope}
    chosen = sorted(set(scopes))
    unknown = [scope for scope in chosen if scope not in known]
    if unknown:
        raise ValueError(f"unknown scopes: {unknown}")
    key = key or KEY_START + secrets.token_urlsafe(32)
    api_key = ApiKey(
        agency=agency,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        hashed_key=hash_key(key),
        scopes=chosen,
        expires_at=expires_at,
        created_by=actor,
    )
    api_key.full_clean()
    api_key.save()
    record(
        Action.API_KEY_CREATED,
        request=request,
        actor=actor,
        obj=api_key,
        agency=agency,
        scopes=chosen,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return api_key, key


@transaction.atomic
def revoke_api_key(
    *, api_key: ApiKey, actor: User | None = None, request: HttpRequest | None = None
) -> bool:
    """Revoke the key from now on; return False if it was revoked already."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        return False
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    record(Action.API_KEY_REVOKED, request=request, actor=actor, obj=api_key, agency=api_key.agency)
    return True


def purge_idempotent_requests(now: datetime.datetime | None = None) -> int:
    """Delete the kept answers older than the retry window; return how many went."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_WINDOW
    deleted, _by_model = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def save_link(*, link: Link, agency: Agency) -> Link:
    """Create or change a client's payer or residence in the agency; return it, saved.

    Checked first (`full_clean`: dates in order, records of the same agency); a bad value
    raises ValidationError and nothing is written. Who sees what follows from the dates
    (people.access); the caller records the audit event.
    """
    link.agency = agency
    link.full_clean()
    link.save()
    return link
