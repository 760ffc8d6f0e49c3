"""A copy of my record: asked for by the client, built in the background, downloaded by her
alone, announced by an email without health information, deleted after 7 days."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from post_office.models import Email

from careportal.audit.models import AuditEvent
from careportal.builders import make_invoice, make_plan, make_visit
from careportal.emails.delivery import run_due_tasks
from careportal.privacy import tasks
from careportal.privacy.models import CopyState, RecordCopy
from tests.cast import sign_in
from tests.page import live_regions, news, polling

ASK = reverse("privacy:record_ask")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def margaret(cast):
    make_plan(cast.margaret, title="Care at home")
    make_visit(cast.margaret, cast.caregiver, timezone.now() - datetime.timedelta(days=3))
    make_invoice(cast.margaret, caregiver=cast.caregiver, number="SUN-2026-0005")
    return cast.margaret


def ready_copy(client) -> RecordCopy:
    copy = RecordCopy.objects.create(agency=client.agency, client=client, asked_by=client.user)
    tasks.build_record_copy.call(copy.pk)
    copy.refresh_from_db()
    return copy


def urls(copy: RecordCopy) -> list[str]:
    return [
        reverse(f"privacy:record_{name}", args=[copy.pk])
        for name in ("pdf", "fhir", "csv", "progress")
    ]


def test_it_queues_a_copy_when_the_client_asks(client, margaret):
    sign_in(client, margaret.user)

    response = client.post(ASK, follow=True)

    assert response.redirect_chain[0][0].endswith("#record-copy")
    assert "We are making a copy of your record" in response.content.decode()
    copy = RecordCopy.objects.get(client=margaret)
    assert copy.state == CopyState.QUEUED and copy.asked_by == margaret.user
    assert DBTaskResult.objects.filter(task_path__endswith="build_record_copy").count() == 1
    event = AuditEvent.objects.get(action="record_copy.asked")
    assert event.client_id == margaret.pk


def test_it_makes_one_copy_at_a_time(client, margaret):
    sign_in(client, margaret.user)
    client.post(ASK)

    response = client.post(ASK, follow=True)

    assert "already being made" in response.content.decode()
    assert RecordCopy.objects.filter(client=margaret).count() == 1
    # Once it is made, a new one may be asked for.
    tasks.build_record_copy.call(RecordCopy.objects.get().pk)
    client.post(ASK)
    assert RecordCopy.objects.filter(client=margaret).count() == 2


@pytest.mark.parametrize("who", ["contact_ellen", "contact_tom", "payer", "community"])
def test_it_lets_nobody_else_ask(client, cast, who):
    sign_in(client, cast.portal_users[who])

    response = client.post(ASK)

    assert response.status_code == 404
    assert not RecordCopy.objects.exists()


@pytest.mark.parametrize("who", ["stranger", "other_agency_client"])
def test_it_makes_another_client_a_copy_of_their_own_record(client, cast, who):
    user = cast.portal_users[who]
    sign_in(client, user)

    client.post(ASK)

    copy = RecordCopy.objects.get()
    assert copy.client.user == user
    assert copy.agency_id == user.agency_id


def test_it_builds_the_copy_and_writes_its_progress(margaret, monkeypatch):
    copy = RecordCopy.objects.create(agency=margaret.agency, client=margaret)
    seen = []
    save = tasks._save_progress

    def spy(copy, percent):
        save(copy, percent)
        seen.append(RecordCopy.objects.get(pk=copy.pk).progress)

    monkeypatch.setattr(tasks, "_save_progress", spy)

    assert tasks.build_record_copy.call(copy.pk) == "ready"

    copy.refresh_from_db()
    assert copy.state == CopyState.READY and copy.progress == 100
    assert copy.expires_at == copy.built_at + datetime.timedelta(days=7)
    assert 0 < seen[0] < seen[-1] < 100
    for stored in (copy.pdf_file, copy.fhir_file, copy.csv_file):
        assert default_storage.exists(stored.name)
        # A random name (32 random bytes), nothing a person could guess.
        assert len(stored.name.split("/")[-1].split(".")[0]) >= 40
    # Its files are deleted by a task queued for when it expires.
    purge = DBTaskResult.objects.get(task_path__endswith="delete_expired_record_copies")
    assert purge.run_after == copy.expires_at
    # Run twice (a second worker): nothing more happens.
    assert tasks.build_record_copy.call(copy.pk) == "not queued"


def test_it_marks_a_copy_that_could_not_be_made(margaret, monkeypatch):
    copy = RecordCopy.objects.create(agency=margaret.agency, client=margaret)

    def broken(client, progress):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tasks.record, "build_files", broken)

    with pytest.raises(RuntimeError):
        tasks.build_record_copy.call(copy.pk)

    copy.refresh_from_db()
    assert copy.state == CopyState.FAILED
    assert not Email.objects.exists()


def test_it_shows_the_progress_and_stops_polling_when_ready(client, margaret):
    sign_in(client, margaret.user)
    copy = RecordCopy.objects.create(
        agency=margaret.agency, client=margaret, state=CopyState.BUILDING, progress=40
    )
    progress = reverse("privacy:record_progress", args=[copy.pk])
    htmx = {"HX-Request": "true"}

    response = client.get(progress, {"seen": "queued-0"}, headers=htmx)

    assert response.status_code == 200
    body = response.content.decode()
    assert "40% done" in body and 'value="40"' in body
    assert polling(body) == f"{progress}?seen=building-40"  # asks again, from this state
    # The words a screen reader hears, in the page's stable live region.
    assert news(body) == {"record-copy-news": "40% done"}
    assert "Ask for a copy of my record" not in body

    # Nothing new: an empty answer, and the page stays as it is.
    response = client.get(progress, {"seen": "building-40"}, headers=htmx)
    assert response.status_code == 204 and response.content == b""

    RecordCopy.objects.filter(pk=copy.pk).update(state=CopyState.QUEUED)
    tasks.build_record_copy.call(copy.pk)
    response = client.get(progress, {"seen": "building-40"}, headers=htmx)

    assert response.status_code == 200
    body = response.content.decode()
    assert polling(body) is None  # the page stops asking
    assert "Your copy is ready." in body
    for name in ("pdf", "fhir", "csv"):
        assert reverse(f"privacy:record_{name}", args=[copy.pk]) in body
    assert "kept until" in body
    assert "Ask for a copy of my record" in body


def test_it_shows_the_section_of_my_privacy(margaret):
    request = RequestFactory().get("/my-privacy/")
    request.user = margaret.user

    body = render_to_string("privacy/_record_copy.html", {"request": request, "record_copy": None})
    assert "You have not asked for a copy yet." in body
    assert "Ask for a copy of my record" in body
    assert polling(body) is None

    copy = RecordCopy.objects.create(agency=margaret.agency, client=margaret)
    body = render_to_string("privacy/_record_copy.html", {"request": request, "record_copy": copy})
    progress = reverse("privacy:record_progress", args=[copy.pk])
    assert polling(body) == f"{progress}?seen=queued-0"
    assert "Your copy is waiting to start." in body
    assert '<label for="record-copy-progress">' in body
    assert live_regions(body)["record-copy-news"] == ""  # read out when the state changes
    assert news(body) == {}
    assert "Ask for a copy of my record" not in body


def test_it_lets_the_client_download_each_file_and_records_each_download(client, margaret):
    copy = ready_copy(margaret)
    sign_in(client, margaret.user)

    pdf = client.get(reverse("privacy:record_pdf", args=[copy.pk]))
    fhir = client.get(reverse("privacy:record_fhir", args=[copy.pk]))
    csv = client.get(reverse("privacy:record_csv", args=[copy.pk]))

    assert pdf.status_code == fhir.status_code == csv.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert pdf["Content-Type"] == "application/pdf"
    assert "attachment" in pdf["Content-Disposition"]
    assert b'"resourceType": "Bundle"' in b"".join(fhir.streaming_content)
    assert fhir["Content-Type"] == "application/fhir+json"
    assert b"".join(csv.streaming_content).startswith(b"PK")
    events = AuditEvent.objects.filter(action="record_copy.downloaded").order_by("id")
    assert [event.detail["format"] for event in events] == ["pdf", "fhir", "csv"]
    assert {event.client_id for event in events} == {margaret.pk}
    assert {event.actor_id for event in events} == {margaret.user.pk}


@pytest.mark.parametrize(
    "who", ["contact_ellen", "contact_tom", "payer", "community", "stranger", "other_agency_client"]
)
def test_it_answers_404_to_every_other_portal_login(client, cast, margaret, who):
    copy = ready_copy(margaret)
    sign_in(client, cast.portal_users[who])

    for url in urls(copy):
        assert client.get(url).status_code == 404, url
    assert not AuditEvent.objects.filter(action="record_copy.downloaded").exists()


@pytest.mark.parametrize("role", ["owner", "administrator", "scheduler", "billing", "harriet"])
def test_it_gives_staff_no_copy(client, cast, margaret, role):
    copy = ready_copy(margaret)
    client.force_login(getattr(cast, role))

    for url in urls(copy):
        response = client.get(url)
        assert response.status_code in (302, 404), url
        assert not getattr(response, "streaming", False)
    assert client.post(ASK).status_code in (302, 404)
    assert RecordCopy.objects.count() == 1


def test_it_answers_404_with_a_message_for_an_expired_copy(client, margaret):
    copy = ready_copy(margaret)
    RecordCopy.objects.filter(pk=copy.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    sign_in(client, margaret.user)

    response = client.get(reverse("privacy:record_pdf", args=[copy.pk]))

    assert response.status_code == 404
    assert "This copy is no longer kept" in response.content.decode()
    assert not AuditEvent.objects.filter(action="record_copy.downloaded").exists()


def test_it_deletes_the_files_of_expired_copies(client, margaret):
    old = ready_copy(margaret)
    new = ready_copy(margaret)
    RecordCopy.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert tasks.delete_expired_copies() == 1

    old.refresh_from_db()
    assert old.state == CopyState.EXPIRED
    assert not old.pdf_file and not old.fhir_file and not old.csv_file
    new.refresh_from_db()
    assert new.state == CopyState.READY
    assert default_storage.exists(new.pdf_file.name)
    assert len(default_storage.listdir("record-copies")[1]) == 3
    sign_in(client, margaret.user)
    response = client.get(reverse("privacy:record_csv", args=[old.pk]))
    assert response.status_code == 404
    assert "no longer kept" in response.content.decode()
    # The task the worker runs when a copy expires does the same.
    RecordCopy.objects.filter(pk=new.pk).update(expires_at=timezone.now())
    assert tasks.delete_expired_record_copies.call() == 1
    assert default_storage.listdir("record-copies")[1] == []


def test_it_emails_the_client_without_health_information(margaret):
    ready_copy(margaret)

    email = Email.objects.get()
    assert email.to == [margaret.user.email]
    text = f"{email.subject}\n{email.message}\n{email.html_message}"
    assert "is ready" in text
    assert reverse("accounts:login") in text
    for secret in (
        "Care at home",
        "Stay safely at home",
        "Bathing",
        "Personal care",
        "Carla",
        "SUN-2026-0005",
        "Hale",
        "care plan",
        "visit",
        "invoice",
    ):
        assert secret.lower() not in text.lower(), secret


def test_it_shows_the_ready_copy_on_my_privacy(client, margaret):
    copy = ready_copy(margaret)
    sign_in(client, margaret.user)

    response = client.get(reverse("privacy:my_privacy"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "A copy of my record" in body
    assert reverse("privacy:record_pdf", args=[copy.pk]) in body
    assert "Download the spreadsheet files" in body
    assert "Ask for a copy of my record" in body


def test_it_is_built_by_the_worker(client, margaret):
    sign_in(client, margaret.user)
    client.post(ASK)

    assert run_due_tasks() == 1  # the purge waits for the copy's 7 days

    copy = RecordCopy.objects.get()
    assert copy.state == CopyState.READY
    assert Email.objects.filter(to=margaret.user.email).exists()


def test_it_gives_up_on_a_copy_whose_worker_stopped(client, margaret):
    stuck = RecordCopy.objects.create(
        agency=margaret.agency,
        client=margaret,
        state=CopyState.BUILDING,
        progress=30,
        asked_at=timezone.now() - datetime.timedelta(hours=2),
    )
    sign_in(client, margaret.user)

    response = client.get(reverse("privacy:my_privacy"))
    assert "We could not make your copy" in response.content.decode()
    client.post(ASK)

    stuck.refresh_from_db()
    assert stuck.state == CopyState.FAILED
    assert RecordCopy.objects.filter(client=margaret, state=CopyState.QUEUED).count() == 1
