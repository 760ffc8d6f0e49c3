"""The kinds of file in the back office: the choice on the upload page, templates, exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.imports import kinds
from careportal.imports.models import ClientImport

ADD = reverse("backoffice:imports_clientimport_add")
LIST = reverse("backoffice:imports_clientimport_changelist")
KIND_NAMES = list(kinds.KINDS)


def _template(name: str) -> str:
    return reverse("backoffice:imports_clientimport_template", args=[name])


def _export(name: str) -> str:
    return reverse("backoffice:imports_clientimport_export", args=[name])


def test_it_asks_which_kind_of_file_with_clients_first_and_checked(client, cast):
    sign_in(client, cast.owner)
    content = client.get(ADD).content.decode()
    assert "Which kind of file is it?" in content
    assert (
        '<input type="radio" name="kind" value="clients" id="id_kind_0" required checked>'
        in content
    )
    labels = [str(kind.label) for kind in kinds.KINDS.values()]
    assert labels[:4] == [
        "Clients with their emergency contacts",
        "Payers with their people",
        "Communities with their people",
        "Clients' payers and communities",
    ]
    choices = content.index("<legend>")
    positions = [content.index(label.replace("'", "&#x27;"), choices) for label in labels]
    assert positions == sorted(positions)
    response = client.post(ADD, {"kind": "horses"})
    assert "Select a valid choice. horses is not one of the available choices." in (
        response.content.decode()
    )
    assert not ClientImport.objects.exists()


def test_it_lists_a_template_and_an_export_for_each_kind(client, cast):
    sign_in(client, cast.owner)
    content = client.get(LIST).content.decode()
    assert "Import a file" in content
    for name in KIND_NAMES:
        assert f'href="{_template(name)}"' in content
        assert f'href="{_export(name)}"' in content


@pytest.mark.parametrize("name", KIND_NAMES)
def test_it_downloads_each_kinds_template_with_its_columns_and_examples(client, cast, name):
    kind = kinds.kind_of(name)
    sign_in(client, cast.owner)
    response = client.get(_template(name))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{name}-template.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(kind.columns)
    assert len(rows) == 1 + len(kind.example_rows)
    assert all(len(row) == len(kind.columns) for row in rows)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_it_audits_each_kinds_export(client, cast, name):
    sign_in(client, cast.owner)
    response = client.get(_export(name))
    assert response.status_code == 200
    header = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert header.split(",") == list(kinds.kind_of(name).columns)
    event = AuditEvent.objects.get(action=f"{name}.exported")
    assert (event.agency, event.actor) == (cast.sunrise, cast.owner)


def test_it_answers_an_unknown_kind_like_a_missing_page(client, cast):
    sign_in(client, cast.owner)
    assert client.get(_template("horses")).status_code == 404
    assert client.get(_export("horses")).status_code == 404
    assert not AuditEvent.objects.filter(action__endswith=".exported").exists()


@pytest.mark.parametrize("who", ["scheduler", "billing"])
def test_it_hides_every_kinds_template_and_export_from_other_roles(client, cast, who):
    sign_in(client, getattr(cast, who))
    for name in KIND_NAMES:
        assert client.get(_template(name)).status_code == 404
        assert client.get(_export(name)).status_code == 404
    assert not AuditEvent.objects.filter(action__endswith=".exported").exists()
