"""A posted inline row id of another agency answers exactly like one that does not exist
(issue 11, item 11)."""

from __future__ import annotations

import re

from django.urls import reverse

from careportal.backoffice.tests.conftest import sign_in
from careportal.people.models import Payer, PayerPerson

MISSING_ID = 987654


def _post_person_row(client, payer, row_id: int):
    """Post the payer's page with one row of its people inline naming `row_id`."""
    return client.post(
        reverse("backoffice:people_payer_change", args=[payer.pk]),
        {
            "name": payer.name,
            "kind": payer.kind,
            "people-TOTAL_FORMS": 1,
            "people-INITIAL_FORMS": 1,
            "people-0-id": row_id,
            "people-0-payer": payer.pk,
            "people-0-name": "Renamed Person",
            "people-0-email": "renamed@mail.example",
            "client_links-TOTAL_FORMS": 0,
            "client_links-INITIAL_FORMS": 0,
        },
    )


def _inline_errors(response) -> list:
    return [formset.formset.errors for formset in response.context["inline_admin_formsets"]]


def _page(response, row_id: int) -> str:
    """Return the page without what differs by design: the posted id and the CSRF token."""
    page = response.content.decode().replace(f'value="{row_id}"', 'value="ID"')
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_it_answers_another_agencys_row_id_like_a_missing_one(client, world):
    payer = world.sunrise(Payer)
    harbor_person = world.harbor(PayerPerson)
    sign_in(client, world.cast.owner)

    foreign = _post_person_row(client, payer, harbor_person.pk)
    missing = _post_person_row(client, payer, MISSING_ID)

    assert foreign.status_code == missing.status_code == 200
    assert _inline_errors(foreign) == _inline_errors(missing)
    assert _inline_errors(foreign)[0] == [
        {"id": ["Select a valid choice. That choice is not one of the available choices."]}
    ]
    assert _page(foreign, harbor_person.pk) == _page(missing, MISSING_ID)
    harbor_person.refresh_from_db()
    assert harbor_person.name != "Renamed Person"
    assert not PayerPerson.objects.filter(name="Renamed Person").exists()
