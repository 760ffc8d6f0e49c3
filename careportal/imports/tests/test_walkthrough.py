"""What a new administrator meets on the Imports pages: the template as it is, a file with
errors, a failed import, the summary, the headings and the words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from careportal.backoffice.tests.conftest import sign_in
from careportal.imports import kinds, services, tasks
from careportal.imports.models import ClientImport, ImportState
from careportal.imports.tests.test_import import _count_people, _csv, _preview, _row, _upload
from careportal.people.models import Client

ADD = reverse("backoffice:imports_clientimport_add")
LIST = reverse("backoffice:imports_clientimport_changelist")


def _page(browser, client_import: ClientImport) -> str:
    url = reverse("backoffice:imports_clientimport_change", args=[client_import.pk])
    return browser.get(url).content.decode()


def _failed_import(cast) -> ClientImport:
    """Return an import that failed: between its check and its import, an email was taken."""
    client_import = services.preview_client_import(
        agency=cast.sunrise, data=_csv([_row(1), _row(2)]).encode(), file_name="a.csv",
        actor=cast.owner,
    )  # fmt: skip
    services.start_client_import(client_import=client_import, actor=cast.owner)
    Client.objects.create(agency=cast.harbor, first_name="Late", last_name="Comer",
                          email="iris2@mail.example")  # fmt: skip
    tasks.run_client_import.call(client_import.pk)
    client_import.refresh_from_db()
    return client_import


@pytest.mark.parametrize("name", list(kinds.KINDS))
def test_it_refuses_each_kinds_template_uploaded_as_it_is(client, cast, name):
    sign_in(client, cast.owner)
    template = reverse("backoffice:imports_clientimport_template", args=[name])
    data = client.get(template).content
    response = _upload(client, data, name="template.csv", kind=name)
    assert response.status_code == 302
    client_import = ClientImport.objects.get()
    assert client_import.state == ImportState.REFUSED
    content = _page(client, client_import)
    assert (
        "Line 2: This row is the template&#x27;s example: delete it (or change it to a real "
        "record)." in content
    )


def test_it_does_not_show_a_file_with_errors_counts_as_what_will_happen(client, cast):
    sign_in(client, cast.owner)
    page, _client_import = _preview(client, _csv([_row(1), _row(2, date_of_birth="soon")]))
    content = page.content.decode()
    assert "Once the errors are fixed, the file would do this:" in content
    assert content.index("This file has errors.") < content.index("new records to add")


def test_it_shows_the_counts_plainly_for_a_file_without_errors(client, cast):
    sign_in(client, cast.owner)
    page, _client_import = _preview(client, _csv([_row(1)]))
    assert "Once the errors are fixed" not in page.content.decode()
    assert "1 new record to add" in page.content.decode()


def test_it_checks_a_failed_import_again_without_a_new_upload(client, cast):
    failed = _failed_import(cast)
    assert failed.state == ImportState.FAILED
    sign_in(client, cast.owner)
    content = _page(client, failed)
    assert "Your agency&#x27;s records changed after the file was checked" in content
    assert "Check this file again" in content
    recheck = reverse("backoffice:imports_clientimport_recheck", args=[failed.pk])
    response = client.post(recheck)
    preview = ClientImport.objects.latest("pk")
    assert response["Location"] == reverse(
        "backoffice:imports_clientimport_change", args=[preview.pk]
    )
    assert preview.pk != failed.pk
    assert (preview.state, preview.file_name) == (ImportState.REFUSED, "a.csv")
    assert "Line 3, email: iris2@mail.example" in _page(client, preview)


def test_it_hides_check_again_when_the_rows_are_gone(client, cast):
    failed = _failed_import(cast)
    ClientImport.objects.filter(pk=failed.pk).update(rows=[])
    sign_in(client, cast.owner)
    assert "Check this file again" not in _page(client, failed)
    response = client.post(reverse("backoffice:imports_clientimport_recheck", args=[failed.pk]))
    assert response["Location"] == ADD
    assert ClientImport.objects.count() == 1


def test_it_answers_a_strangers_check_again_with_404(client, cast):
    failed = _failed_import(cast)
    sign_in(client, cast.harriet)
    response = client.post(reverse("backoffice:imports_clientimport_recheck", args=[failed.pk]))
    assert response.status_code == 404
    assert ClientImport.objects.count() == 1


def test_it_leads_on_from_the_summary(client, cast):
    sign_in(client, cast.owner)
    _page_before, client_import = _preview(client, _csv([_row(1)]))
    client.post(reverse("backoffice:imports_clientimport_import", args=[client_import.pk]))
    tasks.run_client_import.call(client_import.pk)
    content = _page(client, client_import)
    assert f'href="{reverse("backoffice:people_client_changelist")}"' in content
    assert f'href="{reverse("backoffice:invitations_invitation_changelist")}"' in content
    assert f'href="{ADD}">Import another file' in content
    assert f'href="{LIST}">Back to imports' in content
    assert "invitations queued" in content


def test_it_names_no_invitations_for_a_kind_that_cannot_invite(client, cast):
    client_import = ClientImport.objects.create(
        agency=cast.sunrise, kind="visits", file_name="v.csv", state=ImportState.DONE, created=2
    )
    sign_in(client, cast.owner)
    content = _page(client, client_import)
    assert f'href="{reverse("backoffice:scheduling_visit_changelist")}"' in content
    assert "invitation" not in content.lower().split("import-summary")[1]


@pytest.mark.parametrize(
    ("state", "heading"),
    [
        (ImportState.READY, "Preview of a.csv"),
        (ImportState.QUEUED, "Importing a.csv"),
        (ImportState.RUNNING, "Importing a.csv"),
        (ImportState.DONE, "Imported a.csv"),
        (ImportState.FAILED, "a.csv was not imported"),
    ],
)
def test_it_heads_the_page_by_the_imports_state(client, cast, state, heading):
    client_import = ClientImport.objects.create(agency=cast.sunrise, file_name="a.csv", state=state)
    sign_in(client, cast.owner)
    assert f'<h1 id="import-heading">{heading}</h1>' in _page(client, client_import)
    progress = reverse("backoffice:imports_clientimport_progress", args=[client_import.pk])
    polled = client.get(progress).content.decode()
    assert f'<h1 id="import-heading" hx-swap-oob="true">{heading}</h1>' in polled


def test_it_titles_the_list_imports(client, cast):
    sign_in(client, cast.owner)
    content = client.get(LIST).content.decode()
    assert "<h1>Imports</h1>" in content
    assert "Select import to change" not in content


def test_it_shows_both_ways_of_writing_a_date(client, cast):
    sign_in(client, cast.owner)
    assert "1942-03-18 or 03/18/1942" in client.get(ADD).content.decode()


def test_it_ties_the_files_error_to_the_field(client, cast):
    sign_in(client, cast.owner)
    content = _upload(client, b"").content.decode()
    assert 'id="id_file_error"' in content
    assert 'aria-describedby="id_file_error id_file_help" aria-invalid="true"' in content
    assert "aria-invalid" not in client.get(ADD).content.decode()


def test_it_keeps_the_check_again_link_outside_the_polled_part(client, cast):
    client_import = ClientImport.objects.create(
        agency=cast.sunrise, file_name="a.csv", state=ImportState.RUNNING
    )
    sign_in(client, cast.owner)
    content = _page(client, client_import)
    assert "Check again" in content
    progress = reverse("backoffice:imports_clientimport_progress", args=[client_import.pk])
    assert "Check again" not in client.get(progress).content.decode()


def test_it_writes_a_failure_in_the_language_of_who_started_it(cast):
    cast.owner.language = "es"
    cast.owner.save()
    before = _count_people()
    failed = _failed_import(cast)
    assert failed.state == ImportState.FAILED
    assert "Line 3" not in failed.failure
    assert "Línea 3" in failed.failure
    assert _count_people()[0] == before[0] + 1  # the late comer alone
