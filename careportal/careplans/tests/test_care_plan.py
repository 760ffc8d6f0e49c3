import datetime

import pytest
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.builders import make_plan
from careportal.careplans.models import PlanStatus

URL = reverse("careplans:care_plan")


def test_it_shows_the_client_her_plans_active_first(client, cast):
    make_plan(
        cast.margaret, title="Old plan", status=PlanStatus.ENDED, start=datetime.date(2024, 1, 1)
    )
    make_plan(cast.margaret, title="Current plan")
    make_plan(cast.margaret, title="Not ready", status=PlanStatus.DRAFT)
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Current plan") < body.index("Old plan")
    assert "Not ready" not in body
    assert "Stay safely at home" in body
    assert "Bathing" in body and "Three times a week" in body and "Use the shower chair." in body
    assert "Adam Administrator" in body
    assert "20.00" in body


def test_it_names_the_agency_phone_when_no_coordinator_phone(client, cast):
    cast.sunrise.phone = "555-0100"
    cast.sunrise.save()
    make_plan(cast.margaret)
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert 'href="tel:555-0100"' in response.content.decode()


def test_it_records_each_view(client, cast):
    plan = make_plan(cast.margaret)
    client.force_login(cast.margaret.user)

    client.get(URL)

    event = AuditEvent.objects.get(action="service_plan.viewed")
    assert event.actor == cast.margaret.user
    assert event.client_id == cast.margaret.pk
    assert event.object_id == str(plan.pk)
    assert event.detail == {"plans": [plan.pk]}


def test_it_records_a_view_of_an_empty_page(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert "has not shared a care plan" in response.content.decode()
    assert AuditEvent.objects.filter(
        action="service_plan.viewed", client_id=cast.margaret.pk
    ).exists()


@pytest.mark.parametrize(
    "who",
    ["ellen", "tom", "paula", "nora"],
)
def test_it_answers_404_to_everyone_but_the_client(client, cast, who):
    make_plan(cast.margaret)
    client.force_login(getattr(cast, who))

    response = client.get(URL)

    assert response.status_code == 404
    assert b"Care at home" not in response.content
    assert not AuditEvent.objects.filter(action="service_plan.viewed").exists()


def test_it_shows_stan_his_own_plan_only(client, cast):
    make_plan(cast.margaret, title="Margaret's plan")
    make_plan(cast.stan_client, title="Stan's plan")
    client.force_login(cast.stan)

    response = client.get(URL)

    assert response.status_code == 200
    assert "Stan&#x27;s plan" in response.content.decode()
    assert b"Margaret" not in response.content


@pytest.mark.parametrize("who", ["owner", "administrator", "scheduler", "billing", "harriet"])
def test_it_keeps_staff_out_of_the_portal_page(client, cast, who):
    # A staff login is never a portal login: staff read service plans in the back office.
    make_plan(cast.margaret)
    client.force_login(getattr(cast, who))

    response = client.get(URL)

    assert response.status_code != 200
    assert b"Care at home" not in response.content
    assert not AuditEvent.objects.filter(action="service_plan.viewed").exists()


def test_it_shows_another_agencys_client_nothing_of_ours(client, cast):
    make_plan(cast.margaret)
    client.force_login(cast.hank.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert b"Care at home" not in response.content
    assert b"Sunrise" not in response.content


def test_it_sends_anonymous_visitors_to_sign_in(client, cast):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_forbids_storing_the_page(client, cast):
    make_plan(cast.margaret)
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert "no-store" in response["Cache-Control"]


def test_it_runs_the_same_queries_for_one_plan_or_many(client, cast, django_assert_max_num_queries):
    client.force_login(cast.margaret.user)
    make_plan(cast.margaret)
    with django_assert_max_num_queries(15):
        assert client.get(URL).status_code == 200
    for i in range(20):
        make_plan(cast.margaret, title=f"Plan {i}", status=PlanStatus.ENDED)
    with django_assert_max_num_queries(15):
        assert client.get(URL).status_code == 200
