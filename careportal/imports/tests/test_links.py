"""Import and export the links: a client's payers and the communities a client lives in."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.imports import links, services
from careportal.imports.models import ClientImport, ImportState
from careportal.people.models import ClientPayer, Payer, Residence

ADD = reverse("backoffice:imports_clientimport_add")
EXPORT = reverse("backoffice:imports_clientimport_export", args=["links"])


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(links.COLUMNS)
    for row in rows:
        writer.writerow([row.get(name, "") for name in links.COLUMNS])
    return out.getvalue()


def _link(**cells: str) -> dict[str, str]:
    row = {
        "client_external_id": "M-1",
        "kind": "payer",
        "payer_or_community_name": "Hale Family Trust",
        "start_date": "2026-01-01",
    }
    row.update(cells)
    return row


@pytest.fixture
def cast(cast):
    cast.margaret.external_id = "M-1"
    cast.margaret.save()
    return cast


def _preview(browser, content: str):
    data = SimpleUploadedFile("links.csv", content.encode(), "text/csv")
    response = browser.post(ADD, {"kind": "links", "file": data})
    assert response.status_code == 302, response.content.decode()[:3000]
    return browser.get(response["Location"]), ClientImport.objects.latest("pk")


def _import(content: str | bytes, cast) -> ClientImport:
    data = content.encode() if isinstance(content, str) else content
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=data, file_name="links.csv", actor=cast.owner, kind="links"
    )
    assert client_import.state == ImportState.READY, client_import.errors
    services.start_client_import(client_import=client_import)
    assert services.run_import(client_import.pk) == ImportState.DONE
    client_import.refresh_from_db()
    return client_import


def test_it_creates_and_updates_links_and_skips_them_the_second_time(client, cast):
    rosa_moved_in = Residence.objects.get(client=cast.rosa).start_date
    rows = [
        _link(),
        _link(client_external_id="", client_email=cast.sam.email, kind="Community",
              payer_or_community_name="maple grove", start_date="03/01/2026",
              end_date="2026-06-30"),
        _link(client_external_id="", client_email=cast.rosa.email, kind="community",
              payer_or_community_name="Maple Grove", start_date=rosa_moved_in.isoformat(),
              end_date="2026-12-31"),
    ]  # fmt: skip
    sign_in(client, cast.owner)
    page, client_import = _preview(client, _csv(rows))
    assert "2 new records to add" in page.content.decode()
    assert "1 record to update" in page.content.decode()
    assert not ClientPayer.objects.filter(client=cast.margaret, payer=cast.trust).exists()

    client_import = _import(_csv(rows), cast)
    assert (client_import.created, client_import.updated, client_import.skipped) == (2, 1, 0)
    link = ClientPayer.objects.get(client=cast.margaret, payer=cast.trust)
    assert (link.agency, link.start_date, link.end_date) == (
        cast.sunrise, datetime.date(2026, 1, 1), None
    )  # fmt: skip
    sam = Residence.objects.get(client=cast.sam, start_date=datetime.date(2026, 3, 1))
    assert (sam.community, sam.end_date) == (cast.maple, datetime.date(2026, 6, 30))
    rosa = Residence.objects.get(client=cast.rosa)
    assert rosa.end_date == datetime.date(2026, 12, 31)
    assert AuditEvent.objects.filter(action="link.created").count() == 2
    assert AuditEvent.objects.get(action="link.changed").object_id == str(rosa.pk)

    second = _import(_csv(rows), cast)
    assert (second.created, second.updated, second.skipped) == (0, 0, 3)
    assert ClientPayer.objects.filter(client=cast.margaret).count() == 2


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"client_external_id": "NOPE"},
         "Line 2, client_external_id: No client of this agency has the external id NOPE."),
        ({"client_external_id": "", "client_email": "hank.harbor@mail.example"},
         "Line 2, client_email: No client of this agency has the email hank.harbor@mail.example."),
        ({"client_external_id": ""}, "Line 2, client_external_id: Give the client"),
        ({"payer_or_community_external_id": "HARBOR-PAYER"},
         "Line 2, payer_or_community_external_id: No payer of this agency has the external id"),
        ({"payer_or_community_name": "Harbor Mutual"},
         "Line 2, payer_or_community_name: No payer of this agency is named Harbor Mutual."),
        ({"kind": "community"},
         "Line 2, payer_or_community_name: No community of this agency is named Hale Family"),
        ({"kind": "insurer"}, "Line 2, kind: insurer is not a kind of link (payer or community)."),
        ({"start_date": "2026-02-30"}, "Line 2, start_date: 2026-02-30 is not a date"),
        ({"start_date": ""}, "Line 2, start_date: Give the day the link starts"),
        ({"end_date": "2025-12-31"}, "Line 2, end_date: The end date is before the start date."),
        ({"payer_or_community_name": "=cmd()"}, "Line 2, payer_or_community_name: =cmd() starts"),
    ],
)  # fmt: skip
def test_it_names_the_line_and_column_of_each_error(client, cast, cells, expected):
    Payer.objects.create(agency=cast.harbor, name="Harbor Mutual", external_id="HARBOR-PAYER")
    sign_in(client, cast.owner)
    links_before = ClientPayer.objects.count()
    page, client_import = _preview(client, _csv([_link(**cells)]))
    assert expected in page.content.decode()
    assert client_import.state == ImportState.REFUSED
    assert ClientPayer.objects.count() == links_before


def test_it_refuses_a_link_twice_in_the_file(client, cast):
    sign_in(client, cast.owner)
    page, _import = _preview(client, _csv([_link(), _link(end_date="2026-02-01")]))
    assert "Line 3: This link is already on line 2." in page.content.decode()


def _export(browser) -> tuple[list[list[str]], bytes]:
    response = browser.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="links.csv"'
    data = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")))), data


def test_it_exports_the_links_and_brings_them_back_unchanged(client, cast):
    sign_in(client, cast.owner)
    rows, data = _export(client)
    assert rows[0] == list(links.COLUMNS)
    exported = [dict(zip(links.COLUMNS, row, strict=True)) for row in rows[1:]]
    assert len(exported) == ClientPayer.objects.filter(agency=cast.sunrise).count() + 2
    margaret = next(row for row in exported if row["client_external_id"] == "M-1")
    assert (margaret["kind"], margaret["payer_or_community_name"]) == (
        "payer", "Atlas Long-Term Care"
    )  # fmt: skip
    assert AuditEvent.objects.filter(action="links.exported", agency=cast.sunrise).count() == 1

    client_import = _import(data, cast)
    assert (client_import.created, client_import.updated) == (0, 0)
    assert client_import.skipped == len(exported)


def test_it_exports_only_the_own_agencys_links(client, cast):
    harbor_payer = Payer.objects.create(agency=cast.harbor, name="Harbor Mutual")
    ClientPayer.objects.create(agency=cast.harbor, client=cast.hank, payer=harbor_payer)
    sign_in(client, cast.harriet)
    rows, _data = _export(client)
    assert [row[4] for row in rows[1:]] == ["Harbor Mutual"]
    assert rows[1][1] == cast.hank.email
