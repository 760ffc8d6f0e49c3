"""Import clients: the template, the upload and its preview, Import all, its progress."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from careportal.accounts.models import User
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.emails.delivery import run_due_tasks
from careportal.imports import cells, clients, services, tasks
from careportal.imports.models import ClientImport, ImportState
from careportal.invitations.models import Invitation
from careportal.people.models import Client, EmergencyContact, Relationship
from tests.page import polling

ADD = reverse("backoffice:imports_clientimport_add")
TEMPLATE = reverse("backoffice:imports_clientimport_template", args=["clients"])
LIST = reverse("backoffice:imports_clientimport_changelist")


def _csv(rows: list[dict[str, str]], *, delimiter: str = ",", columns=clients.COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(name, "") for name in columns])
    return out.getvalue()


def _row(n: int, **cells: str) -> dict[str, str]:
    row = {
        "external_id": f"X-{n}",
        "first_name": f"Iris{n}",
        "last_name": "Import",
        "date_of_birth": "1940-05-17",
        "email": f"iris{n}@mail.example",
        "phone": "555 0100",
        "status": "active",
        "contact_1_name": f"Ivy{n} Import",
        "contact_1_relationship": "daughter",
        "contact_1_email": f"ivy{n}@mail.example",
        "contact_2_name": f"Ian{n} Import",
        "contact_2_relationship": "Godson",
        "contact_2_phone": "555 0102",
    }
    row.update(cells)
    return row


def _upload(browser, content: bytes | str, name: str = "clients.csv", kind: str = "clients"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return browser.post(ADD, {"kind": kind, "file": SimpleUploadedFile(name, data, "text/csv")})


def _preview(browser, content: bytes | str):
    response = _upload(browser, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    return browser.get(response["Location"]), ClientImport.objects.latest("pk")


def _count_people() -> tuple[int, int, int]:
    return Client.objects.count(), EmergencyContact.objects.count(), Invitation.objects.count()


def test_it_downloads_the_template_with_the_columns_and_an_example(client, cast):
    sign_in(client, cast.owner)
    response = client.get(TEMPLATE)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="clients-template.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(clients.COLUMNS)
    assert rows[1][:3] == ["C-1001", "Margaret", "Example"]
    assert "Download the template" in client.get(LIST).content.decode()


def test_it_shows_the_upload_page_with_a_labelled_field(client, cast):
    sign_in(client, cast.owner)
    content = client.get(ADD).content.decode()
    assert '<label for="id_file" class="required">CSV file</label>' in content
    assert "Nothing is saved until you press Import all." in content
    response = client.post(ADD, {})
    assert "This field is required." in response.content.decode()
    assert not ClientImport.objects.exists()


def test_it_previews_a_file_and_saves_nothing(client, cast):
    sign_in(client, cast.owner)
    before = _count_people()
    margaret = cast.margaret
    rows = [_row(1), _row(2), _row(3, email=margaret.email, external_id="")]
    page, client_import = _preview(client, _csv(rows))
    content = page.content.decode()
    assert page.status_code == 200
    assert "2 new records to add" in content
    assert "1 record to update" in content
    assert "Import all" in content
    assert client_import.state == ImportState.READY
    assert (client_import.to_create, client_import.to_update) == (2, 1)
    assert _count_people() == before


@pytest.mark.parametrize(
    ("content", "what"),
    [
        pytest.param(b"\xef\xbb\xbf" + _csv([_row(1)]).encode(), "BOM", id="utf8-bom"),
        pytest.param(_csv([_row(1)], delimiter=";").encode(), "semicolon", id="semicolon"),
        # Excel's "CSV (Comma delimited)": Windows-1252, CRLF, a quoted cell with a comma.
        pytest.param(
            _csv([_row(1, first_name="Zoë", address="1 Main St, Apt 2\nSpringfield")]).encode(
                "cp1252"
            ),
            "excel",
            id="excel-cp1252",
        ),
    ],
)
def test_it_reads_the_files_spreadsheets_write(client, cast, content, what):
    sign_in(client, cast.owner)
    page, client_import = _preview(client, content)
    assert client_import.state == ImportState.READY, client_import.errors
    assert client_import.to_create == 1
    assert client_import.rows[0]["first_name"] in ("Iris1", "Zoë")


def test_it_names_the_line_and_the_column_of_each_error(client, cast):
    sign_in(client, cast.owner)
    rows = [_row(n) for n in range(1, 13)] + [_row(13, date_of_birth="2026-02-30")]
    page, client_import = _preview(client, _csv(rows))
    content = page.content.decode()
    # The header is line 1: the 13th client is on line 14.
    assert "Line 14, date_of_birth: 2026-02-30 is not a date" in content
    assert "Nothing has been saved" in content
    assert "Import all" not in content
    assert client_import.state == ImportState.REFUSED
    assert not Client.objects.filter(last_name="Import").exists()


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"first_name": '=HYPERLINK("http://x")'}, "Line 2, first_name:"),
        ({"contact_1_name": "@SUM(A1)"}, "Line 2, contact_1_name:"),
        ({"address": "-2+3"}, "which a spreadsheet runs as a formula"),
        ({"phone": "+1 555 0100", "contact_1_phone": "=1+1"}, "Line 2, contact_1_phone:"),
        ({"email": "not-an-email"}, "Line 2, email: Enter a valid email address."),
        ({"status": "gone"}, "Line 2, status: gone is not a status"),
        ({"last_name": ""}, "Line 2, last_name: This field cannot be blank."),
        ({"contact_1_relationship": ""}, "Line 2, contact_1_relationship:"),
    ],
)
def test_it_refuses_bad_cells_and_saves_nothing(client, cast, cells, expected):
    sign_in(client, cast.owner)
    before = _count_people()
    page, client_import = _preview(client, _csv([_row(1, **cells)]))
    assert expected in page.content.decode()
    assert client_import.state == ImportState.REFUSED
    assert client.post(reverse("backoffice:imports_clientimport_import", args=[client_import.pk]))
    assert ClientImport.objects.get().state == ImportState.REFUSED
    assert _count_people() == before


def test_it_refuses_an_email_of_another_agencys_person(client, cast):
    sign_in(client, cast.owner)
    before = _count_people()
    rows = [_row(1, email=cast.hank.email.upper()), _row(2, contact_1_email=cast.hank.email)]
    page, client_import = _preview(client, _csv(rows))
    content = page.content.decode()
    assert f"Line 2, email: {cast.hank.email.upper()} belongs to a person of another agency" in (
        content
    )
    assert "Line 3, contact_1_email:" in content
    assert _count_people() == before


def test_it_refuses_a_row_repeated_in_the_file(client, cast):
    sign_in(client, cast.owner)
    page, _import = _preview(client, _csv([_row(1), _row(2, external_id="X-1")]))
    assert "Line 3, external_id: X-1 is already on line 2." in page.content.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            _csv([_row(1)], columns=(*clients.COLUMNS[:-1], "shoe_size")),
            "These columns are missing: contact_2_phone. "
            "These columns are not in the template: shoe_size.",
            id="wrong-columns",
        ),
        pytest.param(bytes(range(256)) * 40, "This file is not a CSV text file", id="garbage"),
        pytest.param(b"", "The submitted file is empty.", id="empty"),
        pytest.param(_csv([]), "This file has the column names but no rows.", id="no-rows"),
        # Excel's empty sheet saved as "CSV UTF-8": a byte order mark alone.
        pytest.param(b"\xef\xbb\xbf", "This file is empty.", id="byte-order-mark-only"),
        pytest.param(b"\xef\xbb\xbf\r\n", "This file is empty.", id="byte-order-mark-line"),
        pytest.param(
            # A quotation mark opened in the third line's first_name and never closed.
            _csv([_row(1), _row(2), _row(3)]).replace(",Iris2,", ',"Iris2,'),
            "Line 3 cannot be read: a cell there starts with a quotation mark",
            id="unclosed-quote",
        ),
        pytest.param(
            _csv([_row(1, first_name='"Iris" Ann')]).replace('"""Iris"" Ann"', '"Iris" Ann'),
            "Line 2 cannot be read: a cell there starts with a quotation mark",
            id="text-after-a-closing-quote",
        ),
    ],
)
def test_it_refuses_a_bad_file_with_a_clear_message(client, cast, content, message):
    sign_in(client, cast.owner)
    before = _count_people()
    response = _upload(client, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ClientImport.objects.exists()
    assert _count_people() == before


def test_it_refuses_a_file_that_is_too_large(client, cast, monkeypatch):
    monkeypatch.setattr(cells, "MAX_BYTES", 1000)
    sign_in(client, cast.owner)
    response = _upload(client, _csv([_row(n) for n in range(20)]))
    assert "This file is too large." in response.content.decode()
    assert not ClientImport.objects.exists()
    # Past the form, the reader refuses it as well.
    with pytest.raises(cells.FileRefused, match="too large"):
        clients.read_rows(b"x" * 1001)


def test_it_imports_clients_and_contacts_with_logins_and_invitations(client, cast):
    sign_in(client, cast.owner)
    _page, client_import = _preview(client, _csv([_row(1), _row(2)]))
    response = client.post(
        reverse("backoffice:imports_clientimport_import", args=[client_import.pk])
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "The import is waiting to start." in page
    progress = reverse("backoffice:imports_clientimport_progress", args=[client_import.pk])
    assert polling(page) == f"{progress}?seen=queued-0"  # the page asks until it is over
    assert not Client.objects.filter(last_name="Import").exists()
    assert DBTaskResult.objects.filter(task_path__endswith="run_client_import").count() == 1

    assert run_due_tasks() == 1

    client_import.refresh_from_db()
    assert client_import.state == ImportState.DONE
    assert (client_import.created, client_import.updated, client_import.skipped) == (2, 0, 0)
    # Two clients, two contacts with an email: four invitations.
    assert client_import.invitations_queued == 4
    iris = Client.objects.get(external_id="X-1")
    assert iris.agency == cast.sunrise
    assert iris.user is not None and iris.user.email == "iris1@mail.example"
    ivy, ian = iris.emergency_contacts.order_by("name").reverse()
    assert ivy.user is not None and Invitation.objects.filter(user=ivy.user).exists()
    assert (ian.relationship, ian.relationship_other) == (Relationship.OTHER, "Godson")
    assert ian.user is None
    assert AuditEvent.objects.filter(action="client_import.imported").count() == 1
    page = client.get(reverse("backoffice:imports_clientimport_change", args=[client_import.pk]))
    content = page.content.decode()
    assert "2 records created" in content
    assert "4 invitations queued" in content
    assert "every 2s" not in content


def test_it_updates_by_external_id_on_a_second_import(cast):
    first = services.preview_client_import(
        agency=cast.sunrise, data=_csv([_row(1)]).encode(), file_name="a.csv", actor=cast.owner
    )
    services.start_client_import(client_import=first)
    assert tasks.run_client_import.call(first.pk) == ImportState.DONE
    iris = Client.objects.get(external_id="X-1")
    invitations = Invitation.objects.count()

    again = [_row(1, first_name="Irene", phone="555 0199"), _row(2)]
    second = services.preview_client_import(
        agency=cast.sunrise, data=_csv(again).encode(), file_name="b.csv", actor=cast.owner
    )
    assert (second.to_create, second.to_update, second.to_skip) == (1, 1, 0)
    services.start_client_import(client_import=second)
    tasks.run_client_import.call(second.pk)
    second.refresh_from_db()
    assert (second.created, second.updated) == (1, 1)
    iris.refresh_from_db()
    assert (iris.first_name, iris.phone) == ("Irene", "555 0199")
    # The same contacts, not new ones; only the new client and contact are invited.
    assert iris.emergency_contacts.count() == 2
    assert Invitation.objects.count() == invitations + 2

    third = services.preview_client_import(
        agency=cast.sunrise, data=_csv(again).encode(), file_name="c.csv", actor=cast.owner
    )
    assert (third.to_create, third.to_update, third.to_skip) == (0, 0, 2)


def test_it_saves_nothing_when_a_row_fails_at_import_time(client, cast):
    rows = [_row(n) for n in range(1, 4)]
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv(rows).encode(), file_name="a.csv", actor=cast.owner
    )
    services.start_client_import(client_import=client_import)
    # Between the preview and the import, another agency's person takes the third email.
    Client.objects.create(agency=cast.harbor, first_name="Late", last_name="Comer",
                          email="iris3@mail.example")  # fmt: skip
    before = _count_people()
    assert tasks.run_client_import.call(client_import.pk) == ImportState.FAILED
    client_import.refresh_from_db()
    assert client_import.state == ImportState.FAILED
    assert client_import.failure.startswith("Your agency's records changed after the file was")
    assert "Line 4, email: iris3@mail.example belongs to" in client_import.failure
    sign_in(client, cast.owner)
    page = client.get(reverse("backoffice:imports_clientimport_change", args=[client_import.pk]))
    assert "Nothing was imported, and nothing was saved." in page.content.decode()
    assert "Check this file again" in page.content.decode()
    assert "Line 4, email: iris3@mail.example belongs to" in page.content.decode()
    assert _count_people() == before
    assert not Client.objects.filter(last_name="Import").exists()
    assert not AuditEvent.objects.filter(action="client_import.imported").exists()
    # Started once only.
    with pytest.raises(services.ImportNotReady):
        services.start_client_import(client_import=client_import)


def test_it_shows_the_progress_and_answers_nothing_while_it_has_not_moved(client, cast):
    sign_in(client, cast.owner)
    client_import = ClientImport.objects.create(
        agency=cast.sunrise, file_name="big.csv", state=ImportState.RUNNING, progress=40
    )
    url = reverse("backoffice:imports_clientimport_progress", args=[client_import.pk])
    response = client.get(url, {"seen": "running-20"})
    content = response.content.decode()
    assert response.status_code == 200
    assert '<progress id="import-progress" max="100" value="40">' in content
    assert "40% done" in content
    assert client.get(url, {"seen": "running-40"}).status_code == 204
    ClientImport.objects.filter(pk=client_import.pk).update(state=ImportState.DONE, created=7)
    content = client.get(url, {"seen": "running-40"}).content.decode()
    assert "7 records created" in content
    assert polling(content) is None  # over: the page stops asking


def test_it_reports_progress_while_importing(cast, monkeypatch):
    monkeypatch.setattr(clients, "BATCH", 2)
    client_import = services.preview_client_import(
        agency=cast.sunrise,
        data=_csv([_row(n) for n in range(1, 11)]).encode(),
        file_name="a.csv",
        actor=cast.owner,
    )
    seen: list[int] = []
    services.import_rows(client_import=client_import, on_progress=seen.append)
    assert seen == [20, 40, 60, 80, 99]
    assert ClientImport.objects.get().progress == 100


@pytest.mark.parametrize("who", ["scheduler", "billing"])
def test_it_hides_the_import_from_other_staff_roles(client, cast, who):
    sign_in(client, getattr(cast, who))
    client_import = ClientImport.objects.create(agency=cast.sunrise, file_name="a.csv")
    for url in (
        LIST,
        ADD,
        TEMPLATE,
        reverse("backoffice:imports_clientimport_export", args=["clients"]),
        reverse("backoffice:imports_clientimport_change", args=[client_import.pk]),
        reverse("backoffice:imports_clientimport_progress", args=[client_import.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("backoffice:imports_clientimport_import", args=[client_import.pk])
    )
    assert response.status_code == 404
    assert _upload(client, _csv([_row(1)])).status_code == 404
    assert ClientImport.objects.count() == 1


def test_it_lets_an_administrator_import(client, cast):
    sign_in(client, cast.administrator)
    _page, client_import = _preview(client, _csv([_row(1)]))
    assert client_import.uploaded_by == cast.administrator
    assert client_import.agency == cast.sunrise


def test_it_answers_another_agencys_import_like_a_missing_one(client, cast):
    theirs = ClientImport.objects.create(
        agency=cast.harbor, file_name="harbor.csv", rows=[_row(1) | {"line": 2}]
    )
    sign_in(client, cast.owner)
    for name in ("progress",):
        url = reverse(f"backoffice:imports_clientimport_{name}", args=[theirs.pk])
        assert client.get(url).status_code == 404
    response = client.post(reverse("backoffice:imports_clientimport_import", args=[theirs.pk]))
    assert response.status_code == 404
    change = client.get(reverse("backoffice:imports_clientimport_change", args=[theirs.pk]))
    missing = client.get(reverse("backoffice:imports_clientimport_change", args=[987654]))
    assert change.status_code == missing.status_code == 302
    assert change["Location"] == missing["Location"]
    assert "harbor.csv" not in client.get(LIST).content.decode()
    theirs.refresh_from_db()
    assert theirs.state == ImportState.READY


def test_it_links_a_contact_to_the_login_their_email_already_has(cast):
    ellen = cast.ellen
    rows = [
        _row(1, contact_1_email=ellen.email.upper()),
        _row(2, contact_1_email="shared@mail.example", contact_2_email="shared@mail.example"),
        _row(3, contact_1_email="shared@mail.example"),
    ]
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv(rows).encode(), file_name="a.csv", actor=cast.owner
    )
    assert client_import.state == ImportState.READY, client_import.errors
    services.start_client_import(client_import=client_import)
    assert services.run_import(client_import.pk) == ImportState.DONE
    ivy = EmergencyContact.objects.get(client__external_id="X-1", name="Ivy1 Import")
    assert ivy.user == ellen
    shared = EmergencyContact.objects.filter(email="shared@mail.example")
    assert shared.count() == 3
    assert len({contact.user_id for contact in shared}) == 1
    assert Invitation.objects.filter(user=shared.first().user).count() == 1
    events = AuditEvent.objects.filter(action="party.created", agency=cast.sunrise)
    assert events.count() == 3 + 6


def test_it_refuses_two_rows_that_stand_for_the_same_client(cast):
    margaret = cast.margaret
    margaret.external_id = "C-1"
    margaret.save()
    names = {"first_name": "Margaret", "last_name": "Hale"}
    rows = [
        _row(1, external_id="C-1", email="margaret.new@mail.example", **names),
        # The old email, no external_id: Margaret again, whose email the row above changes.
        _row(2, external_id="", email=margaret.email, **names),
    ]
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv(rows).encode(), file_name="a.csv", actor=cast.owner
    )
    assert client_import.state == ImportState.REFUSED
    assert [services.describe(error) for error in client_import.errors] == [
        "Line 3, email: Line 2 already stands for this client."
    ]


def test_it_gives_an_email_to_the_stored_contact_of_the_same_name(cast):
    margaret = cast.margaret
    margaret.external_id = "C-1"
    margaret.save()
    EmergencyContact.objects.create(agency=cast.sunrise, client=margaret, name="Ellen B",
                                    relationship=Relationship.NIECE)  # fmt: skip
    row = _row(1, external_id="C-1", first_name="Margaret", last_name="Hale",
               email=margaret.email, contact_1_name="ellen b", contact_1_relationship="niece",
               contact_1_email="ellen.b@mail.example", contact_2_name="",
               contact_2_relationship="", contact_2_phone="")  # fmt: skip
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv([row]).encode(), file_name="a.csv", actor=cast.owner
    )
    assert (client_import.to_create, client_import.to_update) == (0, 1)
    services.start_client_import(client_import=client_import)
    assert services.run_import(client_import.pk) == ImportState.DONE
    ellen_b = EmergencyContact.objects.get(client=margaret, name__iexact="Ellen B")
    assert ellen_b.email == "ellen.b@mail.example"
    assert ellen_b.user is not None
    assert Invitation.objects.filter(user=ellen_b.user).count() == 1


