"""Who calls the API: `Authorization: Bearer <key>`, its scopes and its rate limit.

One query per call finds the key (with its agency); the time it was last used is written
at most once a minute, and the per-minute count lives in the shared cache.
"""

from __future__ import annotations

import datetime
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthorizationError
from ninja.security.http import HttpBearer

from careportal.api.models import ApiKey
from careportal.api.problems import RateLimited
from careportal.api.services import KEY_START, hash_key

LAST_USED_EVERY = datetime.timedelta(minutes=1)
# Longer than any key we make: a longer header is refused without a query.
MAX_KEY_LENGTH = 200


class KeyAuth(HttpBearer):
    """A valid key with the scope the operation needs (`area`, `access`)."""

    def __init__(self, area: str, access: str) -> None:
        super().__init__()
        self.area = area
        self.access = access

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        # Ninja's own reader logs an unexpected header's value in DEBUG: never a key.
        scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = find_key(token)
        if api_key is None:
            return None
        check_rate(api_key)
        note_use(api_key)
        if not api_key.allows(self.area, self.access):
            raise AuthorizationError(
                message=_("This key may not %(access)s %(area)s records.")
                % {"access": self.access, "area": self.area}
            )
        return api_key


def find_key(token: str) -> ApiKey | None:
    """Return the usable key the token is, or None (unknown, revoked or expired)."""
    if not token.startswith(KEY_START) or len(token) > MAX_KEY_LENGTH:
        return None
    api_key: ApiKey | None = (
        ApiKey.objects.select_related("agency").filter(hashed_key=hash_key(token)).first()
    )
    if api_key is None or not api_key.is_usable:
        return None
    return api_key


def check_rate(api_key: ApiKey) -> None:
    """Count the call in this minute's window; raise RateLimited past the key's limit."""
    limit: int = settings.API_RATE_LIMIT_PER_MINUTE
    now = time.time()
    window = int(now // 60)
    name = f"api-rate:{api_key.pk}:{window}"
    if cache.add(name, 1, timeout=61):
        count = 1
    else:
        try:
            count = cache.incr(name)
        except ValueError:  # the window ended between the two calls
            cache.add(name, 1, timeout=61)
            count = 1
    if count > limit:
        raise RateLimited(retry_after=max(1, 60 * (window + 1) - int(now)))


def note_use(api_key: ApiKey) -> None:
    """Store when the key was last used, at most once a minute."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_EVERY:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def key_of(request: HttpRequest) -> ApiKey:
    """Return the key the request was authenticated with."""
    api_key: object = getattr(request, "auth", None)
    assert isinstance(api_key, ApiKey)
    return api_key
