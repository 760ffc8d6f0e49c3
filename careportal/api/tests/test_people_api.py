"""The people area of the API: the same door as the back office, the agency's records only."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from careportal.api.models import ApiKey, IdempotentRequest
from careportal.api.tests.conftest import Caller, make_key
from careportal.audit.models import AuditEvent
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import Client, ClientPayer, ClientStatus, EmergencyContact, Residence

IRIS = {"first_name": "Iris", "last_name": "North", "email": "iris@mail.example"}


def test_it_creates_a_client_with_a_portal_login_and_a_queued_invitation(api, cast):
    response = api("POST", "clients", IRIS)

    assert response.status_code == 201
    body = response.json()
    iris = Client.objects.get(pk=body["id"])
    assert (iris.agency, iris.first_name, body["status"]) == (cast.sunrise, "Iris", "active")
    # Exactly as the back office: a login of her own and an invitation queued.
    assert iris.user.email == "iris@mail.example"
    assert Invitation.objects.get(user=iris.user).state == InvitationState.QUEUED
    assert AuditEvent.objects.filter(action="party.created", object_id=str(iris.pk)).exists()
    event = AuditEvent.objects.get(action="api.client.created")
    assert (event.agency, event.object_id) == (cast.sunrise, str(iris.pk))
    assert event.detail["api_key"] == ApiKey.objects.get().pk


def test_it_names_the_field_of_a_bad_value_and_saves_nothing(api, cast):
    clients = Client.objects.count()

    response = api("POST", "clients", {**IRIS, "first_name": "", "last_name": ""})

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"first_name", "last_name"}
    assert Client.objects.count() == clients
    assert not Invitation.objects.filter(user__email=IRIS["email"]).exists()
    assert not AuditEvent.objects.filter(action__in=["api.client.created", "party.created"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("date_of_birth", "12/31/1940"), ("status", "gone")],
)
def test_it_names_a_value_of_the_wrong_kind(api, cast, field, value):
    response = api("POST", "clients", {**IRIS, field: value})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not Client.objects.filter(first_name="Iris").exists()


def test_it_names_a_missing_field_of_the_request(api, cast):
    response = api("POST", "clients", {"first_name": "Iris"})

    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"last_name"}


def test_it_answers_404_for_another_agencys_record_as_for_a_missing_one(api, cast):
    hank = cast.hank.pk
    missing = Client.objects.order_by("-pk").first().pk + 100
    Client.objects.filter(pk=hank).update(external_id="H-1")

    answers = [
        api("GET", f"clients/{hank}"),
        api("GET", f"clients/{missing}"),
        api("PATCH", f"clients/{hank}", {"phone": "555"}),
        api("GET", "clients/by-external-id/H-1"),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert answers[0].json() == answers[1].json()
    assert Client.objects.get(pk=hank).phone == ""
    listed = {row["id"] for row in api("GET", "clients?limit=200").json()["items"]}
    assert hank not in listed and cast.margaret.pk in listed


def test_it_refuses_another_agencys_client_for_a_contact_as_a_missing_one(api, cast):
    contact = {"name": "Hal", "relationship": "son"}

    theirs = api("POST", "emergency-contacts", {**contact, "client_id": cast.hank.pk})
    missing = api("POST", "emergency-contacts", {**contact, "client_id": 10**9})

    assert theirs.status_code == missing.status_code == 422
    assert theirs.json()["errors"] == missing.json()["errors"]
    assert theirs.json()["errors"][0]["field"] == "client_id"
    assert not EmergencyContact.objects.filter(name="Hal").exists()


def test_it_adds_an_emergency_contact_with_a_login_and_an_invitation(api, cast):
    response = api(
        "POST",
        "emergency-contacts",
        {"client_id": cast.sam.pk, "name": "Lena Lee", "relationship": "daughter",
         "email": "lena@mail.example"},
    )  # fmt: skip

    assert response.status_code == 201
    lena = EmergencyContact.objects.get(pk=response.json()["id"])
    assert lena.client == cast.sam
    assert Invitation.objects.get(user=lena.user).state == InvitationState.QUEUED


def test_it_answers_a_retry_with_the_same_idempotency_key_once(api, cast):
    first = api("POST", "clients", IRIS, **{"Idempotency-Key": "order-77"})
    retry = api("POST", "clients", IRIS, **{"Idempotency-Key": "order-77"})

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert Client.objects.filter(first_name="Iris").count() == 1
    assert Invitation.objects.filter(user__email="iris@mail.example").count() == 1


def test_it_refuses_the_same_idempotency_key_with_another_body(api, cast):
    api("POST", "clients", IRIS, **{"Idempotency-Key": "order-78"})

    response = api(
        "POST", "clients", {**IRIS, "first_name": "Ivy"}, **{"Idempotency-Key": "order-78"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Client.objects.filter(first_name="Ivy").exists()


def test_it_keeps_no_answer_for_a_refused_create(api, cast):
    refused = api("POST", "clients", {**IRIS, "email": "bad"}, **{"Idempotency-Key": "k-1"})
    fixed = api("POST", "clients", IRIS, **{"Idempotency-Key": "k-2"})

    assert (refused.status_code, fixed.status_code) == (422, 201)
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["k-2"]


def test_it_keeps_idempotency_keys_apart_between_agencies(api, cast):
    harbor = Caller(make_key(cast.harbor))

    ours = api("POST", "clients", IRIS, **{"Idempotency-Key": "same"})
    theirs = harbor("POST", "clients", IRIS, **{"Idempotency-Key": "same"})

    assert ours.status_code == theirs.status_code == 201
    assert ours.json()["id"] != theirs.json()["id"]
    assert Client.objects.get(pk=theirs.json()["id"]).agency == cast.harbor


def test_it_creates_then_updates_by_external_id(api, cast):
    created = api("PUT", "clients/by-external-id/EHR-1001", IRIS)
    changed = api("PUT", "clients/by-external-id/EHR-1001", {**IRIS, "phone": "555-0100"})

    assert (created.status_code, changed.status_code) == (201, 200)
    assert created.json()["id"] == changed.json()["id"]
    iris = Client.objects.get(agency=cast.sunrise, external_id="EHR-1001")
    assert iris.phone == "555-0100"
    found = api("GET", "clients/by-external-id/EHR-1001")
    assert found.json()["id"] == iris.pk


def test_it_refuses_an_external_id_already_used_in_the_agency(api, cast):
    api("POST", "clients", {**IRIS, "external_id": "EHR-2"})

    response = api("POST", "clients", {**IRIS, "email": "", "external_id": "EHR-2"})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["external_id"]
    assert Client.objects.filter(external_id="EHR-2").count() == 1


def test_it_lets_two_agencies_use_the_same_external_id(api, cast):
    harbor = Caller(make_key(cast.harbor))

    assert api("PUT", "payers/by-external-id/P-1", {"name": "Atlas"}).status_code == 201
    assert harbor("PUT", "payers/by-external-id/P-1", {"name": "Mutual"}).status_code == 201


def test_it_discharges_a_client_with_an_update(api, cast):
    response = api("PATCH", f"clients/{cast.margaret.pk}", {"status": "discharged"})

    assert response.status_code == 200
    cast.margaret.refresh_from_db()
    assert cast.margaret.status == ClientStatus.DISCHARGED
    assert api("DELETE", f"clients/{cast.margaret.pk}").status_code == 405


def test_it_changes_only_the_fields_sent(api, cast):
    response = api("PATCH", f"clients/{cast.margaret.pk}", {"phone": "555-0199"})

    assert response.status_code == 200
    cast.margaret.refresh_from_db()
    assert (cast.margaret.phone, cast.margaret.preferred_name) == ("555-0199", "Maggie")
    event = AuditEvent.objects.get(action="party.changed")
    assert event.detail["fields"] == ["phone"]


def test_it_pages_through_every_client_once_with_the_cursor(api, cast):
    seen, path = [], "clients?limit=2"
    for _page in range(10):
        body = api("GET", path).json()
        assert len(body["items"]) <= 2
        seen += [row["id"] for row in body["items"]]
        if body["next"] is None:
            break
        path = f"clients?limit=2&cursor={body['next']}"

    assert sorted(seen) == sorted(
        Client.objects.filter(agency=cast.sunrise).values_list("pk", flat=True)
    )
    assert len(seen) == len(set(seen))


def test_it_lists_only_records_changed_since(api, cast):
    since = timezone.now() + datetime.timedelta(seconds=1)
    Client.objects.filter(pk=cast.rosa.pk).update(updated_at=since + datetime.timedelta(minutes=1))

    response = api("GET", "clients", **{})
    later = api("GET", f"clients?updated_since={since.isoformat().replace('+00:00', 'Z')}")

    assert len(response.json()["items"]) == 5
    assert [row["id"] for row in later.json()["items"]] == [cast.rosa.pk]


@pytest.mark.parametrize("query", ["cursor=not-a-cursor", "limit=0", "limit=201"])
def test_it_refuses_a_bad_page_request(api, cast, query):
    response = api("GET", f"clients?{query}")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in ("cursor", "limit")


def test_it_records_every_read_of_a_client(api, cast):
    api("GET", f"clients/{cast.margaret.pk}")
    api("GET", "clients?limit=2")

    viewed = AuditEvent.objects.get(action="api.client.viewed")
    assert viewed.object_id == str(cast.margaret.pk) and viewed.agency == cast.sunrise
    listed = AuditEvent.objects.get(action="api.client.listed")
    assert len(listed.detail["ids"]) == 2


def test_it_links_a_client_to_a_payer_and_a_community_with_dates(api, cast):
    payer = api(
        "POST", "client-payers",
        {"client_id": cast.sam.pk, "payer_id": cast.atlas.pk, "start_date": "2026-01-01"},
    )  # fmt: skip
    moved = api(
        "POST", "residences",
        {"client_id": cast.sam.pk, "community_id": cast.maple.pk, "start_date": "2026-03-01",
         "end_date": "2026-02-01"},
    )  # fmt: skip

    assert payer.status_code == 201
    assert ClientPayer.objects.get(pk=payer.json()["id"]).start_date == datetime.date(2026, 1, 1)
    assert moved.status_code == 422
    assert not Residence.objects.filter(start_date=datetime.date(2026, 3, 1)).exists()


def test_it_adds_payer_and_community_people_with_invitations(api, cast):
    paul = api(
        "POST",
        "payer-people",
        {"payer_id": cast.atlas.pk, "name": "Paul", "email": "paul@atlas.example"},
    )
    nina = api(
        "POST", "community-people",
        {"community_id": cast.maple.pk, "name": "Nina", "email": "nina@maple.example"},
    )  # fmt: skip

    assert (paul.status_code, nina.status_code) == (201, 201)
    assert (
        Invitation.objects.filter(
            user__email__in=["paul@atlas.example", "nina@maple.example"]
        ).count()
        == 2
    )


def test_it_refuses_text_no_database_takes(api, cast):
    response = api("POST", "communities", {"name": "Maple\x00Grove"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