def test_it_imports_two_clients_who_share_an_email_when_each_has_an_external_id(cast):
    couple = "the.hales@mail.example"
    rows = [_row(1, email=couple), _row(2, email=couple)]
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv(rows).encode(), file_name="a.csv", actor=cast.owner
    )
    assert client_import.state == ImportState.READY, client_import.errors
    services.start_client_import(client_import=client_import)
    assert services.run_import(client_import.pk) == ImportState.DONE
    iris1, iris2 = Client.objects.filter(email=couple).order_by("external_id")
    assert (iris1.external_id, iris2.external_id) == ("X-1", "X-2")
    # Each client has a login of their own.
    assert iris1.user is not None and iris2.user is not None and iris1.user != iris2.user
    # Without an external_id, the email is how a row finds its client: it must be once.
    rows = [_row(3, external_id="", email="pair@mail.example"),
            _row(4, external_id="", email="pair@mail.example")]  # fmt: skip
    refused = services.preview_client_import(
        agency=cast.sunrise, data=_csv(rows).encode(), file_name="b.csv", actor=cast.owner
    )
    assert [services.describe(error) for error in refused.errors] == [
        "Line 3, email: pair@mail.example is already on line 2."
    ]


def test_it_plans_stored_clients_and_contacts_with_a_few_queries(
    cast, django_assert_max_num_queries
):
    logins = User.objects.bulk_create(
        User(agency=cast.sunrise, username=f"kin{n}", email=f"kin{n}@mail.example")
        for n in range(200)
    )
    stored = Client.objects.bulk_create(
        Client(
            agency=cast.sunrise,
            external_id=f"M-{n}",
            first_name=f"Mae{n}",
            last_name="Many",
            email=f"mae{n}@mail.example",
        )  # fmt: skip
        for n in range(100)
    )
    EmergencyContact.objects.bulk_create(
        EmergencyContact(
            agency=cast.sunrise,
            client=stored[n // 2],
            name=login.username,
            relationship=Relationship.SON,
            email=login.email,
            user=login,
        )  # fmt: skip
        for n, login in enumerate(logins)
    )
    out = io.StringIO()
    csv.writer(out).writerows(clients.export_rows(cast.sunrise))
    rows = clients.read_rows(out.getvalue().encode())
    assert len(rows) == 105

    with django_assert_max_num_queries(12):
        planned = clients.plan_rows(cast.sunrise, rows)

    assert {row.action for row in planned} == {"skip"}
    assert not [error for row in planned for error in row.errors]


def test_it_records_the_administrator_who_pressed_import_all(client, cast):
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv([_row(1)]).encode(), file_name="a.csv", actor=cast.owner
    )
    sign_in(client, cast.administrator)
    client.post(reverse("backoffice:imports_clientimport_import", args=[client_import.pk]))

    assert run_due_tasks() == 1

    client_import.refresh_from_db()
    assert (client_import.uploaded_by, client_import.started_by) == (
        cast.owner,
        cast.administrator,
    )
    imported = AuditEvent.objects.get(action="client_import.imported")
    assert imported.actor == cast.administrator
    created = AuditEvent.objects.filter(action="party.created", agency=cast.sunrise)
    assert created.count() == 3
    assert {event.actor for event in created} == {cast.administrator}
