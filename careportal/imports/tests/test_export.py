"""Export clients: the agency's clients with contacts as CSV, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.imports import cells, clients, services
from careportal.imports.models import ImportState
from careportal.people.models import Client, EmergencyContact, Relationship

EXPORT = reverse("backoffice:imports_clientimport_export", args=["clients"])


def _export(browser) -> tuple[list[list[str]], bytes]:
    response = browser.get(EXPORT)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="clients.csv"'
    data = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")))), data


def test_it_exports_the_agencys_clients_with_their_contacts(client, cast):
    sign_in(client, cast.owner)
    rows, _data = _export(client)
    assert rows[0] == list(clients.COLUMNS)
    by_name = {row[1]: dict(zip(clients.COLUMNS, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"Margaret", "Walter", "Rosa", "Sam", "Stan"}
    margaret = by_name["Margaret"]
    assert margaret["preferred_name"] == "Maggie"
    assert {margaret["contact_1_name"], margaret["contact_2_name"]} == {"Ellen Hale", "Tom Hale"}
    assert "Hank" not in by_name
    event = AuditEvent.objects.get(action="clients.exported")
    assert event.agency == cast.sunrise
    assert event.actor == cast.owner


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Plain", "Plain"),
        ("", ""),
    ],
)
def test_it_neutralises_formulas(value, expected):
    assert cells.neutralise(value) == expected


def test_it_round_trips_through_the_import(client, cast):
    margaret = cast.margaret
    margaret.phone = "+1 555 0100"
    margaret.address = '=HYPERLINK("http://evil.example")'
    margaret.external_id = "M-1"
    margaret.save()
    EmergencyContact.objects.filter(client=margaret, name="Tom Hale").update(
        relationship=Relationship.OTHER, relationship_other="Godson"
    )
    sign_in(client, cast.owner)
    rows, data = _export(client)
    exported = {row[1]: row for row in rows[1:]}["Margaret"]
    assert exported[clients.COLUMNS.index("address")] == '\'=HYPERLINK("http://evil.example")'
    assert exported[clients.COLUMNS.index("phone")] == "'+1 555 0100"
    before = (Client.objects.count(), EmergencyContact.objects.count())

    client_import = services.preview_client_import(
        agency=cast.sunrise, data=data, file_name="clients.csv", actor=cast.owner
    )
    assert client_import.state == ImportState.READY, client_import.errors
    # Every client comes back unchanged: matched, nothing to write.
    assert (client_import.to_create, client_import.to_update) == (0, 0)
    assert client_import.to_skip == 5
    services.start_client_import(client_import=client_import)
    services.run_import(client_import.pk)
    client_import.refresh_from_db()
    assert client_import.state == ImportState.DONE
    assert (Client.objects.count(), EmergencyContact.objects.count()) == before
    margaret.refresh_from_db()
    assert margaret.address == '=HYPERLINK("http://evil.example")'


@pytest.mark.parametrize("who", ["scheduler", "billing"])
def test_it_refuses_the_export_to_other_roles(client, cast, who):
    sign_in(client, getattr(cast, who))
    assert client.get(EXPORT).status_code == 404
    assert not AuditEvent.objects.filter(action="clients.exported").exists()


def test_it_exports_only_the_own_agency_for_another_owner(client, cast):
    sign_in(client, cast.harriet)
    rows, _data = _export(client)
    assert [row[1] for row in rows[1:]] == ["Hank"]
