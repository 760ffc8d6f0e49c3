"""A login with two-step sign-in on makes a new set of recovery codes from My account."""

from __future__ import annotations

import datetime
from binascii import unhexlify

import time_machine
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.accounts.twofactor import new_recovery_codes, verify_code
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.testing import PASSWORD

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
    new = list(StaticToken.objects.filter(device__user=cast.owner).values_list("token", flat=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert all(code in body for code in new)
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
    ) == sorted(old)
    assert not AuditEvent.objects.filter(action="two_factor.recovery_codes_renewed").exists()


def test_it_renews_for_a_portal_user_who_turned_two_factor_on(client, cast):
    with time_machine.travel(START, tick=False):
        client.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
        client.get("/accounts/two-factor/set-up/")
        device = TOTPDevice.objects.get(user=cast.tom)
        client.post("/accounts/two-factor/set-up/", {"code": _code(device)})
        old = StaticToken.objects.filter(device__user=cast.tom).values_list("token", flat=True)
        old = list(old)
        assert len(old) == 10

        assert client.post(RENEW, {"renew-current_password": PASSWORD}).status_code == 200
    assert verify_code(cast.tom, old[0]) is None


def test_it_has_nothing_to_renew_without_two_factor(client, cast):
    client.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
    assert "Make new recovery codes" not in client.get("/accounts/settings/").content.decode()
    response = client.post(RENEW, {"renew-current_password": PASSWORD})
    assert response["Location"] == "/accounts/settings/"
    assert not StaticToken.objects.filter(device__user=cast.tom).exists()
