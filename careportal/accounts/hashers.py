"""Argon2id with parameters measured for our checks.

Changing a password compares it with up to ten previous hashes, so one hash must cost
well under 100 ms on our 2-core machines: OWASP's minimum (19 MiB, 2 passes, 1 lane)
measured about 25 ms here.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class CarePortalArgon2Hasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
