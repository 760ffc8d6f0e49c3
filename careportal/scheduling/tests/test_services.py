"""The one door for caregivers and visits: checked, saved in the agency, audited, and the
moves of a visit's status. The back office goes through it too."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.builders import make_visit
from careportal.scheduling import services
from careportal.scheduling.models import Caregiver, Visit, VisitStatus
from careportal.scheduling.services import change_visit_status, save_caregiver, save_visit

START = datetime.datetime(2026, 3, 2, 14, 0, tzinfo=datetime.UTC)


def _visit(cast, **kwargs) -> Visit:
    fields = {
        "client": cast.margaret,
        "caregiver": cast.caregiver,
        "service": "Personal care",
        "start": START,
        "end": START + datetime.timedelta(hours=2),
    }
    fields.update(kwargs)
    return Visit(**fields)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_it_creates_a_visit_in_the_actors_agency_with_one_audit_event(cast):
    visit = save_visit(visit=_visit(cast), actor=cast.scheduler)

    assert Visit.objects.get(pk=visit.pk).agency == cast.sunrise
    (event,) = _events("visit.created")
    assert (event.actor, event.agency, event.client_id) == (
        cast.scheduler,
        cast.sunrise,
        cast.margaret.pk,
    )


def test_it_names_the_fields_that_changed_never_their_values(cast):
    visit = save_visit(visit=_visit(cast), actor=cast.scheduler)
    visit.service = "Companionship"
    visit.caregiver = None

    save_visit(visit=visit, actor=cast.scheduler)

    (event,) = _events("visit.changed")
    assert sorted(event.detail["fields"]) == ["caregiver", "service"]
    assert "Companionship" not in str(event.detail)


def test_it_saves_for_an_integration_with_an_agency_and_no_login(cast):
    visit = save_visit(visit=_visit(cast, external_id="EVV-1"), actor=None, agency=cast.sunrise)

    assert Visit.objects.get(agency=cast.sunrise, external_id="EVV-1") == visit
    (event,) = _events("visit.created")
    assert event.actor is None and event.agency == cast.sunrise


def test_it_refuses_a_visit_that_ends_before_it_starts_and_saves_nothing(cast):
    with pytest.raises(ValidationError) as error:
        save_visit(visit=_visit(cast, end=START - datetime.timedelta(hours=1)), actor=cast.owner)

    assert "end" in error.value.message_dict
    assert not Visit.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="visit.").exists()


@pytest.mark.parametrize("field", ["client", "caregiver"])
def test_it_refuses_another_agencys_client_or_caregiver(cast, field):
    other = {"client": cast.hank, "caregiver": cast.harbor_caregiver}[field]

    with pytest.raises(ValidationError) as error:
        save_visit(visit=_visit(cast, **{field: other}), actor=cast.scheduler)

    assert field in error.value.message_dict
    assert not Visit.objects.exists()


def test_it_refuses_to_change_another_agencys_visit_as_if_it_did_not_exist(cast):
    theirs = make_visit(cast.hank, cast.harbor_caregiver, START)
    theirs.service = "Changed"

    with pytest.raises(Visit.DoesNotExist):
        save_visit(visit=theirs, actor=cast.scheduler)
    with pytest.raises(Visit.DoesNotExist):
        change_visit_status(
            visit=theirs, status=VisitStatus.CANCELLED, actor=None, agency=cast.sunrise
        )

    theirs.refresh_from_db()
    assert (theirs.service, theirs.status) == ("Personal care", VisitStatus.SCHEDULED)


def test_it_refuses_an_actor_of_another_agency_than_the_one_named(cast):
    with pytest.raises(ValueError):
        save_visit(visit=_visit(cast), actor=cast.harriet, agency=cast.sunrise)

    assert not Visit.objects.exists()


def test_it_names_the_external_id_another_record_of_the_agency_has(cast):
    save_visit(visit=_visit(cast, external_id="EVV-7"), actor=cast.scheduler)
    # Another agency may use the same id for its own visit.
    save_visit(
        visit=_visit(cast, client=cast.hank, caregiver=None, external_id="EVV-7"),
        actor=cast.harriet,
    )

    with pytest.raises(ValidationError) as error:
        save_visit(visit=_visit(cast, external_id="EVV-7"), actor=cast.scheduler)

    assert "external_id" in error.value.message_dict
    assert Visit.objects.filter(external_id="EVV-7").count() == 2


def test_it_moves_a_visit_from_scheduled_to_in_progress_to_completed(cast):
    visit = make_visit(cast.margaret, cast.caregiver, START)

    change_visit_status(visit=visit, status=VisitStatus.IN_PROGRESS, actor=cast.scheduler)
    change_visit_status(
        visit=visit, status=VisitStatus.COMPLETED, actor=cast.scheduler, reason="Checked out"
    )

    visit.refresh_from_db()
    assert visit.status == VisitStatus.COMPLETED
    moves = [
        (e.detail["previous_status"], e.detail["status"], e.detail["reason"])
        for e in AuditEvent.objects.filter(action="visit.status_changed").order_by("id")
    ]
    assert moves == [
        ("scheduled", "in_progress", ""),
        ("in_progress", "completed", "Checked out"),
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (VisitStatus.COMPLETED, VisitStatus.SCHEDULED),
        (VisitStatus.CANCELLED, VisitStatus.IN_PROGRESS),
        (VisitStatus.MISSED, VisitStatus.COMPLETED),
        # Begun, it can no longer be cancelled: it is completed or missed.
        (VisitStatus.IN_PROGRESS, VisitStatus.CANCELLED),
        (VisitStatus.IN_PROGRESS, VisitStatus.SCHEDULED),
    ],
)
def test_it_refuses_a_wrong_move_and_changes_nothing(cast, before, after):
    visit = make_visit(cast.margaret, cast.caregiver, START, status=before)

    with pytest.raises(ValidationError) as error:
        change_visit_status(visit=visit, status=after, actor=cast.scheduler)
    visit.status = after
    with pytest.raises(ValidationError):
        save_visit(visit=visit, actor=cast.scheduler)

    assert "status" in error.value.message_dict
    assert Visit.objects.get(pk=visit.pk).status == before
    assert not AuditEvent.objects.filter(action__startswith="visit.").exists()


def test_it_cancels_a_visit_rather_than_deleting_it(cast):
    visit = make_visit(cast.margaret, cast.caregiver, START)

    change_visit_status(
        visit=visit, status=VisitStatus.CANCELLED, actor=cast.scheduler, reason="In hospital"
    )

    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.CANCELLED
    # The door offers no delete of a visit.
    assert not [name for name in vars(services) if "delete" in name]


def test_it_creates_and_changes_a_caregiver_with_its_audit_events(cast):
    caregiver = save_caregiver(
        caregiver=Caregiver(first_name="Dev", last_name="Patel"), actor=cast.scheduler
    )
    caregiver.is_active = False
    save_caregiver(caregiver=caregiver, actor=cast.scheduler)

    assert Caregiver.objects.get(pk=caregiver.pk).agency == cast.sunrise
    assert len(_events("caregiver.created")) == 1
    assert _events("caregiver.changed")[0].detail["fields"] == ["is_active"]


def test_it_refuses_a_caregiver_without_a_name_and_saves_nothing(cast):
    with pytest.raises(ValidationError) as error:
        save_caregiver(caregiver=Caregiver(first_name="", last_name="Patel"), actor=cast.owner)

    assert "first_name" in error.value.message_dict
    assert not Caregiver.objects.filter(last_name="Patel").exists()


def _visit_form(cast, **overrides) -> dict:
    start = timezone.localtime(START, cast.sunrise.tz)
    end = start + datetime.timedelta(hours=2)
    data = {
        "client": cast.margaret.pk,
        "caregiver": cast.caregiver.pk,
        "service": "Personal care",
        "start_0": start.date().isoformat(),
        "start_1": start.time().isoformat(),
        "end_0": end.date().isoformat(),
        "end_1": end.time().isoformat(),
        "status": VisitStatus.SCHEDULED,
    }
    data.update(overrides)
    return data


def test_it_saves_a_visit_from_the_back_office_through_the_door(client, cast):
    sign_in(client, cast.scheduler)

    response = client.post(reverse("backoffice:scheduling_visit_add"), _visit_form(cast))

    assert response.status_code == 302
    (event,) = _events("visit.created")
    assert event.actor == cast.scheduler
    assert Visit.objects.get().agency == cast.sunrise


def test_it_shows_a_wrong_move_on_the_back_offices_status_field(client, cast):
    visit = make_visit(cast.margaret, cast.caregiver, START, status=VisitStatus.COMPLETED)
    sign_in(client, cast.scheduler)

    response = client.post(
        reverse("backoffice:scheduling_visit_change", args=[visit.pk]),
        _visit_form(cast, status=VisitStatus.SCHEDULED),
    )

    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.COMPLETED


def test_it_refuses_another_agencys_visit_in_the_back_office(client, cast):
    theirs = make_visit(cast.hank, cast.harbor_caregiver, START)
    sign_in(client, cast.scheduler)

    response = client.post(
        reverse("backoffice:scheduling_visit_change", args=[theirs.pk]),
        _visit_form(cast, status=VisitStatus.CANCELLED),
    )

    # The back office answers as for a record that does not exist: back to its index.
    missing = client.post(
        reverse("backoffice:scheduling_visit_change", args=[theirs.pk + 1000]),
        _visit_form(cast, status=VisitStatus.CANCELLED),
    )
    assert response.status_code == missing.status_code == 302
    assert response["Location"] == missing["Location"]
    assert Visit.objects.get(pk=theirs.pk).status == VisitStatus.SCHEDULED
