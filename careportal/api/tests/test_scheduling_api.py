"""The scheduling area of the API: caregivers and visits, through scheduling's services."""

from __future__ import annotations

import datetime

from django.utils import timezone

from careportal.api.tests.conftest import Caller, make_key
from careportal.audit.models import AuditEvent
from careportal.builders import make_visit
from careportal.scheduling.models import Caregiver, Visit, VisitStatus


def _visit(cast, **changes):
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
    return {
        "client_id": cast.margaret.pk,
        "caregiver_id": cast.caregiver.pk,
        "service": "Personal care",
        "start": start.isoformat(),
        "end": (start + datetime.timedelta(hours=2)).isoformat(),
        **changes,
    }


def test_it_adds_a_caregiver_and_a_visit(api, cast):
    carer = api("POST", "caregivers", {"first_name": "Cora", "last_name": "Reyes"})
    visit = api("POST", "visits", _visit(cast, caregiver_id=carer.json()["id"]))

    assert (carer.status_code, visit.status_code) == (201, 201)
    stored = Visit.objects.get(pk=visit.json()["id"])
    assert stored.caregiver == Caregiver.objects.get(first_name="Cora")
    assert stored.status == VisitStatus.SCHEDULED and stored.agency == cast.sunrise
    assert AuditEvent.objects.filter(action="visit.created", object_id=str(stored.pk)).exists()
    assert AuditEvent.objects.filter(action="api.visit.created").exists()


def test_it_moves_a_visit_through_its_statuses_and_refuses_a_wrong_move(api, cast):
    visit = make_visit(cast.margaret, cast.caregiver, timezone.now())

    started = api("PATCH", f"visits/{visit.pk}", {"status": "in_progress"})
    cancelled = api("PATCH", f"visits/{visit.pk}", {"status": "cancelled"})
    done = api("PATCH", f"visits/{visit.pk}", {"status": "completed"})

    assert (started.status_code, cancelled.status_code, done.status_code) == (200, 422, 200)
    assert cancelled.json()["errors"][0]["field"] == "status"
    visit.refresh_from_db()
    assert visit.status == VisitStatus.COMPLETED
    assert api("DELETE", f"visits/{visit.pk}").status_code == 405


def test_it_refuses_a_visit_that_ends_before_it_starts(api, cast):
    visits = Visit.objects.count()
    body = _visit(cast)

    response = api("POST", "visits", {**body, "end": body["start"], "start": body["end"]})

    assert response.status_code == 422
    assert Visit.objects.count() == visits


def test_it_keeps_another_agencys_caregivers_and_visits_out_of_reach(api, cast):
    theirs = make_visit(cast.hank, cast.harbor_caregiver, timezone.now())

    assert api("GET", f"visits/{theirs.pk}").status_code == 404
    assert api("GET", f"caregivers/{cast.harbor_caregiver.pk}").status_code == 404
    response = api("POST", "visits", _visit(cast, caregiver_id=cast.harbor_caregiver.pk))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "caregiver_id"


def test_it_needs_the_scheduling_scope(cast):
    people_only = Caller(make_key(cast.sunrise, "people:write"))
    reader = Caller(make_key(cast.sunrise, "scheduling:read"))

    assert people_only("GET", "visits").status_code == 403
    assert reader("GET", "visits").status_code == 200
    assert reader("POST", "caregivers", {"first_name": "A", "last_name": "B"}).status_code == 403


def test_it_upserts_a_visit_by_the_agencys_own_id(api, cast):
    first = api("PUT", "visits/by-external-id/EVV-9", _visit(cast))
    again = api("PUT", "visits/by-external-id/EVV-9", _visit(cast, status="completed"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert Visit.objects.get(external_id="EVV-9").status == VisitStatus.COMPLETED
