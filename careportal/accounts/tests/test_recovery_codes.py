"""A login with two-step sign-in on makes a new set of recovery codes from My account."""

from __future__ import annotations

import datetime
import re
from binascii import unhexlify

import time_machine
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.accounts.twofactor import new_recovery_codes, recovery_code_digest, verify_code
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from tests.cast import PASSWORD

RENEW = "/accounts/two-factor/recovery-codes/"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _code(device):
    return f"{TOTP(unhexlify(device.key), device.step, device.t0, device.digits).token():06d}"


def test_it_shows_how_many_recovery_codes_are_left(client, cast):
    sign_in(client, cast.owner)
    codes = new_recovery_codes(cast.owner)
    assert verify_code(cast.owner, codes[0]) is not None
    page = client.get("/accounts/settings/").content.decode()
    assert "You have 9 unused recovery codes left." in page
    assert "Make new recovery codes" in page


def test_it_renews_the_codes_and_the_old_ones_die(client, cast):
    sign_in(client, cast.owner)
    old = new_recovery_codes(cast.owner)

    response = client.post(RENEW, {"renew-current_password": PASSWORD})

    assert response.status_code == 200
    body = response.content.decode()
    assert "Your new recovery codes" in body and "somewhere safe" in body
    new = re.findall(r"<code>([a-z2-7-]+)</code>", body)
    assert len(new) == 10 and not set(new) & set(old)
    assert StaticToken.objects.filter(device__user=cast.owner).count() == 10
    assert verify_code(cast.owner, new[0]) is not None
    # (A failed try throttles django-otp's devices for a moment: the old code goes last.)
    assert verify_code(cast.owner, old[1]) is None
    event = AuditEvent.objects.get(action="two_factor.recovery_codes_renewed")
    assert (event.actor, event.object_id, event.agency) == (
        cast.owner,
        str(cast.owner.pk),
        cast.sunrise,
    )
    assert (
        "You have 9 unused recovery codes left."
        in client.get("/accounts/settings/").content.decode()
    )


def test_it_needs_the_password(client, cast):
    sign_in(client, cast.owner)
    old = new_recovery_codes(cast.owner)

    response = client.post(RENEW, {"renew-current_password": "Wrong password 1!"})

    assert response.status_code == 400
    assert "That is not your current password." in response.content.decode()
    assert sorted(
        StaticToken.objects.filter(device__user=cast.owner).values_list("token", flat=True)
    ) == sorted(recovery_code_digest(code) for code in old)
    assert not AuditEvent.objects.filter(action="two_factor.recovery_codes_renewed").exists()


def test_it_renews_for_a_portal_user_who_turned_two_factor_on(client, cast):
    with time_machine.travel(START, tick=False):
        client.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
        client.get("/accounts/two-factor/set-up/")
        device = TOTPDevice.objects.get(user=cast.tom)
        page = client.post("/accounts/two-factor/set-up/", {"code": _code(device)})
        old = re.findall(r"<code>([a-z2-7-]+)</code>", page.content.decode())
        assert len(old) == 10

        assert client.post(RENEW, {"renew-current_password": PASSWORD}).status_code == 200
    assert verify_code(cast.tom, old[0]) is None


def test_it_has_nothing_to_renew_without_two_factor(client, cast):
    client.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
    assert "Make new recovery codes" not in client.get("/accounts/settings/").content.decode()
    response = client.post(RENEW, {"renew-current_password": PASSWORD})
    assert response["Location"] == "/accounts/settings/"
    assert not StaticToken.objects.filter(device__user=cast.tom).exists()


def test_it_makes_codes_of_120_bits_and_keeps_only_their_digest(cast):
    codes = new_recovery_codes(cast.owner)
    assert len(set(codes)) == 10
    for code in codes:
        letters = code.replace("-", "")
        # 24 base32 letters: 24 x 5 = 120 random bits (ASVS asks for 112 at least).
        assert re.fullmatch(r"[a-z2-7]{24}", letters)
    stored = set(
        StaticToken.objects.filter(device__user=cast.owner).values_list("token", flat=True)
    )
    assert stored == {recovery_code_digest(code) for code in codes}
    assert not stored & set(codes)
    assert not stored & {code.replace("-", "") for code in codes}


def test_it_takes_a_code_typed_by_hand_once(cast):
    codes = new_recovery_codes(cast.owner)
    typed = codes[3].replace("-", " ").upper()
    assert verify_code(cast.owner, typed) is not None
    assert StaticToken.objects.filter(device__user=cast.owner).count() == 9
    with time_machine.travel(datetime.timedelta(minutes=5)):
        assert verify_code(cast.owner, codes[3]) is None


def test_it_throttles_two_step_codes_after_a_wrong_try(cast):
    from careportal.agencies.management.commands.seed_demo import (
        DEMO_TOTP_KEY,
        ensure_demo_totp_device,
    )

    with time_machine.travel(START, tick=False) as clock:
        device = ensure_demo_totp_device(cast.owner, DEMO_TOTP_KEY)
        codes = new_recovery_codes(cast.owner)
        assert verify_code(cast.owner, "000000") is None
        # django-otp's throttle: right after a wrong try even the right code is refused...
        assert verify_code(cast.owner, _code(device)) is None
        clock.shift(datetime.timedelta(seconds=61))
        # ...and after the delay (which doubles with each failure) it works again.
        assert verify_code(cast.owner, _code(device)) is not None
        assert verify_code(cast.owner, "wrong-code-wrong-code-wron") is None
        assert verify_code(cast.owner, codes[0]) is None
        clock.shift(datetime.timedelta(seconds=2))
        assert verify_code(cast.owner, codes[0]) is not None
