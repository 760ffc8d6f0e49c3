"""Import and export payers and communities, each with up to two of its people."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from careportal.accounts.models import User
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.emails.delivery import run_due_tasks
from careportal.imports import cells, organisations, services
from careportal.imports.models import ClientImport, ImportState
from careportal.imports.payers import SHAPE as PAYERS
from careportal.invitations.models import Invitation
from careportal.people.models import Community, CommunityPerson, Payer, PayerPerson

ADD = reverse("backoffice:imports_clientimport_add")
COLUMNS = organisations.COLUMNS


def _csv(rows: list[dict[str, str]], columns=COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(name, "") for name in columns])
    return out.getvalue()


def _payer(n: int, **cells: str) -> dict[str, str]:
    row = {
        "external_id": f"P-{n}",
        "name": f"Payer {n}",
        "kind": "ltc_insurer",
        "email": f"claims{n}@payer.example",
        "phone": "555 0200",
        "person_1_name": f"Carol{n} Case",
        "person_1_email": f"claims{n}@payer.example",
        "person_2_name": f"Dan{n} Desk",
        "person_2_email": f"dan{n}@payer.example",
    }
    row.update(cells)
    return row


def _preview(browser, content: str, kind: str = "payers"):
    data = SimpleUploadedFile("file.csv", content.encode(), "text/csv")
    response = browser.post(ADD, {"kind": kind, "file": data})
    assert response.status_code == 302, response.content.decode()[:3000]
    return browser.get(response["Location"]), ClientImport.objects.latest("pk")


def _import(kind: str, content: str | bytes, cast) -> ClientImport:
    data = content.encode() if isinstance(content, str) else content
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=data, file_name="file.csv", actor=cast.owner, kind=kind
    )
    assert client_import.state == ImportState.READY, client_import.errors
    services.start_client_import(client_import=client_import)
    assert services.run_import(client_import.pk) == ImportState.DONE
    client_import.refresh_from_db()
    return client_import


def test_it_imports_payers_with_their_people_logins_and_invitations(client, cast):
    atlas = cast.atlas
    atlas.external_id = "ATL"
    atlas.save()
    sign_in(client, cast.owner)
    rows = [_payer(1), _payer(2, external_id="ATL", name=atlas.name, kind="Long-term-care insurer",
                              email="", person_1_name="Paula Payer",
                              person_1_email=cast.paula.email, person_2_name="",
                              person_2_email="")]  # fmt: skip
    page, client_import = _preview(client, _csv(rows))
    content = page.content.decode()
    assert "Kind of file: Payers with their people" in content
    assert "1 new record to add" in content
    assert "1 record to update" in content
    assert client_import.kind == "payers"
    assert not Payer.objects.filter(external_id="P-1").exists()

    client.post(reverse("backoffice:imports_clientimport_import", args=[client_import.pk]))
    assert run_due_tasks() == 1

    client_import.refresh_from_db()
    assert client_import.state == ImportState.DONE
    assert (client_import.created, client_import.updated, client_import.skipped) == (1, 1, 0)
    payer = Payer.objects.get(external_id="P-1")
    assert (payer.agency, payer.kind, payer.phone) == (cast.sunrise, "ltc_insurer", "555 0200")
    # The payer's own email and person 1 are one person, named as the file says.
    people = {person.email: person for person in payer.people.all()}
    assert set(people) == {"claims1@payer.example", "dan1@payer.example"}
    assert people["claims1@payer.example"].name == "Carol1 Case"
    assert all(person.user is not None for person in people.values())
    assert Invitation.objects.filter(user__in=[p.user for p in people.values()]).count() == 2
    assert client_import.invitations_queued == 2
    atlas.refresh_from_db()
    assert atlas.phone == "555 0200"
    assert atlas.people.count() == 1
    content = client.get(
        reverse("backoffice:imports_clientimport_change", args=[client_import.pk])
    ).content.decode()
    assert "1 record created" in content
    assert "2 invitations queued" in content
    event = AuditEvent.objects.get(action="client_import.imported")
    assert event.detail["kind"] == "payers"


def test_it_skips_every_row_of_the_same_file_imported_again(cast):
    content = _csv([_payer(1), _payer(2)])
    _import("payers", content, cast)
    invitations = Invitation.objects.count()
    again = services.preview_client_import(
        agency=cast.sunrise, data=content.encode(), file_name="again.csv", kind="payers"
    )
    assert (again.to_create, again.to_update, again.to_skip) == (0, 0, 2)
    changed = _csv([_payer(1, phone="555 0299", person_2_name="Dan Renamed"), _payer(2)])
    second = _import("payers", changed, cast)
    assert (second.created, second.updated, second.skipped) == (0, 1, 1)
    payer = Payer.objects.get(external_id="P-1")
    assert payer.phone == "555 0299"
    assert payer.people.get(email="dan1@payer.example").name == "Dan Renamed"
    assert Payer.objects.filter(external_id__startswith="P-").count() == 2
    assert PayerPerson.objects.filter(payer__external_id__startswith="P-").count() == 4
    assert Invitation.objects.count() == invitations


def test_it_imports_communities_with_their_people(cast):
    row = _payer(1, external_id="H-1", name="Willow Court", kind="memory_care",
                 email="office@willow.example", person_1_email="nina@willow.example")  # fmt: skip
    client_import = _import("communities", _csv([row]), cast)
    assert client_import.created == 1
    community = Community.objects.get(external_id="H-1")
    assert (community.name, community.kind) == ("Willow Court", "memory_care")
    emails = set(community.people.values_list("email", flat=True))
    assert emails == {"office@willow.example", "nina@willow.example", "dan1@payer.example"}
    assert client_import.invitations_queued == 3
    assert not Payer.objects.filter(name="Willow Court").exists()


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"kind": "bank"}, "Line 2, kind: bank is not a kind (one of: ltc_insurer,"),
        ({"name": "=HYPERLINK(1)"}, "Line 2, name: =HYPERLINK(1) starts with"),
        ({"name": ""}, "Line 2, name: This field cannot be blank."),
        ({"person_2_email": ""}, "Line 2, person_2_email: This field cannot be blank."),
        ({"person_1_email": "nope"}, "Line 2, person_1_email: Enter a valid email address."),
        ({"email": "hank.harbor@mail.example"}, "Line 2, email: hank.harbor@mail.example belongs"),
    ],
)
def test_it_names_the_line_and_column_of_each_error(client, cast, cells, expected):
    sign_in(client, cast.owner)
    payers = Payer.objects.count()
    page, client_import = _preview(client, _csv([_payer(1, **cells)]))
    assert expected in page.content.decode()
    assert client_import.state == ImportState.REFUSED
    assert Payer.objects.count() == payers


def test_it_refuses_a_row_repeated_in_the_file(client, cast):
    sign_in(client, cast.owner)
    page, _import = _preview(client, _csv([_payer(1), _payer(2, external_id="P-1")]))
    assert "Line 3, external_id: P-1 is already on line 2." in page.content.decode()


def test_it_refuses_a_file_of_another_kind(client, cast):
    sign_in(client, cast.owner)
    data = SimpleUploadedFile("payers.csv", _csv([_payer(1)]).encode(), "text/csv")
    response = client.post(ADD, {"kind": "clients", "file": data})
    assert response.status_code == 200
    assert (
        "This is a file of Payers with their people, not of Clients with their emergency "
        "contacts: choose that kind, or use the template of Clients with their emergency "
        "contacts." in response.content.decode()
    )
    assert not ClientImport.objects.exists()


def _export(browser, kind: str) -> tuple[list[list[str]], bytes]:
    response = browser.get(reverse("backoffice:imports_clientimport_export", args=[kind]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{kind}.csv"'
    data = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")))), data


def test_it_exports_the_agencys_payers_with_their_people(client, cast):
    Payer.objects.create(agency=cast.harbor, name="Harbor Mutual")
    sign_in(client, cast.owner)
    rows, _data = _export(client, "payers")
    assert rows[0] == list(COLUMNS)
    by_name = {row[1]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"Atlas Long-Term Care", "Hale Family Trust"}
    assert by_name["Atlas Long-Term Care"]["person_1_email"] == cast.paula.email
    event = AuditEvent.objects.get(action="payers.exported")
    assert (event.agency, event.actor) == (cast.sunrise, cast.owner)
    sign_in(client, cast.harriet)
    rows, _data = _export(client, "payers")
    assert [row[1] for row in rows[1:]] == ["Harbor Mutual"]


@pytest.mark.parametrize("kind", ["payers", "communities"])
def test_it_round_trips_an_export_through_the_import(client, cast, kind):
    atlas = cast.atlas
    atlas.address = "=1+1"
    atlas.email = "atlas@payer.example"
    atlas.save()
    maple = cast.maple
    maple.phone = "+1 555 0300"
    maple.save()
    sign_in(client, cast.owner)
    rows, data = _export(client, kind)
    before = (
        PayerPerson.objects.count(),
        CommunityPerson.objects.count(),
        Invitation.objects.count(),
    )
    client_import = _import(kind, data, cast)
    assert (client_import.created, client_import.updated) == (0, 0)
    assert client_import.skipped == len(rows) - 1
    after = (
        PayerPerson.objects.count(),
        CommunityPerson.objects.count(),
        Invitation.objects.count(),
    )
    assert after == before
    atlas.refresh_from_db()
    maple.refresh_from_db()
    assert (atlas.address, maple.phone) == ("=1+1", "+1 555 0300")


def test_it_refuses_two_rows_that_stand_for_the_same_record(cast):
    atlas = cast.atlas
    atlas.external_id = "ATL"
    atlas.save()
    rows = [
        _payer(1, external_id="ATL", name="Atlas Care", email=""),
        # Neither external_id nor email: the row names Atlas by its stored name.
        _payer(2, external_id="", name=atlas.name, email=""),
    ]
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv(rows).encode(), file_name="a.csv", kind="payers"
    )
    assert client_import.state == ImportState.REFUSED
    assert [services.describe(error) for error in client_import.errors] == [
        "Line 3, name: Line 2 already stands for this record."
    ]


def test_it_imports_two_payers_who_share_an_email_when_each_has_an_external_id(cast):
    desk = "desk@payer.example"
    rows = [_payer(n, email=desk, person_1_email=desk) for n in (1, 2)]
    client_import = _import("payers", _csv(rows), cast)
    assert client_import.created == 2
    assert Payer.objects.filter(email=desk).count() == 2


def test_it_plans_stored_records_and_their_people_with_a_few_queries(
    cast, django_assert_max_num_queries
):
    stored = Payer.objects.bulk_create(
        Payer(agency=cast.sunrise, external_id=f"P-{n}", name=f"Payer {n}") for n in range(50)
    )
    logins = User.objects.bulk_create(
        User(agency=cast.sunrise, username=f"desk{n}", email=f"desk{n}@payer.example")
        for n in range(100)
    )
    PayerPerson.objects.bulk_create(
        PayerPerson(
            agency=cast.sunrise,
            payer=stored[n // 2],
            name=login.username,
            email=login.email,
            user=login,
        )  # fmt: skip
        for n, login in enumerate(logins)
    )
    out = io.StringIO()
    csv.writer(out).writerows(organisations.export_rows(PAYERS, cast.sunrise))
    rows = cells.read_rows(out.getvalue().encode(), COLUMNS)
    assert len(rows) == 52

    with django_assert_max_num_queries(12):
        planned = organisations.plan_rows(PAYERS, cast.sunrise, rows)

    assert {row.action for row in planned} == {"skip"}
    assert not [error for row in planned for error in row.errors]
