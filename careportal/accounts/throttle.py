"""The per-address limit in front of the per-account lockout.

Lockout is per account (accounts.lockout), and usernames are predictable (first.last), so
without this anyone could keep any login locked for ever. Each door (sign-in, Forgot
password, invitation set-up) counts what an address does there, and past ADDRESS_LIMIT
in ADDRESS_WINDOW the address is refused at that door until its count falls.

The limit is generous on purpose: an assisted-living facility's residents and staff share
one address behind its NAT, and a few dozen mistakes there must not shut everyone out.

Counts live in the shared cache (the database cache table), so they hold across every app
server and process. A window's count is approximated as a sliding one: the current fixed
window's count plus the previous window's, weighted by how much of it is still inside the
last ADDRESS_WINDOW. The cache's increment is not atomic across processes; a race may lose
a count or two, which a limit of a hundred does not notice. (Limits per login are
another kind, counted from the rows their action stores: accounts.limits.)
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from django.core.cache import cache
from django.http import HttpRequest

from careportal.audit.actions import Action
from careportal.audit.events import client_ip, record

SIGN_IN = "signin"
RESET = "reset"
SETUP = "setup"
ADDRESS_LIMIT = 100
ADDRESS_WINDOW = timedelta(minutes=15)


def _window() -> tuple[int, float]:
    """Return the current fixed window's number and how far into it we are (0 to 1)."""
    seconds = ADDRESS_WINDOW.total_seconds()
    now = time.time()
    return int(now // seconds), (now % seconds) / seconds


def _key(door: str, address: str, window: int) -> str:
    # Addresses are hashed: the cache table is not a place to keep who came from where.
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"careportal:throttle:{door}:{digest}:{window}"


def address_count(request: HttpRequest, door: str) -> float:
    """Return what the request's address did at this door in the last ADDRESS_WINDOW."""
    address = client_ip(request)
    if not address:
        return 0.0
    window, into = _window()
    counts = cache.get_many([_key(door, address, window), _key(door, address, window - 1)])
    current: float = counts.get(_key(door, address, window), 0)
    previous: float = counts.get(_key(door, address, window - 1), 0)
    return current + previous * (1 - into)


def address_is_throttled(request: HttpRequest, door: str) -> bool:
    """Return whether the request's address has reached the limit at this door."""
    return address_count(request, door) >= ADDRESS_LIMIT


def count_for_address(request: HttpRequest, door: str) -> None:
    """Count one more try of the request's address at this door.

    The try that reaches the limit is audited once, with the door and no login.
    """
    address = client_ip(request)
    if not address:
        return
    window, _into = _window()
    key = _key(door, address, window)
    # Two windows long, so the previous window's count is still there to be weighed.
    timeout = int(ADDRESS_WINDOW.total_seconds() * 2)
    if cache.add(key, 1, timeout):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:
            # It expired between add and incr: this try starts the window.
            cache.set(key, 1, timeout)
            count = 1
    if count == ADDRESS_LIMIT:
        record(Action.ADDRESS_THROTTLED, request=request, door=door)
