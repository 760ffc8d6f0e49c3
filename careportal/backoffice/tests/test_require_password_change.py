"""The owner requires a login to choose a new password at its next sign-in (DESIGN.md:
the owner can require it); nobody else can."""

from __future__ import annotations

import pytest
from django.test import Client as BrowserClient
from django.urls import reverse

from careportal.accounts.models import SessionRecord
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.people.models import EmergencyContact, PayerPerson
from tests.cast import PASSWORD

ACTION = "require_password_change_at_sign_in"
STAFF = "backoffice:agencies_staffmembership_changelist"
CLIENTS = "backoffice:people_client_changelist"
CONTACTS = "backoffice:people_emergencycontact_changelist"
PAYERS = "backoffice:people_payer_changelist"
PAYER_PEOPLE = "backoffice:people_payerperson_changelist"
COMMUNITIES = "backoffice:people_community_changelist"
COMMUNITY_PEOPLE = "backoffice:people_communityperson_changelist"


def _require(browser, changelist: str, pk: int):
    return browser.post(reverse(changelist), {"action": ACTION, "_selected_action": [pk]})


def _signed_in_portal(user) -> BrowserClient:
    browser = BrowserClient()
    response = browser.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    return browser


def test_it_lets_the_owner_require_a_clients_new_password(client, cast):
    margaret = cast.margaret.user
    margarets_browser = _signed_in_portal(margaret)
    sign_in(client, cast.owner)

    response = _require(client, CLIENTS, cast.margaret.pk)

    assert response.status_code == 302
    margaret.refresh_from_db()
    assert margaret.must_change_password
    assert not SessionRecord.objects.filter(user=margaret).exists()
    assert margarets_browser.get("/")["Location"].startswith("/accounts/login/")
    event = AuditEvent.objects.get(action="password.change_required")
    assert (event.actor, event.object_id, event.agency) == (
        cast.owner,
        str(margaret.pk),
        cast.sunrise,
    )
    assert event.detail["login"] == margaret.username
    assert event.detail["sessions_ended"] == 1

    # At the next sign-in she lands on Change Password and can go nowhere else.
    browser = BrowserClient()
    response = browser.post(
        "/accounts/login/",
        {"username": margaret.username, "password": PASSWORD},
        follow=True,
    )
    change_password = reverse("accounts:password_change")
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == change_password
    assert browser.get("/invoices/")["Location"] == change_password


@pytest.mark.parametrize("changelist", [STAFF, CLIENTS, CONTACTS, PAYERS, PAYER_PEOPLE,
                                        COMMUNITIES, COMMUNITY_PEOPLE])  # fmt: skip
def test_it_offers_the_action_to_the_owner_on_the_staff_client_and_party_lists(
    client, cast, changelist
):
    sign_in(client, cast.owner)
    assert f'value="{ACTION}"'.encode() in client.get(reverse(changelist)).content


def test_it_requires_it_of_a_staff_member_and_of_a_payers_people(client, cast):
    sign_in(client, cast.owner)

    _require(client, STAFF, cast.billing.staff_membership.pk)
    _require(client, PAYERS, cast.atlas.pk)

    cast.billing.refresh_from_db()
    cast.paula.refresh_from_db()
    assert cast.billing.must_change_password and cast.paula.must_change_password
    assert PayerPerson.objects.filter(payer=cast.atlas, user=cast.paula).exists()
    assert AuditEvent.objects.filter(action="password.change_required").count() == 2


def test_it_leaves_the_owners_own_login_alone(client, cast):
    sign_in(client, cast.owner)

    _require(client, STAFF, cast.owner.staff_membership.pk)

    cast.owner.refresh_from_db()
    assert not cast.owner.must_change_password
    assert not AuditEvent.objects.filter(action="password.change_required").exists()
    assert client.get("/backoffice/").status_code == 200


@pytest.mark.parametrize("role", ["administrator", "scheduler", "billing"])
def test_it_refuses_everyone_but_the_owner(client, cast, role):
    tom = cast.tom
    toms_browser = _signed_in_portal(tom)
    sign_in(client, getattr(cast, role))
    contact = EmergencyContact.objects.get(user=tom)

    for changelist in (CLIENTS, CONTACTS, STAFF):
        page = client.get(reverse(changelist))
        assert f'value="{ACTION}"'.encode() not in page.content
    _require(client, CONTACTS, contact.pk)

    tom.refresh_from_db()
    assert not tom.must_change_password
    assert SessionRecord.objects.filter(user=tom).exists()
    assert toms_browser.get("/").status_code == 200
    assert not AuditEvent.objects.filter(action="password.change_required").exists()


def test_it_cannot_reach_another_agencys_login(client, cast):
    sign_in(client, cast.harriet)

    _require(client, CLIENTS, cast.margaret.pk)

    cast.margaret.user.refresh_from_db()
    assert not cast.margaret.user.must_change_password
    assert not AuditEvent.objects.filter(action="password.change_required").exists()
