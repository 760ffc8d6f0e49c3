"""A posted inline row id of another agency answers exactly like one that does not exist
(issue 11, item 11)."""

from __future__ import annotations

import re

from django.urls import reverse

from careportal.backoffice.tests.conftest import sign_in
from careportal.people.models import EmergencyContact

MISSING_ID = 987654


def _post_contact_row(client, margaret, row_id: int):
    return client.post(
        reverse("backoffice:people_client_change", args=[margaret.pk]),
        {
            "first_name": margaret.first_name,
            "last_name": margaret.last_name,
            "status": margaret.status,
            "email": margaret.email,
            "emergency_contacts-TOTAL_FORMS": 1,
            "emergency_contacts-INITIAL_FORMS": 1,
            "emergency_contacts-0-id": row_id,
            "emergency_contacts-0-client": margaret.pk,
            "emergency_contacts-0-name": "Renamed Contact",
            "emergency_contacts-0-relationship": "friend",
            "payer_links-TOTAL_FORMS": 0,
            "payer_links-INITIAL_FORMS": 0,
            "residences-TOTAL_FORMS": 0,
            "residences-INITIAL_FORMS": 0,
        },
    )


def _inline_errors(response) -> list:
    return [formset.formset.errors for formset in response.context["inline_admin_formsets"]]


def _page(response, row_id: int) -> str:
    """Return the page without what differs by design: the posted id and the CSRF token."""
    page = response.content.decode().replace(f'value="{row_id}"', 'value="ID"')
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_it_answers_another_agencys_contact_id_like_a_missing_one(client, world):
    cast = world.cast
    harbor_contact = world.harbor(EmergencyContact)
    sign_in(client, cast.owner)

    foreign = _post_contact_row(client, cast.margaret, harbor_contact.pk)
    missing = _post_contact_row(client, cast.margaret, MISSING_ID)

    assert foreign.status_code == missing.status_code == 200
    assert _inline_errors(foreign) == _inline_errors(missing)
    assert _inline_errors(foreign)[0] == [
        {"id": ["Select a valid choice. That choice is not one of the available choices."]}
    ]
    assert _page(foreign, harbor_contact.pk) == _page(missing, MISSING_ID)
    harbor_contact.refresh_from_db()
    assert harbor_contact.name != "Renamed Contact"
    assert not EmergencyContact.objects.filter(name="Renamed Contact").exists()
