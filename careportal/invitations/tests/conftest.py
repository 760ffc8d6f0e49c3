"""Invitations' fixtures: mail delivered to Django's in-memory outbox."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from careportal.invitations.outbox import deliver_invitations


@pytest.fixture(autouse=True)
def _locmem_delivery(settings):
    settings.DELIVERY_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.POST_OFFICE = {
        **settings.POST_OFFICE,
        "BACKENDS": {"default": "django.core.mail.backends.locmem.EmailBackend"},
    }


@pytest.fixture
def sent_invitation():
    """Return a function: deliver due invitations, and read the last one's email."""
    return _sent_invitation


def _sent_invitation():
    """Return (setup path, username, one-time password) of the last invitation sent."""
    deliver_invitations()
    body = mail.outbox[-1].body
    link = re.search(r"^https?://\S+?(/accounts/setup/\S+/)$", body, re.M).group(1)
    username = re.search(r"^Username: (\S+)$", body, re.M).group(1)
    otp = re.search(r"^One-time password: (\S+)$", body, re.M).group(1)
    return link, username, otp
