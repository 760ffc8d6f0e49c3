"""Import visits from CSV: planning the rows, saving them through the calendar, the export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from careportal.audit.models import AuditEvent
from careportal.builders import make_visit
from careportal.imports import cells, visits
from careportal.people.models import Client
from careportal.scheduling.models import Caregiver, Visit, VisitStatus

UTC = datetime.UTC


def _at(text: str) -> datetime.datetime:
    """Return an instant written in UTC ("2026-03-18 13:00")."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _row(**values: str) -> dict[str, str]:
    row = {
        "external_id": "V-1",
        "client_external_id": "C-1",
        "caregiver_external_id": "CG-1",
        "date": "2026-03-18",
        "start_time": "09:00",
        "end_time": "11:00",
        "service": "Personal care",
        "status": "scheduled",
    }
    row.update(values)
    return row


def _rows(*rows: dict[str, str]) -> list[dict]:
    """Return the rows as cells.read_rows gives them: every column, and the file's line."""
    return [
        {**dict.fromkeys(visits.COLUMNS, ""), **row, "line": line}
        for line, row in enumerate(rows, start=2)
    ]


def _save(planned, cast, progress: list[int] | None = None) -> cells.Counts:
    heard = progress if progress is not None else []
    return visits.save_rows(planned, cast.sunrise, cast.scheduler, heard.append)


def _errors(planned) -> list[tuple[int, str]]:
    return [(error.line, error.column) for row in planned for error in row.errors]


def _export(agency) -> list[dict]:
    lines = list(visits.export_rows(agency))
    return [
        {**dict(zip(lines[0], line, strict=True)), "line": n}
        for n, line in enumerate(lines[1:], start=2)
    ]


@pytest.fixture
def people(cast):
    """Sunrise's Margaret as client C-1, Carla as caregiver CG-1; Harbor's Hank as H-1."""
    for record, external_id in (
        (cast.margaret, "C-1"),
        (cast.caregiver, "CG-1"),
        (cast.hank, "H-1"),
        (cast.harbor_caregiver, "HCG-1"),
    ):
        record.external_id = external_id
        record.save()
    return cast


def test_it_plans_and_saves_a_good_file(people):
    rows = _rows(
        _row(),
        _row(
            external_id="V-2",
            client_external_id="",
            client_email=people.walter.email.upper(),
            caregiver_external_id="",
            caregiver_name="carla  giver",
            date="03/16/2026",
            start_time="10:00 PM",
            end_time="6:00 am",
            end_date="2026-03-17",
            service="Overnight care",
            status="Completed",
        ),
        _row(external_id="V-3", caregiver_external_id="", status=""),
    )
    planned = visits.plan_rows(people.sunrise, rows)
    assert _errors(planned) == []
    assert [row.action for row in planned] == ["create", "create", "create"]
    progress: list[int] = []

    assert _save(planned, people, progress) == cells.Counts(created=3, updated=0, skipped=0)

    assert progress == [3]
    first = Visit.objects.get(external_id="V-1")
    assert (first.client, first.caregiver, first.status) == (
        people.margaret,
        people.caregiver,
        VisitStatus.SCHEDULED,
    )
    # 9:00 in New York on 18 March 2026 (daylight time): 13:00 UTC.
    assert (first.start, first.end) == (_at("2026-03-18 13:00"), _at("2026-03-18 15:00"))
    overnight = Visit.objects.get(external_id="V-2")
    assert (overnight.client, overnight.caregiver) == (people.walter, people.caregiver)
    assert (overnight.start, overnight.end) == (_at("2026-03-17 02:00"), _at("2026-03-17 10:00"))
    assert overnight.status == VisitStatus.COMPLETED
    unassigned = Visit.objects.get(external_id="V-3")
    assert (unassigned.caregiver, unassigned.status) == (None, VisitStatus.SCHEDULED)
    events = AuditEvent.objects.filter(action="visit.created")
    assert events.count() == 3
    assert {event.actor for event in events} == {people.scheduler}


