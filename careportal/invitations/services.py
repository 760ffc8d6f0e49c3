"""Portal accounts for parties, and their invitations (to be completed by the invitations work).

The back office, imports and any API call `sync_portal_account` after saving a client,
emergency contact, payer person or community person, inside the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def sync_portal_account(
    *,
    party: Any,
    previous_email: str | None,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> None:
    """Give the party a portal login and queue its invitation when its email is new or changed."""
    return None
