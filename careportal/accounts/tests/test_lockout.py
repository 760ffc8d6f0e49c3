import datetime
from unittest import mock

import time_machine
from axes.models import AccessAttempt

from careportal.accounts.lockout import is_locked, unlock_account
from careportal.audit.models import AuditEvent
from tests.cast import PASSWORD

LOGIN = "/accounts/login/"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _try(client, username, password="Wrong password 1!"):
    return client.post(LOGIN, {"username": username, "password": password})


def test_it_locks_at_the_third_failure_and_unlocks_after_30_minutes(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        assert _try(client, "tom.hale").status_code == 400
        assert _try(client, "TOM.HALE").status_code == 400
        third = _try(client, "Tom.Hale@mail.example")
        assert third.status_code == 403
        assert "locked" in third.content.decode()
        assert is_locked(cast.tom)
        # The right password does not help while locked, however the name is typed.
        assert _try(client, "tom.hale", PASSWORD).status_code == 403
        clock.shift(datetime.timedelta(minutes=29))
        assert _try(client, "TOM.hale", PASSWORD).status_code == 403
        assert "_auth_user_id" not in client.session
        clock.shift(datetime.timedelta(minutes=2))
        response = _try(client, "tom.hale", PASSWORD)
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(cast.tom.pk)
    assert (
        AuditEvent.objects.filter(action="account.locked", object_id=str(cast.tom.pk)).count() == 1
    )


def test_it_forgets_failures_older_than_30_minutes(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _try(client, "tom.hale")
        _try(client, "tom.hale")
        clock.shift(datetime.timedelta(minutes=31))
        assert _try(client, "tom.hale").status_code == 400
        assert _try(client, "tom.hale").status_code == 400
        assert not is_locked(cast.tom)
        assert _try(client, "tom.hale").status_code == 403


def test_it_locks_unknown_names_alike(client, cast):
    for _ in range(2):
        assert _try(client, "nobody.here").status_code == 400
    assert _try(client, "NOBODY.here").status_code == 403


def test_it_lets_the_owner_unlock(client, cast, rf):
    for _ in range(3):
        _try(client, "tom.hale")
    assert is_locked(cast.tom)
    request = rf.post("/backoffice/")
    request.user = cast.owner
    unlock_account(user=cast.tom, actor=cast.owner, request=request)
    assert not is_locked(cast.tom)
    response = _try(client, "tom.hale", PASSWORD)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="account.unlocked")
    assert event.actor == cast.owner and event.object_id == str(cast.tom.pk)


def test_it_uses_the_agencys_fewer_tries(client, cast):
    cast.sunrise.max_failed_sign_ins = 2
    cast.sunrise.save()
    assert _try(client, "tom.hale").status_code == 400
    assert _try(client, "tom.hale").status_code == 403


def test_it_reads_the_client_address_past_the_proxy(client, cast, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(
        LOGIN,
        {"username": "tom.hale", "password": "nope"},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
        REMOTE_ADDR="10.0.0.2",
    )
    attempt = AccessAttempt.objects.get()
    assert attempt.ip_address == "203.0.113.9"
    assert attempt.username == "tom.hale"
    assert AuditEvent.objects.get(action="signin.failure").ip_address == "203.0.113.9"


def test_it_offers_the_owner_an_unlock_action(client, cast, rf):
    from careportal.accounts.admin import unlock_sign_in
    from careportal.agencies.models import StaffMembership
    from careportal.backoffice.roles import is_owner

    for _ in range(3):
        client.post(LOGIN, {"username": "olivia.owner", "password": "bad"})
    assert is_locked(cast.owner)
    request = rf.post("/backoffice/")
    request.user = cast.owner
    assert is_owner(request.user)
    modeladmin = mock.Mock()
    unlock_sign_in(modeladmin, request, StaffMembership.objects.filter(user=cast.owner))
    assert not is_locked(cast.owner)
    modeladmin.message_user.assert_called_once()
    assert AuditEvent.objects.filter(action="account.unlocked", actor=cast.owner).exists()
    request.user = cast.scheduler
    assert not is_owner(request.user)


def test_it_counts_each_failure_for_30_minutes_from_its_own_time(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _try(client, "tom.hale")
        clock.shift(datetime.timedelta(minutes=20))
        _try(client, "tom.hale")
        clock.shift(datetime.timedelta(minutes=20))
        # The first failure is 40 minutes old: forgotten, so this is the second of two.
        assert _try(client, "tom.hale").status_code == 400
        assert not is_locked(cast.tom)
        clock.shift(datetime.timedelta(minutes=5))
        assert _try(client, "tom.hale").status_code == 403
        assert is_locked(cast.tom)
        # The lock runs 30 minutes from the failure that started it, whatever is tried.
        clock.shift(datetime.timedelta(minutes=29))
        assert _try(client, "tom.hale", PASSWORD).status_code == 403
        clock.shift(datetime.timedelta(minutes=1, seconds=1))
        assert _try(client, "tom.hale", PASSWORD).status_code == 302
