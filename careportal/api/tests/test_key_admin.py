"""API keys in the back office: the owner alone makes them, sees each once, revokes them."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from careportal.api.models import ApiKey, IdempotentRequest
from careportal.api.services import create_api_key, purge_idempotent_requests
from careportal.api.tests.conftest import Caller, make_key
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in

LIST = reverse("backoffice:api_apikey_changelist")
ADD = reverse("backoffice:api_apikey_add")


def _change(api_key):
    return reverse("backoffice:api_apikey_change", args=[api_key.pk])


def test_it_lets_the_owner_make_a_key_and_shows_it_once(client, cast):
    sign_in(client, cast.owner)

    response = client.post(
        ADD, {"name": "Scheduling system", "scopes": ["people:read", "scheduling:write"]}
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Copy this key now; it will not be shown again." in content
    api_key = ApiKey.objects.get()
    key = response.context["key"]
    assert key.startswith(api_key.prefix) and key in content
    assert (api_key.agency, api_key.created_by) == (cast.sunrise, cast.owner)
    assert api_key.scopes == ["people:read", "scheduling:write"]
    assert AuditEvent.objects.filter(action="api_key.created", object_id=str(api_key.pk)).exists()
    # The key works, and is never shown again.
    assert Caller(key)("GET", "clients").status_code == 200
    assert key not in client.get(LIST).content.decode()
    assert key not in client.get(_change(api_key)).content.decode()
    assert api_key.prefix in client.get(LIST).content.decode()


def test_it_refuses_a_key_without_access_or_with_a_past_expiry(client, cast):
    sign_in(client, cast.owner)
    past = (timezone.localtime() - datetime.timedelta(days=1)).strftime("%Y-%m-%d")

    response = client.post(
        ADD,
        {"name": "Old", "scopes": [], "expires_at_0": past, "expires_at_1": "10:00"},
    )

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"scopes", "expires_at"}
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("who", ["administrator", "scheduler", "billing"])
def test_it_hides_keys_from_other_staff(client, cast, who):
    api_key, _key = create_api_key(agency=cast.sunrise, name="Billing", scopes=["billing:read"])
    sign_in(client, getattr(cast, who))

    assert client.get(LIST).status_code == 404
    assert client.get(ADD).status_code in (403, 404)
    assert client.get(_change(api_key)).status_code in (302, 403, 404)
    assert client.post(ADD, {"name": "Mine", "scopes": ["people:write"]}).status_code in (403, 404)
    assert "api/apikey" not in client.get(reverse("backoffice:index")).content.decode()
    assert ApiKey.objects.count() == 1


def test_it_hides_another_agencys_keys(client, cast):
    theirs, _key = create_api_key(agency=cast.harbor, name="Harbor EHR", scopes=["people:read"])
    sign_in(client, cast.owner)

    assert "Harbor EHR" not in client.get(LIST).content.decode()
    response = client.get(_change(theirs))
    assert response.status_code == 302 and "Harbor EHR" not in response.content.decode()


def test_it_revokes_a_key_after_a_confirmation(client, cast):
    key = make_key(cast.sunrise)
    api_key = ApiKey.objects.get()
    sign_in(client, cast.owner)
    chosen = {"action": "revoke_keys", "_selected_action": [api_key.pk]}

    asked = client.post(LIST, chosen)

    assert asked.status_code == 200
    assert "Yes, revoke them" in asked.content.decode()
    assert ApiKey.objects.get().revoked_at is None
    done = client.post(LIST, {**chosen, "confirm": "yes"})
    assert done.status_code == 302
    assert ApiKey.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1
    assert Caller(key)("GET", "clients").status_code == 401


def test_it_lets_no_other_staff_revoke_a_key(client, cast):
    make_key(cast.sunrise)
    api_key = ApiKey.objects.get()
    sign_in(client, cast.administrator)

    client.post(LIST, {"action": "revoke_keys", "_selected_action": [api_key.pk], "confirm": "yes"})

    assert ApiKey.objects.get().revoked_at is None


def test_it_forgets_kept_answers_after_a_day(api, cast):
    api("POST", "clients", {"first_name": "Iris", "last_name": "North"}, **{"Idempotency-Key": "a"})
    api("POST", "clients", {"first_name": "Ivy", "last_name": "North"}, **{"Idempotency-Key": "b"})
    IdempotentRequest.objects.filter(key="a").update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )

    assert purge_idempotent_requests() == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["b"]
