import datetime
import re
from binascii import unhexlify

import time_machine
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.agencies.management.commands.seed_demo import DEMO_TOTP_KEY, ensure_demo_totp_device
from careportal.audit.models import AuditEvent
from tests.cast import PASSWORD

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _code(device):
    return f"{TOTP(unhexlify(device.key), device.step, device.t0, device.digits).token():06d}"


def _sign_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def test_it_enrols_staff_at_first_sign_in(client, cast):
    with time_machine.travel(START, tick=False):
        response = _sign_in(client, "olivia.owner")
        assert response["Location"] == "/accounts/two-factor/"
        response = client.get("/accounts/two-factor/", follow=True)
        body = response.content.decode()
        assert response.request["PATH_INFO"] == "/accounts/two-factor/set-up/"
        assert 'src="data:image/svg+xml;base64,' in body
        device = TOTPDevice.objects.get(user=cast.owner, confirmed=False)
        assert re.search(r"<code>[A-Z2-7 ]{20,}</code>", body)
        response = client.post("/accounts/two-factor/set-up/", {"code": _code(device)})
        assert response.status_code == 200
        assert "recovery codes" in response.content.decode()
        assert StaticToken.objects.filter(device__user=cast.owner).count() == 10
        assert client.get("/backoffice/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="two_factor.enrolled", actor=cast.owner).exists()


def test_it_refuses_a_code_used_before(client, cast):
    with time_machine.travel(START, tick=False):
        device = ensure_demo_totp_device(cast.owner, DEMO_TOTP_KEY)
        _sign_in(client, "olivia.owner")
        code = _code(device)
        response = client.post("/accounts/two-factor/", {"code": code})
        assert response["Location"] == "/backoffice/"
        other = client.__class__()
        _sign_in(other, "olivia.owner")
        response = other.post("/accounts/two-factor/", {"code": code})
        assert response.status_code == 200
        assert "That code did not work" in response.content.decode()
        assert other.get("/backoffice/")["Location"] == "/accounts/two-factor/"


def test_it_takes_a_recovery_code_once(client, cast):
    ensure_demo_totp_device(cast.owner, DEMO_TOTP_KEY)
    from careportal.accounts.twofactor import new_recovery_codes

    codes = new_recovery_codes(cast.owner)
    _sign_in(client, "olivia.owner")
    assert client.post("/accounts/two-factor/", {"code": codes[0]}).status_code == 302
    other = client.__class__()
    _sign_in(other, "olivia.owner")
    assert other.post("/accounts/two-factor/", {"code": codes[0]}).status_code == 200
    assert StaticToken.objects.filter(device__user=cast.owner).count() == 9


def test_it_lets_a_portal_user_turn_two_factor_on_and_off(client, cast):
    with time_machine.travel(START, tick=False):
        _sign_in(client, "tom.hale")
        page = client.get("/accounts/settings/").content.decode()
        assert "Turn on two-step sign-in" in page
        client.get("/accounts/two-factor/set-up/")
        device = TOTPDevice.objects.get(user=cast.tom)
        assert (
            client.post("/accounts/two-factor/set-up/", {"code": _code(device)}).status_code == 200
        )
        assert "Turn off two-step sign-in" in client.get("/accounts/settings/").content.decode()
        response = client.post("/accounts/two-factor/turn-off/", {"current_password": "wrong"})
        assert response.status_code == 400
        response = client.post("/accounts/two-factor/turn-off/", {"current_password": PASSWORD})
        assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.tom).exists()
    assert AuditEvent.objects.filter(action="two_factor.removed", actor=cast.tom).exists()


def test_it_requires_two_factor_for_portal_users_when_the_agency_does(client, cast):
    cast.sunrise.require_portal_two_factor = True
    cast.sunrise.save()
    response = _sign_in(client, "tom.hale")
    assert response["Location"] == "/accounts/two-factor/"
    response = client.get("/")
    assert response["Location"] == "/accounts/two-factor/"
    response = client.post("/accounts/two-factor/turn-off/", {"current_password": PASSWORD})
    assert response["Location"] == "/accounts/two-factor/"


def test_it_asks_portal_users_without_two_factor_for_nothing_more(client, cast):
    response = _sign_in(client, "tom.hale")
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_it_sends_back_office_sign_in_to_the_one_sign_in_page(client, cast):
    response = client.get("/backoffice/", follow=True)
    assert response.request["PATH_INFO"] == "/accounts/login/"
    assert "next=%2Fbackoffice%2F" in response.redirect_chain[-1][0]
    with time_machine.travel(START, tick=False):
        device = ensure_demo_totp_device(cast.owner, DEMO_TOTP_KEY)
        client.post(
            "/accounts/login/",
            {"username": "olivia.owner", "password": PASSWORD, "next": "/backoffice/"},
        )
        response = client.post("/accounts/two-factor/", {"code": _code(device)})
        assert response["Location"] == "/backoffice/"
        assert client.get("/backoffice/").status_code == 200


def test_it_refuses_the_back_office_to_staff_without_two_factor(client, cast, rf):
    from careportal.backoffice.site import backoffice_site

    request = rf.get("/backoffice/")
    request.user = cast.owner
    assert not backoffice_site.has_permission(request)
    request.user.is_verified = lambda: True
    assert backoffice_site.has_permission(request)


def test_it_asks_for_the_code_of_a_portal_user_who_turned_it_on(client, cast):
    with time_machine.travel(START, tick=False):
        device = TOTPDevice.objects.create(user=cast.tom, name="Phone", confirmed=True)
        response = _sign_in(client, "tom.hale")
        assert response["Location"] == "/accounts/two-factor/"
        assert client.get("/")["Location"] == "/accounts/two-factor/"
        response = client.post("/accounts/two-factor/", {"code": _code(device)})
        assert response["Location"] == "/"
        assert client.get("/").status_code == 200
