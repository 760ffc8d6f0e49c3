"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest

from careportal.testing import Cast, build_cast


@pytest.fixture(autouse=True)
def _fast_hashing_and_mail(settings):
    # Argon2 is proven in accounts' own tests; elsewhere a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
