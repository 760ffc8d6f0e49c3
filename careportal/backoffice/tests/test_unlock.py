"""The owner unlocks a locked login from the back office's lists; nobody else can."""

from __future__ import annotations

from axes.models import AccessFailureLog
from django.urls import reverse

from careportal.accounts.lockout import is_locked
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.people.models import Client

CLIENTS = "backoffice:people_client_changelist"


def _lock(browser, username: str) -> None:
    for _ in range(3):
        browser.post("/accounts/login/", {"username": username, "password": "Wrong password 1!"})


def _unlock(browser, changelist: str, pk: int):
    return browser.post(reverse(changelist), {"action": "unlock_sign_in", "_selected_action": [pk]})


def test_it_lets_the_owner_unlock_a_locked_client_login(client, cast):
    margaret = cast.margaret
    _lock(client, margaret.user.username)
    assert is_locked(margaret.user)
    sign_in(client, cast.owner)

    listing = client.get(reverse(CLIENTS)).content.decode()
    assert "sign-in locked" in listing.lower() and 'alt="True"' in listing
    response = _unlock(client, CLIENTS, margaret.pk)

    assert response.status_code == 302
    assert not is_locked(margaret.user)
    assert not AccessFailureLog.objects.filter(username=margaret.user.username).exists()
    event = AuditEvent.objects.get(action="account.unlocked")
    assert (event.actor, event.object_id, event.agency) == (
        cast.owner,
        str(margaret.user.pk),
        cast.sunrise,
    )
    assert 'alt="True"' not in client.get(reverse(CLIENTS)).content.decode()


def test_it_unlocks_a_payers_people_from_the_payer_list(client, cast):
    _lock(client, cast.paula.username)
    sign_in(client, cast.owner)
    listing = reverse("backoffice:people_payer_changelist")
    assert 'alt="True"' in client.get(listing).content.decode()

    _unlock(client, "backoffice:people_payer_changelist", cast.atlas.pk)

    assert not is_locked(cast.paula)
    assert AuditEvent.objects.filter(action="account.unlocked", actor=cast.owner).count() == 1


def test_it_refuses_the_administrator(client, cast):
    _lock(client, cast.margaret.user.username)
    sign_in(client, cast.administrator)

    assert b'value="unlock_sign_in"' not in client.get(reverse(CLIENTS)).content
    _unlock(client, CLIENTS, cast.margaret.pk)

    assert is_locked(cast.margaret.user)
    assert not AuditEvent.objects.filter(action="account.unlocked").exists()


def test_it_hides_the_login_from_another_agencys_owner(client, cast):
    _lock(client, cast.margaret.user.username)
    sign_in(client, cast.harriet)

    listing = client.get(reverse(CLIENTS)).content.decode()
    assert "Margaret" not in listing and "Hank" in listing
    _unlock(client, CLIENTS, cast.margaret.pk)

    assert is_locked(cast.margaret.user)
    assert not AuditEvent.objects.filter(action="account.unlocked").exists()
    assert Client.objects.filter(pk=cast.margaret.pk).exists()


def test_it_shows_whether_a_staff_login_is_locked(client, cast):
    _lock(client, cast.billing.username)
    sign_in(client, cast.owner)
    staff = reverse("backoffice:agencies_staffmembership_changelist")
    assert 'alt="True"' in client.get(staff).content.decode()
    _unlock(
        client, "backoffice:agencies_staffmembership_changelist", cast.billing.staff_membership.pk
    )
    assert not is_locked(cast.billing)
