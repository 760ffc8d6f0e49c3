"""The care plans area of the API: service plans with their goals and tasks, one door."""

from __future__ import annotations

from careportal.api.tests.conftest import Caller, make_key
from careportal.audit.models import AuditEvent
from careportal.builders import make_plan
from careportal.careplans.models import Goal, PlanStatus, PlanTask, ServicePlan


def _plan(cast, **changes):
    return {
        "client_id": cast.margaret.pk,
        "title": "Care at home",
        "start_date": "2026-12-01",
        "authorized_hours_per_week": "20.50",
        "goals": [{"description": "Walk to the garden", "target_date": "2027-03-01"}],
        "tasks": [{"activity": "bathing", "frequency": "Every morning", "external_id": "T-1"}],
        **changes,
    }


def test_it_creates_a_plan_with_its_goals_and_tasks(api, cast):
    response = api("POST", "service-plans", _plan(cast))

    assert response.status_code == 201
    body = response.json()
    plan = ServicePlan.objects.get(pk=body["id"])
    assert (plan.agency, plan.client, plan.status) == (cast.sunrise, cast.margaret, "draft")
    assert body["authorized_hours_per_week"] == "20.50"
    assert [goal["description"] for goal in body["goals"]] == ["Walk to the garden"]
    assert body["tasks"][0]["external_id"] == "T-1"
    assert plan.goals.get().target_date.isoformat() == "2027-03-01"
    event = AuditEvent.objects.get(action="service_plan.created", object_id=str(plan.pk))
    assert (event.detail["goals_added"], event.detail["tasks_added"]) == (1, 1)
    assert AuditEvent.objects.filter(action="api.service_plan.created").exists()


def test_it_reads_a_plan_and_lists_the_agencys_plans(api, cast):
    ours = make_plan(cast.margaret)
    theirs = make_plan(cast.hank)

    one = api("GET", f"service-plans/{ours.pk}")
    listed = api("GET", "service-plans?limit=200")

    assert one.status_code == listed.status_code == 200
    assert one.json()["goals"][0]["description"] == "Stay safely at home"
    assert one.json()["tasks"][0]["instructions"] == "Use the shower chair."
    ids = {row["id"] for row in listed.json()["items"]}
    assert ours.pk in ids and theirs.pk not in ids
    assert AuditEvent.objects.filter(action="api.service_plan.viewed").exists()


def test_it_changes_a_goal_adds_one_and_removes_the_ones_left_out(api, cast):
    plan = make_plan(cast.margaret)
    kept = plan.goals.get()
    task = plan.tasks.get()

    response = api(
        "PATCH",
        f"service-plans/{plan.pk}",
        {
            "status": "ended",
            "end_date": "2026-12-31",
            "goals": [
                {"id": kept.pk, "description": "Stay at home, safely"},
                {"description": "Cook one meal a week"},
            ],
        },
    )

    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ENDED
    assert list(plan.goals.values_list("description", flat=True)) == [
        "Stay at home, safely",
        "Cook one meal a week",
    ]
    assert plan.goals.first().pk == kept.pk
    # The tasks were not sent: they stay as they are.
    assert list(plan.tasks.all()) == [task]

    emptied = api("PATCH", f"service-plans/{plan.pk}", {"goals": []})

    assert emptied.status_code == 200 and emptied.json()["goals"] == []
    assert not Goal.objects.filter(plan=plan).exists()


def test_it_names_the_goal_of_a_bad_value_and_saves_nothing(api, cast):
    plans, goals = ServicePlan.objects.count(), Goal.objects.count()
    body = _plan(cast, goals=[{"description": "Fine"}, {"description": ""}])

    response = api("POST", "service-plans", body)

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["goals.1.description"]
    assert (ServicePlan.objects.count(), Goal.objects.count()) == (plans, goals)
    assert not PlanTask.objects.filter(external_id="T-1").exists()


def test_it_refuses_a_goal_of_another_plan_and_an_end_before_the_start(api, cast):
    plan = make_plan(cast.margaret)
    task = plan.tasks.get().pk
    walters = make_plan(cast.walter)
    other = walters.goals.get()

    moved = api(
        "PATCH", f"service-plans/{plan.pk}", {"goals": [{"id": other.pk, "description": "Mine"}]}
    )
    backwards = api("PATCH", f"service-plans/{plan.pk}", {"end_date": "2000-01-01"})

    twice = api(
        "PATCH",
        f"service-plans/{plan.pk}",
        {"tasks": [{"id": task, "activity": "meals", "frequency": "Daily"}] * 2},
    )

    assert (moved.status_code, backwards.status_code, twice.status_code) == (422, 422, 422)
    assert twice.json()["errors"][0]["field"] == "tasks.1.id"
    assert moved.json()["errors"][0]["field"] == "goals.0.id"
    assert backwards.json()["errors"][0]["field"] == "end_date"
    other.refresh_from_db()
    assert (other.plan_id, other.description) == (walters.pk, "Stay safely at home")
    assert plan.goals.count() == 1
    assert plan.tasks.get().activity == "bathing"


def test_it_answers_a_retry_with_the_same_idempotency_key_once(api, cast):
    first = api("POST", "service-plans", _plan(cast), **{"Idempotency-Key": "plan-1"})
    retry = api("POST", "service-plans", _plan(cast), **{"Idempotency-Key": "plan-1"})

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert ServicePlan.objects.filter(client=cast.margaret, title="Care at home").count() == 1
    assert Goal.objects.filter(description="Walk to the garden").count() == 1


def test_it_upserts_a_plan_and_its_tasks_by_the_agencys_own_ids(api, cast):
    first = api("PUT", "service-plans/by-external-id/P-7", _plan(cast))
    again = api(
        "PUT",
        "service-plans/by-external-id/P-7",
        _plan(cast, tasks=[{"activity": "meals", "frequency": "Daily", "external_id": "T-1"}]),
    )

    assert (first.status_code, again.status_code) == (201, 200)
    task = PlanTask.objects.get(external_id="T-1")
    assert task.pk == first.json()["tasks"][0]["id"]
    assert (task.activity, task.plan.external_id) == ("meals", "P-7")


def test_it_keeps_another_agencys_plans_out_of_reach(api, cast):
    theirs = make_plan(cast.hank)

    assert api("GET", f"service-plans/{theirs.pk}").status_code == 404
    assert api("PATCH", f"service-plans/{theirs.pk}", {"title": "Mine"}).status_code == 404
    response = api("POST", "service-plans", _plan(cast, client_id=cast.hank.pk))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "client_id"
    theirs.refresh_from_db()
    assert theirs.title == "Care at home"
    assert api("DELETE", f"service-plans/{theirs.pk}").status_code == 405


def test_it_needs_the_care_plans_scope(cast):
    people_only = Caller(make_key(cast.sunrise, "people:write"))
    reader = Caller(make_key(cast.sunrise, "careplans:read"))

    assert people_only("GET", "service-plans").status_code == 403
    assert reader("GET", "service-plans").status_code == 200
    assert reader("POST", "service-plans", _plan(cast)).status_code == 403
    assert not ServicePlan.objects.exists()
