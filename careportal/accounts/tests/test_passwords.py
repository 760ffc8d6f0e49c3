import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from careportal.accounts.hashers import CarePortalArgon2Hasher, measure_ms
from careportal.accounts.passwords import password_errors, password_expired, policy_for, rules_for
from careportal.accounts.services import set_password

GOOD_EVV = "Autumn leaves 4 ever!"
GOOD_NIST = "autumn leaves fall on the quiet lane"


def _codes(password, user=None, agency=None):
    return {e.code for e in password_errors(password, user, agency)}


def _messages(password, user=None, agency=None):
    return [e.messages[0] for e in password_errors(password, user, agency)]


@pytest.mark.parametrize(
    ("password", "code", "words"),
    [
        ("Short 1!", "password_too_short", "too short. It needs at least 12 characters"),
        ("A" * 100 + "a" * 28 + "1!", "password_too_long", "at most 128 characters"),
        ("autumn leaves 4 ever!", "no_upper", "at least one capital letter"),
        ("AUTUMN LEAVES 4 EVER!", "no_lower", "at least one small letter"),
        ("Autumn leaves four ever!", "no_digit", "at least one number"),
        ("Autumn leaves 4 ever", "no_symbol", "at least one symbol"),
        ("password123", "password_too_common", "too common"),
    ],
)
def test_it_rejects_each_class_of_bad_password_with_its_reason(db, password, code, words):
    messages = _messages(password)
    assert code in _codes(password)
    assert any(words in m for m in messages), messages


def test_it_accepts_a_long_passphrase_with_spaces_and_never_truncates(cast):
    user = cast.margaret.user
    assert password_errors(GOOD_EVV, user) == []
    long = "Aa1! " + "x" * 120
    assert password_errors(long, user) == []
    user.set_password(long)
    assert not user.check_password(long[:-1])


def test_it_rejects_a_password_like_the_username_name_or_email(cast):
    user = cast.margaret.user
    assert "password_too_similar" in _codes("Margaret.Hale1!", user)
    assert "password_too_similar" in _codes("margaret.hale@mail.example", user)


def test_it_applies_the_nist_preset(cast):
    cast.sunrise.password_preset = "nist"
    user = cast.margaret.user
    user.agency = cast.sunrise

    assert password_errors(GOOD_NIST, user) == []  # no composition rules
    assert _codes("Autumn leaves!", user) == {"password_too_short"}  # 14 characters
    assert "password_too_common" in _codes("111111111111111", user)
    assert _codes("PasswordPassword", user) == {"password_repetitive"}
    assert "password_too_similar" in _codes("margaret.hale.margaret", user)
    texts = [text for _key, text in rules_for(cast.sunrise)]
    assert "Have at least 15 characters." in texts
    assert not any("capital" in t for t in texts)


def test_it_remembers_the_last_passwords(cast):
    user = cast.margaret.user
    passwords = [f"Autumn leaves {n} ever!" for n in range(12)]
    for password in passwords:
        set_password(user=user, raw_password=password)

    assert "password_reused" in _codes(passwords[-1], user)
    assert "password_reused" in _codes(passwords[2], user)  # tenth most recent
    assert "password_reused" not in _codes(passwords[1], user)  # eleventh: forgotten
    assert _messages(passwords[-1], user) == [
        "You have used this password before. Please choose a new one."
    ]


def test_it_lets_an_agency_tighten_but_never_loosen(cast):
    agency = cast.sunrise
    agency.password_min_length = 16
    agency.password_history = 12
    assert policy_for(agency).min_length == 16 and policy_for(agency).history == 12
    assert "password_too_short" in _codes(GOOD_EVV[:14] + "!", agency=agency)

    agency.password_min_length = 8
    agency.password_history = 3
    assert policy_for(agency).min_length == 12 and policy_for(agency).history == 10
    agency.password_preset = "nist"
    agency.password_min_length = 12
    assert policy_for(agency).min_length == 15


def test_it_expires_passwords_only_when_the_agency_says_so(cast):
    from datetime import timedelta

    from django.utils import timezone

    user = cast.margaret.user
    user.password_changed_at = timezone.now() - timedelta(days=400)
    assert not password_expired(user)
    user.agency.password_expiry_days = 60
    assert password_expired(user)
    user.password_changed_at = timezone.now() - timedelta(days=59)
    assert not password_expired(user)


def test_it_is_the_validator_django_runs(cast):
    with pytest.raises(ValidationError) as caught:
        validate_password("short", cast.margaret.user)
    assert "too short" in " ".join(caught.value.messages)
    validate_password(GOOD_EVV, cast.margaret.user)


def test_it_hashes_with_argon2id_first(settings):
    from careportal import settings as project_settings

    # Undo the suite's fast MD5 hasher: the project's own list.
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    assert project_settings.PASSWORD_HASHERS[0] == (
        "careportal.accounts.hashers.CarePortalArgon2Hasher"
    )
    encoded = make_password(GOOD_EVV)
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    # Ours must be the one that checks "argon2" hashes, or every sign-in would rehash.
    assert isinstance(identify_hasher(encoded), CarePortalArgon2Hasher)
    assert not identify_hasher(encoded).must_update(encoded)
    # Timing is measured in hashers.py's docstring, not asserted: a busy CI machine varies.
    assert measure_ms(rounds=1) > 0


@pytest.mark.parametrize(
    "password",
    ["Sunrise-Home-Care-2026!", "I love sunrise 2026!", "5unr1se Rocks 2026!", "SunriseHomeCare1!"],
)
def test_it_rejects_a_password_made_of_the_agency_name(cast, password):
    user = cast.margaret.user
    assert "password_like_agency" in _codes(password, user)
    assert "too much like the name of your agency" in " ".join(_messages(password, user))


def test_it_blocks_only_the_agency_words_that_name_it(cast):
    user = cast.margaret.user
    # "Home" and "Care" alone say nothing of which agency: they stay allowed.
    assert password_errors("Home is where care 4 us!", user) == []
    # Another agency's name is not this login's agency.
    assert "password_like_agency" not in _codes("Harbor lights 2026!", user)
    assert "password_like_agency" in _codes("Harbor lights 2026!", cast.hank.user)
    assert "Not look like the name of your agency." in [t for _k, t in rules_for(cast.sunrise)]


def test_it_words_every_rule_to_finish_the_heading_as_a_sentence(cast):
    # "Your new password must:" + "Have at least 12 characters." and so on.
    for _key, text in rules_for(cast.sunrise):
        assert text.split()[0] in ("Have", "Not"), text
        assert text.endswith(".")
