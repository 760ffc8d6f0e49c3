"""Per-login limits: messages to the owner, new invitations, reset emails, wrong answers.

One storage rule for all of them: a limit is counted from the rows the action itself
stores (a `Message`, an `Invitation`, a `PasswordResetRequest`), in the database, by their
`created_at`. Nothing else is kept, so the limit holds across every process and server.
Where two requests for one login could race past the limit (two tabs, two quick clicks,
two workers), the caller locks the login row with `lock_login` in the transaction that
counts and then stores, so the count and the new row go together.

The per-address limit at the sign-in doors (accounts.throttle) is another kind: its tries
store no row and it is counted per address, so it lives in the shared cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from careportal.accounts.models import User


@dataclass(frozen=True)
class Limit:
    """At most `most` within the last `within`."""

    most: int
    within: timedelta


def lock_login(user: User) -> User:
    """Lock the login's row until the transaction ends, and return it as stored now.

    Requests for one login then count and store one at a time. Call it inside
    `transaction.atomic()`.
    """
    return User._default_manager.select_for_update().get(pk=user.pk)


def _totals(rows: QuerySet[Any], limits: tuple[Limit, ...], summing: str | None) -> list[int]:
    # One query whatever the number of limits: a filtered count (or sum) per window.
    # COUNT(created_at), not COUNT(id): an index ending in created_at answers it alone.
    now = timezone.now()
    rows = rows.filter(created_at__gte=now - max(limit.within for limit in limits))
    aggregates = {}
    for index, limit in enumerate(limits):
        inside = Q(created_at__gte=now - limit.within)
        aggregates[f"within_{index}"] = (
            Coalesce(Sum(summing, filter=inside), 0)
            if summing
            else Count("created_at", filter=inside)
        )
    totals = rows.aggregate(**aggregates)
    return [totals[f"within_{index}"] for index in range(len(limits))]


def used(rows: QuerySet[Any], limit: Limit, *, summing: str | None = None) -> int:
    """Return how many of the rows were created within the limit's window.

    With `summing`, return the sum of that column over those rows instead (the wrong
    answers a reset request carries, say). A row created exactly `within` ago counts.
    """
    return _totals(rows, (limit,), summing)[0]


def reached(rows: QuerySet[Any], *limits: Limit, summing: str | None = None) -> Limit | None:
    """Return the first of `limits` the rows have reached, or None; in one query."""
    for limit, total in zip(limits, _totals(rows, limits, summing), strict=True):
        if total >= limit.most:
            return limit
    return None
