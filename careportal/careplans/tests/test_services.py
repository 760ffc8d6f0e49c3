"""The one door for service plans with their goals and tasks: checked first, saved in the
agency with one audit event; the back office's plan, goal and task pages go through it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.builders import make_plan
from careportal.careplans import services
from careportal.careplans.models import Goal, PlanStatus, PlanTask, ServicePlan
from careportal.careplans.services import save_service_plan

START = datetime.date(2026, 3, 1)


def _plan(cast, **kwargs) -> ServicePlan:
    fields = {"client": cast.margaret, "title": "Staying well", "start_date": START}
    fields.update(kwargs)
    return ServicePlan(**fields)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_it_creates_a_plan_with_its_goals_and_tasks_and_one_audit_event(cast):
    plan = save_service_plan(
        plan=_plan(cast),
        goals=[Goal(description="Walk to the kitchen"), Goal(description="Bathe safely")],
        tasks=[PlanTask(activity="bathing", frequency="Twice a week")],
        actor=cast.administrator,
    )

    assert plan.agency == cast.sunrise
    assert [g.description for g in plan.goals.all()] == ["Walk to the kitchen", "Bathe safely"]
    assert {t.agency_id for t in plan.tasks.all()} == {cast.sunrise.pk}
    (event,) = AuditEvent.objects.filter(action__startswith="service_plan.")
    assert event.action == "service_plan.created"
    assert event.client_id == cast.margaret.pk
    assert event.detail == {"goals_added": 2, "tasks_added": 1}


def test_it_saves_for_an_integration_with_an_agency_and_no_login(cast):
    plan = save_service_plan(plan=_plan(cast, external_id="CP-1"), actor=None, agency=cast.sunrise)

    assert ServicePlan.objects.get(agency=cast.sunrise, external_id="CP-1") == plan
    assert _events("service_plan.created")[0].actor is None


def test_it_names_a_bad_goal_and_saves_nothing_not_even_the_plan(cast):
    with pytest.raises(ValidationError) as error:
        save_service_plan(
            plan=_plan(cast),
            goals=[Goal(description="Fine"), Goal(description="")],
            tasks=[PlanTask(activity="flying", frequency="Daily")],
            actor=cast.administrator,
        )

    assert set(error.value.message_dict) == {"goals.1.description", "tasks.0.activity"}
    assert not ServicePlan.objects.exists()
    assert not Goal.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="service_plan.").exists()


def test_it_names_an_end_date_before_the_start(cast):
    with pytest.raises(ValidationError) as error:
        save_service_plan(
            plan=_plan(cast, end_date=START - datetime.timedelta(days=1)),
            actor=cast.administrator,
        )

    assert "end_date" in error.value.message_dict
    assert not ServicePlan.objects.exists()


def test_it_refuses_another_agencys_client(cast):
    with pytest.raises(ValidationError) as error:
        save_service_plan(plan=_plan(cast, client=cast.hank), actor=cast.administrator)

    assert "client" in error.value.message_dict
    assert not ServicePlan.objects.exists()


def test_it_refuses_another_agencys_plan_as_if_it_did_not_exist(cast):
    theirs = make_plan(cast.hank)
    theirs.title = "Taken"

    with pytest.raises(ServicePlan.DoesNotExist):
        save_service_plan(plan=theirs, actor=None, agency=cast.sunrise)

    assert ServicePlan.objects.get(pk=theirs.pk).title == "Care at home"


def test_it_changes_and_removes_rows_and_records_what_changed(cast):
    plan = make_plan(cast.margaret)
    goal = plan.goals.get()
    task = plan.tasks.get()
    goal.description = "Stay at home, safely"
    plan.status = PlanStatus.ENDED

    save_service_plan(
        plan=plan,
        goals=[goal, Goal(description="See the grandchildren")],
        removed=[task],
        actor=cast.administrator,
    )

    assert sorted(plan.goals.values_list("description", flat=True)) == [
        "See the grandchildren",
        "Stay at home, safely",
    ]
    assert not plan.tasks.exists()
    (event,) = _events("service_plan.changed")
    assert event.detail == {
        "fields": ["status"],
        "goals_added": 1,
        "goals_changed": 1,
        "tasks_removed": 1,
    }


def test_it_removes_only_rows_of_the_plan(cast):
    plan = make_plan(cast.margaret)
    other = make_plan(cast.walter)

    with pytest.raises(ValidationError) as error:
        save_service_plan(plan=plan, removed=[other.goals.get()], actor=cast.administrator)

    assert "removed" in error.value.message_dict
    assert other.goals.exists()


def test_it_offers_no_way_to_delete_a_plan(cast):
    # A plan is health information: it is ended, never deleted, through the door.
    assert not [name for name in vars(services) if "delete" in name]


def test_it_records_nothing_when_nothing_changed(cast):
    plan = make_plan(cast.margaret)

    save_service_plan(plan=plan, goals=[plan.goals.get()], actor=cast.administrator)

    assert not _events("service_plan.changed")


def _plan_form(cast, **overrides) -> dict:
    data = {
        "client": cast.margaret.pk,
        "title": "Staying well",
        "start_date": START.isoformat(),
        "status": PlanStatus.ACTIVE,
        "authorized_hours_per_week": "6.00",
        "goals-TOTAL_FORMS": 1,
        "goals-INITIAL_FORMS": 0,
        "goals-0-description": "Keep up the bridge club",
        "tasks-TOTAL_FORMS": 1,
        "tasks-INITIAL_FORMS": 0,
        "tasks-0-activity": "meals",
        "tasks-0-frequency": "Every visit",
    }
    data.update(overrides)
    return data


def test_it_saves_the_back_offices_plan_page_with_its_rows_in_one_event(client, cast):
    sign_in(client, cast.scheduler)

    response = client.post(reverse("backoffice:careplans_serviceplan_add"), _plan_form(cast))

    assert response.status_code == 302
    plan = ServicePlan.objects.get()
    assert (plan.agency, plan.goals.count(), plan.tasks.count()) == (cast.sunrise, 1, 1)
    (event,) = _events("service_plan.created")
    assert event.actor == cast.scheduler
    assert event.detail == {"goals_added": 1, "tasks_added": 1}


def test_it_removes_a_goal_from_its_own_back_office_page_as_a_change_of_its_plan(client, cast):
    plan = make_plan(cast.margaret)
    goal = plan.goals.get()
    sign_in(client, cast.administrator)

    response = client.post(
        reverse("backoffice:careplans_goal_delete", args=[goal.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not plan.goals.exists()
    assert _events("service_plan.changed")[0].detail == {"fields": [], "goals_removed": 1}


def test_it_keeps_billing_staff_and_another_agency_away_from_plans(client, cast):
    plan = make_plan(cast.margaret)
    for who in (cast.billing, cast.harriet):
        sign_in(client, who)

        response = client.post(
            reverse("backoffice:careplans_serviceplan_change", args=[plan.pk]),
            _plan_form(cast, title="Taken"),
        )

        assert response.status_code in (302, 404)
    assert ServicePlan.objects.get(pk=plan.pk).title == "Care at home"
    assert not _events("service_plan.changed")
