"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from tests.cast import Cast, build_cast


@pytest.fixture(autouse=True)
def _fast_hashing_and_mail(settings):
    # Argon2 is proven in accounts' own tests; elsewhere a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _default_language():
    # A request in Spanish leaves Spanish active in the thread (LocaleMiddleware activates,
    # nothing deactivates): every test starts in the default language.
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
