"""Two-factor sign-in: TOTP (django-otp) with recovery codes (otp_static).

Required for agency staff (and platform operators); optional for portal users unless
their agency requires it.

Recovery codes hold 120 random bits (24 base32 letters, shown in groups of four) and are
shown once: otp_static's token column keeps only a digest of each (RECOVERY_DIGEST_LENGTH
base32 letters of its SHA-256), so neither the database nor an operator can read one back.
A fast digest suffices where a password needs Argon2: the code is random, not chosen, and
120 bits cannot be searched. A used code is deleted, so each works once; django-otp
throttles both devices after a wrong try (a delay that doubles each time).
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.accounts.models import User, UserKind
from careportal.accounts.sessions import end_sessions
from careportal.audit.actions import Action
from careportal.audit.events import record

RECOVERY_CODE_COUNT = 10
# 15 random bytes: 120 bits, 24 base32 letters (ASVS 5.0 asks for 112 bits at least).
RECOVERY_CODE_BYTES = 15
# otp_static's token column holds 16 characters: 80 bits of the digest, past any search.
RECOVERY_DIGEST_LENGTH = 16
TOTP_DIGITS = 6
DEVICE_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def requires_two_factor(user: User | AnonymousUser) -> bool:
    if getattr(user, "kind", None) in (UserKind.STAFF, UserKind.OPERATOR):
        return True
    agency = getattr(user, "agency", None)
    return bool(agency is not None and agency.require_portal_two_factor)


def is_verified(user: User) -> bool:
    """Return whether the login passed two-step sign-in in this session.

    django-otp's middleware gives the request's user its `is_verified`.
    """
    check = getattr(user, "is_verified", None)
    return callable(check) and bool(check())


def has_two_factor(user: User) -> bool:
    return bool(TOTPDevice.objects.devices_for_user(user, confirmed=True).exists())


def pending_device(user: User) -> TOTPDevice:
    """Return the login's unconfirmed authenticator device, made on first call."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def qr_code_data_uri(device: TOTPDevice) -> str:
    """Return the device's otpauth URL as an SVG QR code in a data: URI (CSP allows it)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def key_text(device: TOTPDevice) -> str:
    """Return the key as base32 in groups of four, for typing into an app by hand."""
    key = base64.b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@transaction.atomic
def confirm_enrolment(
    *, user: User, device: TOTPDevice, token: str, request: HttpRequest | None
) -> list[str] | None:
    """Confirm the device with a code from the app; return the new recovery codes, or None."""
    if device.user_id != user.pk or not device.verify_token(token.replace(" ", "")):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = new_recovery_codes(user)
    record(Action.TWO_FACTOR_ENROLLED, request=request, actor=user, obj=user, agency=user.agency)
    return codes


def recovery_code_digest(code: str) -> str:
    """Return what is stored for a recovery code: the SHA-256 of its letters, shortened.

    Spaces, dashes and case are ignored, as people copy codes by hand.
    """
    letters = "".join(c for c in code.lower() if c.isalnum())
    digest = base64.b32encode(hashlib.sha256(letters.encode()).digest()).decode().lower()
    return digest[:RECOVERY_DIGEST_LENGTH]


def _new_recovery_code() -> str:
    letters = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
    return "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def new_recovery_codes(user: User) -> list[str]:
    """Replace the login's recovery codes; return the new ones, which are never kept."""
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=static, token=recovery_code_digest(code)) for code in codes
    )
    return codes


def verify_code(user: User, code: str) -> Device | None:
    """Return the device that accepts the code (an app's code or a recovery code), or None.

    Six digits are an app's code, anything else a recovery code: each goes to its own
    device only, so a mistyped recovery code does not throttle the app. A TOTP code is
    refused once used (django-otp keeps the last time step); a recovery code is deleted
    when used.
    """
    code = (code or "").replace(" ", "").strip().lower()
    if not code:
        return None
    if len(code) == TOTP_DIGITS and code.isdigit():
        devices = TOTPDevice.objects.devices_for_user(user, confirmed=True)
        token = code
    else:
        devices = StaticDevice.objects.devices_for_user(user, confirmed=True)
        token = recovery_code_digest(code)
    for device in devices:
        if device.verify_token(token):
            return device
    return None


@transaction.atomic
def remove_two_factor(*, user: User, actor: User | None, request: HttpRequest | None) -> None:
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    record(Action.TWO_FACTOR_REMOVED, request=request, actor=actor, obj=user, agency=user.agency)


def recovery_codes_left(user: User) -> int:
    """Return how many recovery codes the login has not used yet."""
    return int(StaticToken.objects.filter(device__user=user).count())


@transaction.atomic
def renew_recovery_codes(*, user: User, request: HttpRequest | None) -> list[str]:
    """Make a new set of recovery codes; the old ones stop working at once."""
    codes = new_recovery_codes(user)
    record(
        Action.TWO_FACTOR_RECOVERY_CODES_RENEWED,
        request=request,
        actor=user,
        obj=user,
        agency=user.agency,
    )
    return codes


@transaction.atomic
def reset_two_factor(*, user: User, actor: User | None, request: HttpRequest | None) -> None:
    """The owner's reset: remove the login's devices and end its sessions.

    At the next sign-in the login enrols again (staff must; the middleware sends them to
    the set-up page); a portal user who had turned it on signs in with the password alone.
    """
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    ended = end_sessions(user)
    record(
        Action.TWO_FACTOR_RESET,
        request=request,
        actor=actor,
        obj=user,
        agency=user.agency,
        login=user.username,
        sessions_ended=ended,
    )
