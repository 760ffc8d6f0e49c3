"""Emails' fixtures: mail delivered to Django's in-memory outbox."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _locmem_delivery(settings):
    settings.DELIVERY_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.POST_OFFICE = {
        **settings.POST_OFFICE,
        "BACKENDS": {"default": "django.core.mail.backends.locmem.EmailBackend"},
    }
