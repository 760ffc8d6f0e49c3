"""Argon2id with parameters measured for our checks.

Changing a password compares it with up to ten previous hashes (and the history may be
raised to 24), so one hash must cost well under 100 ms on our 2-core machines. OWASP's
first recommended setting (19 MiB, 2 passes, 1 lane) measured 30 ms per check here: eleven
checks (the new password against ten old ones and the current one) take about a third of a
second. 32 MiB measured 116 ms and 64 MiB with 3 passes 350 ms: too slow for 24 checks.
Re-measure on new hardware with `measure_ms()` and raise the cost if it falls under 20 ms.
"""

from __future__ import annotations

import time

from django.contrib.auth.hashers import Argon2PasswordHasher


class CarePortalArgon2Hasher(Argon2PasswordHasher):
    # Django's Argon2PasswordHasher is already Argon2id; only the costs are ours.
    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1


def measure_ms(rounds: int = 10) -> float:
    """Return the milliseconds one password check costs with our parameters."""
    hasher = CarePortalArgon2Hasher()
    encoded = hasher.encode("A sample password 1!", hasher.salt())
    start = time.perf_counter()
    for _ in range(rounds):
        hasher.verify("A sample password 1!", encoded)
    return (time.perf_counter() - start) / rounds * 1000