def _template_rows(**changes: str) -> list[dict[str, str]]:
    """Return the template's example rows as read from a file, with these cells changed."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(visits.COLUMNS)
    for example in visits.EXAMPLE_ROWS:
        changed = {**example, **changes}
        writer.writerow([changed.get(name, "") for name in visits.COLUMNS])
    return cells.read_rows(out.getvalue().encode(), visits.COLUMNS)


def test_it_reads_the_templates_example_rows_once_changed(people):
    people.margaret.external_id = "C-1001"
    people.margaret.save()
    people.caregiver.external_id = "CG-20"
    people.caregiver.save()

    planned = visits.plan_rows(people.sunrise, _template_rows(service="Companionship"))

    assert _errors(planned) == []
    assert [row.visit.status for row in planned] == ["scheduled", "completed"]


def test_it_refuses_the_templates_example_rows_as_they_are(people):
    people.margaret.external_id = "C-1001"
    people.margaret.save()

    planned = visits.plan_rows(people.sunrise, _template_rows())

    assert _errors(planned) == [(2, ""), (3, "")]
    assert planned[0].errors[0].message.startswith("This row is the template's example")


def test_it_skips_the_same_rows_the_second_time(people):
    rows = _rows(_row(), _row(external_id="", start_time="14:00", end_time="15:30"))
    _save(visits.plan_rows(people.sunrise, rows), people)
    events = AuditEvent.objects.count()

    planned = visits.plan_rows(people.sunrise, rows)

    assert [row.action for row in planned] == ["skip", "skip"]
    assert _save(planned, people) == cells.Counts(created=0, updated=0, skipped=2)
    assert Visit.objects.count() == 2
    assert AuditEvent.objects.count() == events


def test_it_updates_a_visit_whose_time_changed(people):
    _save(visits.plan_rows(people.sunrise, _rows(_row())), people)

    planned = visits.plan_rows(people.sunrise, _rows(_row(start_time="9:30", end_time="11:30")))

    assert [row.action for row in planned] == ["update"]
    assert _save(planned, people) == cells.Counts(created=0, updated=1, skipped=0)
    visit = Visit.objects.get(external_id="V-1")
    assert (visit.start, visit.end) == (_at("2026-03-18 13:30"), _at("2026-03-18 15:30"))
    event = AuditEvent.objects.get(action="visit.changed")
    assert set(event.detail["fields"]) == {"start", "end"}


@pytest.mark.parametrize("status", ["completed", "Completed", "in progress", "In_Progress"])
def test_it_moves_a_visits_status_through_the_calendar(people, status):
    _save(visits.plan_rows(people.sunrise, _rows(_row())), people)

    planned = visits.plan_rows(people.sunrise, _rows(_row(status=status)))

    assert [row.action for row in planned] == ["update"]
    _save(planned, people)
    visit = Visit.objects.get(external_id="V-1")
    wanted = "completed" if status.lower() == "completed" else "in_progress"
    assert visit.status == wanted
    event = AuditEvent.objects.get(action="visit.status_changed")
    assert (event.detail["previous_status"], event.detail["status"]) == ("scheduled", wanted)
    assert not AuditEvent.objects.filter(action="visit.changed").exists()


def test_it_saves_a_changed_caregiver_and_a_status_move_together(people):
    _save(visits.plan_rows(people.sunrise, _rows(_row())), people)

    planned = visits.plan_rows(
        people.sunrise, _rows(_row(caregiver_external_id="", status="missed"))
    )
    _save(planned, people)

    visit = Visit.objects.get(external_id="V-1")
    assert (visit.caregiver, visit.status) == (None, VisitStatus.MISSED)
    assert AuditEvent.objects.get(action="visit.changed").detail["fields"] == ["caregiver"]
    assert AuditEvent.objects.filter(action="visit.status_changed").count() == 1


def test_it_refuses_a_status_move_the_calendar_does_not_allow(people):
    _save(visits.plan_rows(people.sunrise, _rows(_row(status="completed"))), people)

    planned = visits.plan_rows(people.sunrise, _rows(_row(status="scheduled")))

    [error] = planned[0].errors
    assert (error.line, error.column) == (2, "status")
    assert error.message == "A visit that is completed cannot become scheduled."
    with pytest.raises(cells.RowRefused):
        _save(planned, people)
    assert Visit.objects.get(external_id="V-1").status == VisitStatus.COMPLETED


@pytest.mark.parametrize(
    ("values", "column", "words"),
    [
        ({"client_external_id": "C-404"}, "client_external_id", "No client has the external id"),
        ({"client_external_id": "H-1"}, "client_external_id", "No client has the external id"),
        (
            {"client_external_id": "", "client_email": "nobody@mail.example"},
            "client_email",
            "No client has the email",
        ),
        ({"client_external_id": ""}, "client_external_id", "Give the client's external id"),
        ({"caregiver_external_id": "HCG-1"}, "caregiver_external_id", "Add them first"),
        (
            {"caregiver_external_id": "", "caregiver_name": "Henry Helper"},
            "caregiver_name",
            "Add them first",
        ),
        ({"date": "2026-02-30"}, "date", "is not a date"),
        ({"date": ""}, "date", "Give the visit's date"),
        ({"start_time": "25:00"}, "start_time", "is not a time"),
        ({"end_time": ""}, "end_time", "Give the time"),
        ({"end_time": "08:00"}, "end_time", "give its end_date"),
        ({"end_date": "2026-03-17", "end_time": "23:00"}, "end_time", "end after it starts"),
        # The clocks go forward at 2:00 on 8 March 2026 in New York.
        ({"date": "2026-03-08", "start_time": "02:30"}, "start_time", "clocks go forward"),
        ({"status": "done"}, "status", "is not a status"),
        ({"service": ""}, "service", "Give the service"),
        ({"service": "x" * 121}, "service", "at most 120 characters"),
        ({"service": "=HYPERLINK(1)"}, "service", "formula"),
        ({"client_email": "@evil", "client_external_id": ""}, "client_email", "formula"),
    ],
)
def test_it_names_each_error_by_line_and_column(people, values, column, words):
    rows = _rows(_row(external_id="V-0"), _row(**values))

    planned = visits.plan_rows(people.sunrise, rows)

    assert planned[0].errors == []
    assert (3, column) in _errors(planned)
    assert any(words in error.message for error in planned[1].errors)
    with pytest.raises(cells.RowRefused):
        _save(planned, people)
    assert not Visit.objects.filter(agency=people.sunrise).exists()


def test_it_refuses_the_same_visit_twice_in_a_file(people):
    rows = _rows(
        _row(),
        _row(start_time="13:00", end_time="14:00"),
        _row(external_id="", start_time="15:00", end_time="16:00"),
        _row(external_id="", start_time="15:00", end_time="17:00"),
    )

    planned = visits.plan_rows(people.sunrise, rows)

    assert _errors(planned) == [(3, "external_id"), (5, "start_time")]
    assert planned[1].errors[0].message == "V-1 is already on line 2."
    assert "already on line 4" in planned[3].errors[0].message


def test_it_refuses_a_caregiver_name_two_caregivers_share(people):
    Caregiver.objects.create(agency=people.sunrise, first_name="Carla", last_name="Giver")

    planned = visits.plan_rows(
        people.sunrise, _rows(_row(caregiver_external_id="", caregiver_name="Carla Giver"))
    )

    assert _errors(planned) == [(2, "caregiver_name")]
    assert "caregiver_external_id" in planned[0].errors[0].message


def test_it_treats_another_agencys_visit_id_as_new_here(people):
    theirs = make_visit(people.hank, people.harbor_caregiver, _at("2026-03-18 13:00"))
    theirs.external_id = "V-1"
    theirs.save()

    planned = visits.plan_rows(people.sunrise, _rows(_row(), _row(external_id="V-2")))

    assert [row.action for row in planned] == ["create", "create"]
    _save(planned, people)
    theirs.refresh_from_db()
    assert (theirs.client, theirs.service, theirs.agency) == (
        people.hank,
        "Personal care",
        people.harbor,
    )
    assert Visit.objects.get(agency=people.sunrise, external_id="V-1").client == people.margaret


def test_it_saves_nothing_of_a_file_with_another_agencys_client(people):
    rows = _rows(_row(), _row(external_id="V-2", client_external_id="H-1"))

    planned = visits.plan_rows(people.sunrise, rows)

    assert _errors(planned) == [(3, "client_external_id")]
    assert planned[1].errors[0].message == "No client has the external id H-1 here."
    with pytest.raises(cells.RowRefused) as refused:
        _save(planned, people)
    assert refused.value.error.line == 3
    assert not Visit.objects.exists()


def test_it_refuses_a_row_the_calendar_refuses_at_save_time(people):
    planned = visits.plan_rows(people.sunrise, _rows(_row()))
    # Meanwhile, the back office gave another visit the external id V-1.
    other = make_visit(people.walter, None, _at("2026-03-20 13:00"))
    Visit.objects.filter(pk=other.pk).update(external_id="V-1")

    with pytest.raises(cells.RowRefused) as refused:
        _save(planned, people)

    assert (refused.value.error.line, refused.value.error.column) == (2, "external_id")
    assert not Visit.objects.filter(client=people.margaret).exists()


def test_it_refuses_a_row_whose_visit_was_removed_meanwhile(people):
    _save(visits.plan_rows(people.sunrise, _rows(_row())), people)
    planned = visits.plan_rows(people.sunrise, _rows(_row(start_time="10:00", end_time="12:00")))
    Visit.objects.filter(external_id="V-1").delete()

    with pytest.raises(cells.RowRefused) as refused:
        _save(planned, people)

    assert "removed meanwhile" in refused.value.error.message
    assert not Visit.objects.exists()


def test_it_reports_progress_every_hundred_rows(people):
    rows = _rows(*(_row(external_id=f"V-{n}") for n in range(250)))
    progress: list[int] = []

    assert _save(visits.plan_rows(people.sunrise, rows), people, progress).created == 250

    assert progress == [100, 200, 250]


def test_it_exports_visits_that_plan_back_to_nothing_to_do(people):
    # Visits with and without an external id, unassigned, overnight, and one that starts at
    # the second 1:30 of the night the clocks go back (1 November 2026, 6:30 UTC).
    samples = [
        (people.margaret, people.caregiver, "2026-03-18 13:00", "V-1", VisitStatus.SCHEDULED),
        (people.walter, None, "2026-03-19 14:15", "", VisitStatus.COMPLETED),
        (people.rosa, people.caregiver, "2026-03-20 03:00", "V-3", VisitStatus.MISSED),
        (people.sam, None, "2026-11-01 06:30", "V-4", VisitStatus.CANCELLED),
        (people.sam, None, "2026-11-01 06:30", "", VisitStatus.IN_PROGRESS),
    ]
    for client, caregiver, start, external_id, status in samples:
        visit = make_visit(client, caregiver, _at(start), hours=9, status=status)
        Visit.objects.filter(pk=visit.pk).update(external_id=external_id)
    make_visit(people.hank, None, _at("2026-03-18 13:00"))

    rows = _export(people.sunrise)

    assert len(rows) == 5
    overnight = rows[2]
    assert (overnight["date"], overnight["start_time"], overnight["end_time"]) == (
        "2026-03-19",
        "23:00",
        "08:00",
    )
    assert overnight["end_date"] == "2026-03-20"
    assert overnight["client_external_id"] == "" and overnight["client_email"]
    planned = visits.plan_rows(people.sunrise, rows)
    assert _errors(planned) == []
    assert [row.action for row in planned] == ["skip"] * 5


def test_it_neutralises_formulas_in_the_export(people):
    visit = make_visit(people.margaret, people.caregiver, _at("2026-03-18 13:00"))
    Visit.objects.filter(pk=visit.pk).update(service="=HYPERLINK(1)", external_id="+V1")

    [row] = _export(people.sunrise)

    assert (row["service"], row["external_id"]) == ("'=HYPERLINK(1)", "'+V1")
    assert row["caregiver_name"] == "Carla Giver"
    assert [r.action for r in visits.plan_rows(people.sunrise, [row])] == ["skip"]


def test_it_plans_many_rows_with_a_few_queries(people, django_assert_max_num_queries):
    clients = [
        Client.objects.create(
            agency=people.sunrise,
            first_name=f"Iris{n}",
            last_name="Import",
            email=f"iris{n}@mail.example",
            external_id=f"C-{100 + n}" if n % 2 else "",
        )
        for n in range(20)
    ]
    for n in range(50):
        visit = make_visit(clients[n % 20], None, _at("2026-03-18 13:00") + datetime.timedelta(n))
        Visit.objects.filter(pk=visit.pk).update(external_id=f"V-{n}" if n % 2 else "")
    rows = _rows(
        *(
            _row(
                external_id=f"V-{n}" if n % 2 else "",
                client_external_id=clients[n % 20].external_id,
                client_email=clients[n % 20].email,
                # The first 50 rows are the stored visits, unassigned.
                caregiver_external_id="CG-1" if n >= 50 and n % 2 else "",
                caregiver_name="Carla Giver" if n >= 50 and not n % 2 else "",
                date=(datetime.date(2026, 3, 18) + datetime.timedelta(n)).isoformat(),
                start_time="09:00",
            )
            for n in range(200)
        )
    )

    with django_assert_max_num_queries(8):
        planned = visits.plan_rows(people.sunrise, rows)

    assert _errors(planned) == []
    assert [row.action for row in planned].count("skip") == 50


def test_it_refuses_two_rows_that_stand_for_the_same_visit(people):
    # Margaret's 9:00 visit has no external id: a row with a new one would take it.
    make_visit(people.margaret, people.caregiver, _at("2026-03-18 13:00"))
    rows = _rows(_row(external_id="V-NEW"), _row(external_id=""))

    planned = visits.plan_rows(people.sunrise, rows)

    assert [(e.line, e.column, e.message) for row in planned for e in row.errors] == [
        (3, "start_time", "Line 2 already stands for this visit.")
    ]


def test_it_refuses_a_date_too_far_off(people):
    rows = _rows(_row(date="9999-12-31", start_time="22:00", end_time="23:00"))

    planned = visits.plan_rows(people.sunrise, rows)

    assert [(e.column, e.message) for e in planned[0].errors] == [
        ("date", "9999-12-31 is too far off: give a date between the years 1900 and 2100.")
    ]


def test_it_answers_a_time_past_the_end_of_the_calendar_with_an_error(people):
    errors: list[cells.RowError] = []

    moment = visits._moment(
        datetime.date(9999, 12, 31), "22:00", people.sunrise.tz, 2, "start_time", errors
    )

    assert moment is None
    assert [(e.column, e.message) for e in errors] == [
        ("start_time", "9999-12-31 is too far off: give a date between the years 1900 and 2100.")
    ]
