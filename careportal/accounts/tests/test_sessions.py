import datetime

import time_machine
from django.contrib.sessions.models import Session

from careportal.accounts.models import SessionRecord
from careportal.audit.models import AuditEvent
from tests.cast import PASSWORD

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
DASHBOARD = "/"
STATUS = "/accounts/session/"


def _sign_in(client, username="tom.hale"):
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_it_ends_a_portal_session_after_15_idle_minutes(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(datetime.timedelta(minutes=14))
        assert client.get(DASHBOARD).status_code == 200
        clock.shift(datetime.timedelta(minutes=14))
        assert client.get(DASHBOARD).status_code == 200
        clock.shift(datetime.timedelta(minutes=15, seconds=1))
        response = client.get(DASHBOARD)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        assert "_auth_user_id" not in client.session


def test_it_uses_the_agencys_idle_minutes(client, cast):
    cast.sunrise.session_idle_minutes = 5
    cast.sunrise.save()
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(datetime.timedelta(minutes=5, seconds=1))
        assert client.get(DASHBOARD).status_code == 302


def test_it_ends_a_session_after_12_hours_whatever_the_activity(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        for _ in range(12 * 6 - 1):
            clock.shift(datetime.timedelta(minutes=10))
            assert client.get(DASHBOARD).status_code == 200
        clock.shift(datetime.timedelta(minutes=10, seconds=1))
        assert client.get(DASHBOARD).status_code == 302


def test_it_tells_how_long_is_left_without_counting_as_activity(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(datetime.timedelta(minutes=10))
        data = client.get(STATUS).json()
        assert data == {"signed_in": True, "seconds_left": 5 * 60, "warning_seconds": 120}
        clock.shift(datetime.timedelta(minutes=4))
        assert client.get(STATUS).json()["seconds_left"] == 60
        clock.shift(datetime.timedelta(minutes=2))
        assert client.get(STATUS).json() == {
            "signed_in": False,
            "seconds_left": 0,
            "warning_seconds": 120,
        }


def test_it_counts_stay_signed_in_and_htmx_as_activity(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(datetime.timedelta(minutes=13))
        assert client.post("/accounts/session/stay/").json()["seconds_left"] == 15 * 60
        clock.shift(datetime.timedelta(minutes=13))
        assert client.get(DASHBOARD, HTTP_HX_REQUEST="true").status_code == 200
        assert client.get(STATUS).json()["seconds_left"] == 15 * 60


def test_it_sends_an_expired_htmx_request_to_sign_in_whole(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(datetime.timedelta(minutes=16))
        response = client.get(DASHBOARD, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert response["HX-Redirect"].startswith("/accounts/login/")
        # And once signed out, htmx still gets the whole-page redirect.
        response = client.get(DASHBOARD, HTTP_HX_REQUEST="true")
        assert response["HX-Redirect"].startswith("/accounts/login/")


def test_it_gives_the_back_office_30_idle_minutes(client, cast, rf):
    from careportal.accounts import sessions

    request = rf.get("/")
    request.user = cast.owner
    request.session = {sessions.LOGIN_AT: 1000, sessions.LAST_ACTIVITY: 1000}
    assert sessions.seconds_left(request, now=1000 + 29 * 60) == 60
    request.user = cast.tom
    assert sessions.seconds_left(request, now=1000 + 14 * 60) == 60


def test_it_signs_out_everywhere(client, cast):
    other = client.__class__()
    _sign_in(other)
    _sign_in(client)
    assert SessionRecord.objects.filter(user=cast.tom).count() == 2
    response = client.post("/accounts/settings/sign-out-everywhere/")
    assert response.status_code == 302
    assert other.get(DASHBOARD).status_code == 302
    assert client.get(DASHBOARD).status_code == 302
    assert SessionRecord.objects.filter(user=cast.tom).count() == 0
    assert Session.objects.filter(session_key__in=[other.session.session_key]).count() == 0
    assert AuditEvent.objects.filter(action="session.signed_out_everywhere").exists()


def test_it_shows_the_session_warning_on_signed_in_pages(client, cast):
    _sign_in(client)
    body = client.get(DASHBOARD).content.decode()
    assert 'id="session-warning"' in body
    assert "Stay signed in" in body
    assert "js/session.js" in body
    assert "<script>" not in body and "style=" not in body


def test_it_forgets_the_session_record_at_sign_out(client, cast):
    _sign_in(client)
    assert SessionRecord.objects.filter(user=cast.tom).count() == 1
    client.post("/accounts/logout/")
    assert SessionRecord.objects.filter(user=cast.tom).count() == 0


def test_it_says_why_the_session_ended_and_opens_public_pages(client, cast):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(datetime.timedelta(minutes=16))
        response = client.get("/accounts/password/forgot/")
        assert response.status_code == 200
        assert "For your safety you were signed out" in response.content.decode()
        assert "_auth_user_id" not in client.session
