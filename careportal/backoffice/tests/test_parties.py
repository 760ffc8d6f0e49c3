"""Saving a party in the back office goes through the one door, people.services.save_party,
which hands its email to the invitations service and records the audit event."""

from __future__ import annotations

import html
import re

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


def test_it_passes_a_contacts_previous_email_from_the_contacts_page(client, cast, monkeypatch):
    calls = _calls(monkeypatch)
    tom = EmergencyContact.objects.get(name="Tom Hale")
    sign_in(client, cast.owner)
    response = client.post(
        reverse("backoffice:people_emergencycontact_change", args=[tom.pk]),
        {
            "client": tom.client_id,
            "name": tom.name,
            "relationship": tom.relationship,
            "email": "tom.new@mail.example",
            "phone": tom.phone,
        },
    )
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.email == "tom.new@mail.example"
    previous = "tom.hale@mail.example"
    assert calls == [("EmergencyContact", "tom.new@mail.example", previous, cast.owner)]


def test_a_clients_page_lists_the_contacts_with_links_and_a_new_client_gets_them_inline(
    client, cast
):
    margaret = cast.margaret
    sign_in(client, cast.owner)
    page = client.get(reverse("backoffice:people_client_change", args=[margaret.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "emergency_contacts-TOTAL_FORMS" not in html
    for contact in EmergencyContact.objects.filter(client=margaret):
        change = reverse("backoffice:people_emergencycontact_change", args=[contact.pk])
        assert f'<a href="{change}">{contact.name} ({contact.relationship_name})</a>' in html
    add = reverse("backoffice:people_emergencycontact_add")
    assert f'href="{add}?client={margaret.pk}&amp;' in html
    assert "Add another emergency contact" in html
    new = client.get(reverse("backoffice:people_client_add"))
    assert 'name="emergency_contacts-TOTAL_FORMS"' in new.content.decode()


def test_a_contact_added_from_the_clients_page_goes_back_to_it(client, cast):
    margaret = cast.margaret
    sign_in(client, cast.owner)
    page = client.get(reverse("backoffice:people_client_change", args=[margaret.pk]))
    plural = EmergencyContact._meta.verbose_name_plural
    (contacts,) = [kind for kind in page.context["client_links"] if kind["title"] == plural]
    # The form posts where the add page's form says, as a browser does.
    form = client.get(contacts["add_url"]).content.decode()
    action = re.search(r'<form [^>]*action="([^"]*)"[^>]*id="emergencycontact_form"', form)
    assert action is not None
    response = client.post(
        contacts["add_url"].split("?")[0] + html.unescape(action.group(1)),
        {"client": margaret.pk, "name": "Nell Hale", "relationship": "daughter"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:people_client_change", args=[margaret.pk])
    assert EmergencyContact.objects.filter(client=margaret, name="Nell Hale").exists()
    # Added from the contacts' own list: back to that list, as always.
    plain = client.post(
        reverse("backoffice:people_emergencycontact_add"),
        {"client": margaret.pk, "name": "Ned Hale", "relationship": "son"},
    )
    assert plain["Location"] == reverse("backoffice:people_emergencycontact_changelist")


def test_a_contacts_page_shows_the_clients_choices_without_changing_them(client, cast):
    tom = EmergencyContact.objects.get(name="Tom Hale")
    tom.sees_invoices = False
    tom.save()
    sign_in(client, cast.owner)
    change = reverse("backoffice:people_emergencycontact_change", args=[tom.pk])
    page = client.get(change).content.decode()
    assert 'name="sees_invoices"' not in page
    assert 'name="sees_calendar"' not in page
    assert 'name="access_ends_on"' not in page
    response = client.post(
        change,
        {
            "client": tom.client_id,
            "name": tom.name,
            "relationship": tom.relationship,
            "email": tom.email,
            "sees_invoices": "on",
            "access_ends_on": "2020-01-01",
        },
    )
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.sees_invoices is False
    assert tom.access_ends_on is None
