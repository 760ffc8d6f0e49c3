"""The password policy: the agency's preset, tightened never loosened (DESIGN.md section 5).

Two presets:
- "evv" (default): 12 to 128 characters, any characters including spaces, upper case,
  lower case, a digit and a symbol, not like the username, name or email, not a common
  password, not made of the agency's name, none of the last 10 (or more) passwords.
- "nist" (NIST SP 800-63B-4): at least 15 characters, a blocklist, no composition rules.

An agency may raise the minimum length and the history, and set an expiry; it can never go
below the preset. Django's validators do the length, similarity and blocklist checks; this
module adds what they lack (maximum length, composition, history) and words every failure
so that a person of 75 understands which rule was not met.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    MinimumLengthValidator,
    UserAttributeSimilarityValidator,
)
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency

# Long enough for any passphrase, short enough that hashing it costs nothing unusual.
# Argon2 never truncates, unlike bcrypt's 72 bytes.
MAX_LENGTH = 128
MIN_HISTORY = 10
SIMILARITY_ATTRIBUTES = ("username", "first_name", "last_name", "email")
# Django's UserAttributeSimilarityValidator's default threshold.
SIMILARITY = 0.7
# Words of agency names too common to block alone: "Care" in a password says nothing of
# which agency it is for. The agency's distinctive words ("Sunrise") and its whole name are.
GENERIC_AGENCY_WORDS = frozenset(
    {
        "home",
        "homes",
        "care",
        "health",
        "healthcare",
        "homecare",
        "agency",
        "services",
        "service",
        "senior",
        "seniors",
        "living",
        "the",
        "and",
        "inc",
        "llc",
    }
)


@dataclass(frozen=True)
class Policy:
    preset: str
    min_length: int
    max_length: int
    composition: bool
    history: int
    expiry_days: int | None


PRESET_MIN_LENGTH = {"evv": 12, "nist": 15}


def policy_for(agency: Agency | None = None) -> Policy:
    """Return the rules in force for an agency (the default preset without one)."""
    preset = getattr(agency, "password_preset", None) or "evv"
    if preset not in PRESET_MIN_LENGTH:
        preset = "evv"
    floor = PRESET_MIN_LENGTH[preset]
    # Tightening only: a lower agency value than the preset's is ignored.
    min_length = max(floor, getattr(agency, "password_min_length", None) or 0)
    history = max(MIN_HISTORY, getattr(agency, "password_history", None) or 0)
    expiry = getattr(agency, "password_expiry_days", None) or None
    return Policy(
        preset=preset,
        min_length=min(min_length, MAX_LENGTH),
        max_length=MAX_LENGTH,
        composition=preset == "evv",
        history=history,
        expiry_days=expiry,
    )


def rules_for(agency: Agency | None = None) -> list[tuple[str, str]]:
    """Return (key, text) for every rule, for the rules shown beside New Password."""
    policy = policy_for(agency)
    # Each rule finishes the heading "Your new password must:" as a sentence.
    rules = [
        (
            "min_length",
            ngettext(
                "Have at least %(n)d character.",
                "Have at least %(n)d characters.",
                policy.min_length,
            )
            % {"n": policy.min_length},
        ),
        ("max_length", _("Have no more than %(n)d characters.") % {"n": policy.max_length}),
    ]
    if policy.composition:
        rules += [
            ("upper", _("Have at least one capital letter (A to Z).")),
            ("lower", _("Have at least one small letter (a to z).")),
            ("digit", _("Have at least one number (0 to 9).")),
            ("symbol", _("Have at least one symbol, such as ! ? # or %.")),
        ]
    rules += [
        ("personal", _("Not look like your username, your name or your email address.")),
        ("agency", _("Not look like the name of your agency.")),
        ("common", _("Not be a common password that others often use.")),
        (
            "history",
            ngettext(
                "Not be your last password.",
                "Not be one of your last %(n)d passwords.",
                policy.history,
            )
            % {"n": policy.history},
        ),
    ]
    return rules


def _agency_of(user: User | None) -> Agency | None:
    return getattr(user, "agency", None) if user is not None else None


def _letters(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalpha())


def agency_words(agency: Agency) -> list[str]:
    """Return what a password of this agency's people may not contain, letters only.

    The whole name ("sunrisehomecare") and each of its distinctive words of four letters
    or more ("sunrise"): an attacker guesses an agency's passwords from its name first.
    """
    name = getattr(agency, "name", "") or ""
    words = [_letters(name)] if len(_letters(name)) >= 4 else []
    for word in re.split(r"\W+", name.casefold()):
        letters = _letters(word)
        if len(letters) >= 4 and letters not in GENERIC_AGENCY_WORDS and letters not in words:
            words.append(letters)
    return words


def is_like_agency_name(password: str, agency: Agency | None) -> bool:
    """Return whether the password contains the agency's name or one of its words.

    Digits and symbols are ignored ("Sunrise-Home-Care-2026!" is the name), and so is
    the case; leetspeak digits are read as letters ("5unr1se").
    """
    if agency is None:
        return False
    plain = _letters(password.casefold().translate(_LEET))
    if any(word in plain for word in agency_words(agency)):
        return True
    # Near-misses of the whole name ("Sunrize Homecare"), as Django's similarity check
    # measures them for the username.
    name = _letters(getattr(agency, "name", "") or "")
    return bool(name) and SequenceMatcher(a=plain, b=name).ratio() >= SIMILARITY


_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


def _is_symbol(char: str) -> bool:
    return not char.isalnum() and not char.isspace()


def password_errors(
    password: str, user: User | None = None, agency: Agency | None = None
) -> list[ValidationError]:
    """Return one plain-worded error per rule the password breaks."""
    policy = policy_for(agency if agency is not None else _agency_of(user))
    errors: list[ValidationError] = []

    def django_check(
        validator: MinimumLengthValidator
        | UserAttributeSimilarityValidator
        | CommonPasswordValidator,
        message: str,
        code: str,
    ) -> None:
        try:
            validator.validate(password, user)
        except ValidationError:
            errors.append(ValidationError(message, code=code))

    django_check(
        MinimumLengthValidator(policy.min_length),
        _("Your password is too short. It needs at least %(n)d characters.")
        % {"n": policy.min_length},
        "password_too_short",
    )
    if len(password) > policy.max_length:
        errors.append(
            ValidationError(
                _("Your password is too long. It may have at most %(n)d characters.")
                % {"n": policy.max_length},
                code="password_too_long",
            )
        )
    if policy.composition:
        for test, message, code in (
            (str.isupper, _("Your password needs at least one capital letter."), "no_upper"),
            (str.islower, _("Your password needs at least one small letter."), "no_lower"),
            (str.isdigit, _("Your password needs at least one number."), "no_digit"),
            (
                _is_symbol,
                _("Your password needs at least one symbol, such as ! or ?."),
                "no_symbol",
            ),
        ):
            if not any(test(c) for c in password):
                errors.append(ValidationError(message, code=code))
    if user is not None:
        django_check(
            UserAttributeSimilarityValidator(SIMILARITY_ATTRIBUTES),
            _("Your password is too much like your username, your name or your email."),
            "password_too_similar",
        )
    if is_like_agency_name(password, agency if agency is not None else _agency_of(user)):
        errors.append(
            ValidationError(
                _("Your password is too much like the name of your agency. Please choose another."),
                code="password_like_agency",
            )
        )
    django_check(
        CommonPasswordValidator(),
        _("This password is too common: many people use it. Please choose another."),
        "password_too_common",
    )
    # Django's blocklist is short on long entries; a piece repeated ("passwordpassword",
    # "aaaaaaaaaaaaaaa") is what NIST names next to it.
    if re.fullmatch(r"(.{1,8}?)\1+", password.casefold()):
        errors.append(
            ValidationError(
                _("This password is too easy to guess: it repeats the same letters or numbers."),
                code="password_repetitive",
            )
        )
    if user is not None and getattr(user, "pk", None) and _in_history(password, user, policy):
        errors.append(
            ValidationError(
                _("You have used this password before. Please choose a new one."),
                code="password_reused",
            )
        )
    return errors


def _in_history(password: str, user: User, policy: Policy) -> bool:
    from careportal.accounts.models import PasswordHistory

    hashes = PasswordHistory.objects.filter(user=user).values_list("password_hash", flat=True)[
        : policy.history
    ]
    # Check every one (no early exit) so the time taken does not hint at which matched.
    found = False
    for encoded in hashes:
        found = check_password(password, encoded) or found
    return found


def password_expired(user: User) -> bool:
    """Return True if the agency's expiry applies and the password is older than it."""
    policy = policy_for(_agency_of(user))
    changed = user.password_changed_at
    if not policy.expiry_days or changed is None:
        return False
    return timezone.now() - changed > datetime.timedelta(days=policy.expiry_days)


class AgencyPolicyValidator:
    """The one entry of AUTH_PASSWORD_VALIDATORS: the rules of the login's agency."""

    def validate(self, password: str, user: User | None = None) -> None:
        errors = password_errors(password, user)
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return " ".join(text for _key, text in rules_for(None))
