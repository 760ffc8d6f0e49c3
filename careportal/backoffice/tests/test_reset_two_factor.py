"""The owner resets a login's two-step sign-in from the back office; nobody else can."""

from __future__ import annotations

from django.test import Client as BrowserClient
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.accounts.models import SessionRecord
from careportal.accounts.twofactor import new_recovery_codes
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from tests.cast import PASSWORD

STAFF = "backoffice:agencies_staffmembership_changelist"
CLIENTS = "backoffice:people_client_changelist"
CONTACTS = "backoffice:people_emergencycontact_changelist"


def _reset(browser, changelist: str, pk: int):
    return browser.post(
        reverse(changelist), {"action": "reset_two_factor_sign_in", "_selected_action": [pk]}
    )


def _enrolled_staff(cast):
    """Bill, signed in with two-step sign-in on another computer, with recovery codes."""
    browser = sign_in(BrowserClient(), cast.billing)
    new_recovery_codes(cast.billing)
    assert browser.get("/backoffice/").status_code == 200
    return browser


def test_it_lets_the_owner_reset_a_staff_members_two_factor(client, cast):
    bills_browser = _enrolled_staff(cast)
    sign_in(client, cast.owner)
    assert b'value="reset_two_factor_sign_in"' in client.get(reverse(STAFF)).content

    response = _reset(client, STAFF, cast.billing.staff_membership.pk)

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.billing).exists()
    assert not StaticDevice.objects.filter(user=cast.billing).exists()
    assert not SessionRecord.objects.filter(user=cast.billing).exists()
    assert bills_browser.get("/accounts/settings/")["Location"].startswith("/accounts/login/")
    event = AuditEvent.objects.get(action="two_factor.reset")
    assert (event.actor, event.object_id, event.agency) == (
        cast.owner,
        str(cast.billing.pk),
        cast.sunrise,
    )
    assert event.detail["login"] == "bill.billing"
    # The owner's own session and devices are untouched.
    assert client.get("/backoffice/").status_code == 200

    # At the next sign-in Bill must set up an authenticator app again.
    response = bills_browser.post(
        "/accounts/login/", {"username": "bill.billing", "password": PASSWORD}
    )
    assert response["Location"] == "/accounts/two-factor/"
    assert bills_browser.get("/backoffice/")["Location"] == "/accounts/two-factor/"
    response = bills_browser.get("/accounts/two-factor/")
    assert response["Location"] == "/accounts/two-factor/set-up/"
    assert bills_browser.get("/accounts/settings/")["Location"] == "/accounts/two-factor/"


def test_it_does_not_reset_the_owner_themselves(client, cast):
    sign_in(client, cast.owner)
    _reset(client, STAFF, cast.owner.staff_membership.pk)
    assert TOTPDevice.objects.filter(user=cast.owner).exists()
    assert not AuditEvent.objects.filter(action="two_factor.reset").exists()
    assert client.get("/backoffice/").status_code == 200


def test_it_resets_a_portal_login_from_the_party_lists(client, cast):
    TOTPDevice.objects.create(user=cast.tom, name="Phone", confirmed=True)
    new_recovery_codes(cast.tom)
    sign_in(client, cast.owner)
    from careportal.people.models import EmergencyContact

    contact = EmergencyContact.objects.get(user=cast.tom)
    _reset(client, CONTACTS, contact.pk)

    assert not TOTPDevice.objects.filter(user=cast.tom).exists()
    assert not StaticDevice.objects.filter(user=cast.tom).exists()
    assert AuditEvent.objects.filter(action="two_factor.reset", actor=cast.owner).count() == 1
    # Two-step sign-in was Tom's choice: he signs in with the password and may turn it on again.
    tom = BrowserClient()
    response = tom.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
    assert response["Location"] == "/"


def test_it_offers_the_reset_on_the_client_list(client, cast):
    sign_in(client, cast.owner)
    assert b'value="reset_two_factor_sign_in"' in client.get(reverse(CLIENTS)).content


def test_it_refuses_the_administrator(client, cast):
    _enrolled_staff(cast)
    sign_in(client, cast.administrator)

    assert b'value="reset_two_factor_sign_in"' not in client.get(reverse(STAFF)).content
    assert b'value="reset_two_factor_sign_in"' not in client.get(reverse(CLIENTS)).content
    _reset(client, STAFF, cast.billing.staff_membership.pk)

    assert TOTPDevice.objects.filter(user=cast.billing).exists()
    assert StaticDevice.objects.filter(user=cast.billing).exists()
    assert SessionRecord.objects.filter(user=cast.billing).exists()
    assert not AuditEvent.objects.filter(action="two_factor.reset").exists()


def test_it_hides_sunrise_staff_from_another_agencys_owner(client, cast):
    _enrolled_staff(cast)
    sign_in(client, cast.harriet)

    listing = client.get(reverse(STAFF)).content.decode()
    assert "bill.billing" not in listing
    _reset(client, STAFF, cast.billing.staff_membership.pk)

    assert TOTPDevice.objects.filter(user=cast.billing).exists()
    assert StaticDevice.objects.filter(user=cast.billing).exists()
    assert SessionRecord.objects.filter(user=cast.billing).exists()
    assert not AuditEvent.objects.filter(action="two_factor.reset").exists()
