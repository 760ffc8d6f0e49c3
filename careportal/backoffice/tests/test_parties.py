"""Saving a party in the back office goes through the one door, people.services.save_party,
which hands its email to the invitations service and records the audit event."""

from __future__ import annotations

from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.people import services as people_services
from careportal.people.models import Client, EmergencyContact


def _calls(monkeypatch):
    calls = []

    def fake_sync(*, party, previous_email, actor, request):
        calls.append((type(party).__name__, party.email, previous_email, actor))

    monkeypatch.setattr(people_services, "sync_portal_account", fake_sync)
    return calls


def _client_data(client_obj, **extra):
    data = {
        "first_name": client_obj.first_name,
        "last_name": client_obj.last_name,
        "status": client_obj.status,
        "email": client_obj.email,
        "emergency_contacts-TOTAL_FORMS": 0,
        "emergency_contacts-INITIAL_FORMS": 0,
        "payer_links-TOTAL_FORMS": 0,
        "payer_links-INITIAL_FORMS": 0,
        "residences-TOTAL_FORMS": 0,
        "residences-INITIAL_FORMS": 0,
    }
    data.update(extra)
    return data


def test_it_syncs_a_new_client_and_its_new_contact(client, cast, monkeypatch):
    calls = _calls(monkeypatch)
    sign_in(client, cast.administrator)
    response = client.post(
        reverse("backoffice:people_client_add"),
        _client_data(
            Client(
                first_name="Iris", last_name="Young", status="active", email="iris@mail.example"
            ),
            **{
                "emergency_contacts-TOTAL_FORMS": 1,
                "emergency_contacts-0-name": "Ivan Young",
                "emergency_contacts-0-relationship": "son",
                "emergency_contacts-0-email": "ivan@mail.example",
            },
        ),
    )
    assert response.status_code == 302
    assert Client.objects.get(first_name="Iris").agency == cast.sunrise
    assert calls == [
        ("Client", "iris@mail.example", None, cast.administrator),
        ("EmergencyContact", "ivan@mail.example", None, cast.administrator),
    ]
    created = AuditEvent.objects.filter(action="party.created", actor=cast.administrator)
    assert sorted(created.values_list("object_type", flat=True)) == [
        "people.client",
        "people.emergencycontact",
    ]


def test_it_passes_the_previous_email_when_it_changes(client, cast, monkeypatch):
    calls = _calls(monkeypatch)
    walter = cast.walter
    old = walter.email
    sign_in(client, cast.owner)
    response = client.post(
        reverse("backoffice:people_client_change", args=[walter.pk]),
        _client_data(walter, email="walter.new@mail.example"),
    )
    assert response.status_code == 302
    walter.refresh_from_db()
    assert walter.email == "walter.new@mail.example"
    assert calls == [("Client", "walter.new@mail.example", old, cast.owner)]


def test_it_passes_a_contacts_previous_email_from_the_inline(client, cast, monkeypatch):
    calls = _calls(monkeypatch)
    tom = EmergencyContact.objects.get(name="Tom Hale")
    ellen = EmergencyContact.objects.get(name="Ellen Hale", client=cast.margaret)
    margaret = cast.margaret
    sign_in(client, cast.owner)
    data = _client_data(
        margaret,
        **{
            "emergency_contacts-TOTAL_FORMS": 2,
            "emergency_contacts-INITIAL_FORMS": 2,
            "emergency_contacts-0-id": ellen.pk,
            "emergency_contacts-0-client": margaret.pk,
            "emergency_contacts-0-name": ellen.name,
            "emergency_contacts-0-relationship": ellen.relationship,
            "emergency_contacts-0-email": ellen.email,
            "emergency_contacts-1-id": tom.pk,
            "emergency_contacts-1-client": margaret.pk,
            "emergency_contacts-1-name": tom.name,
            "emergency_contacts-1-relationship": tom.relationship,
            "emergency_contacts-1-email": "tom.new@mail.example",
        },
    )
    response = client.post(reverse("backoffice:people_client_change", args=[margaret.pk]), data)
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.email == "tom.new@mail.example"
    assert (
        "EmergencyContact",
        "tom.new@mail.example",
        "tom.hale@mail.example",
        cast.owner,
    ) in calls
