"""Who may call the API: a valid key, with the scope the call needs, within its rate."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from careportal.api.models import ApiKey
from careportal.api.services import revoke_api_key
from careportal.api.tests.conftest import Caller, make_key


def _is_problem(response, status):
    body = response.json()
    return (
        response.status_code == status
        and response["Content-Type"].startswith("application/problem+json")
        and body["status"] == status
        and body["title"]
        and body["detail"]
    )


def test_it_answers_401_without_a_key(cast):
    response = Caller(None)("GET", "clients")

    assert _is_problem(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer cpk_not-a-real-key", "Bearer ", "Basic dXNlcjpwYXNz", "cpk_no-scheme"],
)
def test_it_answers_401_to_a_wrong_key(cast, header):
    caller = Caller(None)

    response = caller.browser.get("/api/v1/clients", headers={"Authorization": header})

    assert _is_problem(response, 401)


def test_it_answers_401_to_an_expired_key(cast):
    key = make_key(cast.sunrise, expires_at=timezone.now() + datetime.timedelta(hours=1))
    ApiKey.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = Caller(key)("GET", "clients")

    assert _is_problem(response, 401)


def test_it_answers_401_to_a_revoked_key(cast):
    key = make_key(cast.sunrise)
    caller = Caller(key)
    assert caller("GET", "clients").status_code == 200

    revoke_api_key(api_key=ApiKey.objects.get(), actor=cast.owner)

    assert _is_problem(caller("GET", "clients"), 401)


def test_it_lets_a_read_key_read_but_not_write(cast):
    caller = Caller(make_key(cast.sunrise, "people:read"))

    assert caller("GET", "clients").status_code == 200
    response = caller("POST", "clients", {"first_name": "Iris", "last_name": "North"})

    assert _is_problem(response, 403)
    assert "write" in response.json()["detail"]


def test_it_answers_403_for_an_area_the_key_was_not_given(cast):
    caller = Caller(make_key(cast.sunrise, "billing:write"))

    assert _is_problem(caller("GET", "clients"), 403)
    assert _is_problem(caller("GET", f"clients/{cast.margaret.pk}"), 403)


def test_it_never_takes_a_session_for_a_key(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get("/api/v1/clients")

    assert _is_problem(response, 401)
    assert "no-store" in response["Cache-Control"]


def test_it_answers_429_with_retry_after_past_the_keys_limit(cast, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    caller = Caller(make_key(cast.sunrise))
    other = Caller(make_key(cast.sunrise))

    answers = [caller("GET", "clients").status_code for _ in range(3)]
    refused = caller("GET", "clients")

    assert answers == [200, 200, 200]
    assert _is_problem(refused, 429)
    assert 1 <= int(refused["Retry-After"]) <= 60
    # The limit is per key.
    assert other("GET", "clients").status_code == 200


def test_it_notes_when_a_key_was_last_used(cast):
    key = make_key(cast.sunrise)
    assert ApiKey.objects.get().last_used_at is None

    Caller(key)("GET", "clients")

    assert ApiKey.objects.get().last_used_at is not None


def test_it_stores_only_the_hash_of_a_key(cast):
    key = make_key(cast.sunrise)

    api_key = ApiKey.objects.get()
    assert key not in (api_key.hashed_key, api_key.prefix)
    assert key.startswith(api_key.prefix) and len(key) > 40
