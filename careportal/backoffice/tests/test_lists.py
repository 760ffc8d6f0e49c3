"""The back office's lists at the size of a real agency: paging without a full count,
bounded queries, index-friendly search, autocomplete filters and a light client page."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.backoffice import roles
from careportal.backoffice.paging import EstimatedCountPaginator, planner_estimate
from careportal.backoffice.tests.conftest import sign_in
from careportal.billing.models import Invoice
from careportal.builders import make_invoice, make_plan, make_visit
from careportal.people.models import Client, EmergencyContact
from careportal.scheduling.models import Caregiver, Visit, VisitSchedule

# The lists that grow with the agency: a million visits, 480,000 invoice lines.
BIG_LISTS = [
    "people_client",
    "people_emergencycontact",
    "scheduling_visit",
    "scheduling_visitschedule",
    "billing_invoice",
    "billing_invoiceline",
    "billing_payment",
    "careplans_serviceplan",
    "audit_auditevent",
]
ROLES = ["owner", "administrator", "scheduler", "billing"]


def _list_url(name: str) -> str:
    return reverse(f"backoffice:{name}_changelist")


def _add_rows(world, count: int) -> None:
    """Give Sunrise `count` more clients, each with a contact, a caregiver, a visit and an
    invoice, so that a list of them has as many distinct related rows as rows."""
    cast = world.cast
    start = timezone.now() + datetime.timedelta(days=3)
    for n in range(count):
        client = Client.objects.create(
            agency=cast.sunrise, first_name=f"Extra{n}", last_name=f"Client{n}"
        )
        EmergencyContact.objects.create(
            agency=cast.sunrise, client=client, name=f"Contact {n}", relationship="son"
        )
        caregiver = Caregiver.objects.create(
            agency=cast.sunrise, first_name=f"Carer{n}", last_name="Extra"
        )
        make_visit(client, caregiver, start + datetime.timedelta(hours=n))
        VisitSchedule.objects.create(
            agency=cast.sunrise,
            client=client,
            caregiver=caregiver,
            service="Extra care",
            monday=True,
            start_time=datetime.time(9, 0),
            duration_minutes=60,
            start_date=timezone.localdate(),
        )
        make_plan(client, title=f"Extra plan {n}")
        make_invoice(client, paid=Decimal("5.00"), caregiver=caregiver, number=f"X-{n:04d}")
        AuditEvent.objects.create(
            agency=cast.sunrise, actor=cast.owner, actor_label="owner", action=f"extra.{n}"
        )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", BIG_LISTS)
def test_it_answers_the_big_lists_for_each_role(client, world, role, name):
    staff = getattr(world.cast, role)
    sign_in(client, staff)
    response = client.get(_list_url(name))
    label = name.replace("_", ".", 1)
    if roles.capabilities(staff, label):
        assert response.status_code == 200
        assert "cl" in response.context
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("name", BIG_LISTS)
def test_it_keeps_the_queries_of_a_list_bounded_as_rows_grow(
    client, world, name, django_assert_max_num_queries
):
    sign_in(client, world.cast.owner)
    client.get(_list_url(name))  # warm the session and the content types
    with django_assert_max_num_queries(25) as small:
        assert client.get(_list_url(name)).status_code == 200
    _add_rows(world, 20)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        response = client.get(_list_url(name))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) > 20
    # Not one query more for twenty times the rows: related rows come in the same query.
    assert len(large.captured_queries) <= len(small.captured_queries)


def test_it_never_counts_the_whole_table(client, world, django_assert_max_num_queries):
    sign_in(client, world.cast.owner)
    with django_assert_max_num_queries(25) as queries:
        client.get(_list_url("scheduling_visit"))
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    # One count, of at most the first rows past the limit: never a count of the table.
    assert len(counts) == 1
    assert f"LIMIT {EstimatedCountPaginator.count_limit + 1}" in counts[0]


def test_it_says_more_than_the_limit_and_still_pages(client, world, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_limit", 5)
    # As on SQLite, with no planner estimate: the count stops at the limit.
    monkeypatch.setattr("careportal.backoffice.paging.planner_estimate", lambda queryset: None)
    _add_rows(world, 12)
    sign_in(client, world.cast.owner)
    with monkeypatch.context() as patch:
        patch.setattr("careportal.scheduling.admin.VisitAdmin.list_per_page", 4)
        first = client.get(_list_url("scheduling_visit"))
        content = first.content.decode()
        assert "more than 5 visits" in content
        assert "more than 5 results" in content
        assert first.context["cl"].paginator.is_estimate
        # Past the estimate's last page (two pages of four) the rows go on, page by page.
        third = client.get(_list_url("scheduling_visit"), {"p": 3})
        assert third.status_code == 200
        assert len(third.context["cl"].result_list) == 4
        past_the_end = client.get(_list_url("scheduling_visit"), {"p": 40})
        assert past_the_end.status_code == 200
        assert len(past_the_end.context["cl"].result_list) == 0


def test_it_counts_exactly_under_the_limit(world):
    paginator = EstimatedCountPaginator(Visit.objects.filter(agency=world.cast.sunrise), 100)
    assert paginator.count == Visit.objects.filter(agency=world.cast.sunrise).count()
    assert not paginator.is_estimate
    assert paginator.count_label == str(paginator.count)


def test_it_reads_an_estimate_rounded_with_about(world, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_limit", 1)
    monkeypatch.setattr("careportal.backoffice.paging.planner_estimate", lambda queryset: 1_034_211)
    paginator = EstimatedCountPaginator(Visit.objects.all(), 100)
    assert paginator.count == 1_034_211
    assert paginator.count_label == "about 1,000,000"
    assert paginator.num_pages == 10_343


def test_it_estimates_from_the_planner_on_postgresql_alone(world):
    estimate = planner_estimate(Visit.objects.filter(agency=world.cast.sunrise))
    if connection.vendor == "postgresql":
        # EXPLAIN's row estimate: a number, read without counting the rows.
        assert isinstance(estimate, int) and estimate >= 1
    else:
        assert estimate is None


def test_it_finds_clients_by_the_first_letters_of_a_name(client, world):
    sign_in(client, world.cast.owner)
    found = client.get(_list_url("people_client"), {"q": "marg ha"})
    assert list(found.context["cl"].result_list) == [world.cast.margaret]
    # Letters inside a name are not a prefix: no scan of every name for them.
    assert not list(
        client.get(_list_url("people_client"), {"q": "argaret"}).context["cl"].result_list
    )


def test_it_finds_visits_by_the_clients_name_and_only_the_agencys(client, world):
    cast = world.cast
    walter_visit = make_visit(cast.walter, cast.caregiver, timezone.now())
    sign_in(client, cast.owner)
    rows = list(client.get(_list_url("scheduling_visit"), {"q": "Marg"}).context["cl"].result_list)
    assert rows and all(visit.client_id == cast.margaret.pk for visit in rows)
    assert walter_visit not in rows
    # Harbor's client by name, from Sunrise: nothing.
    hank_rows = client.get(_list_url("scheduling_visit"), {"q": cast.hank.first_name})
    assert not list(hank_rows.context["cl"].result_list)


def test_it_filters_visits_by_a_chosen_client(client, world):
    cast = world.cast
    make_visit(cast.walter, cast.caregiver, timezone.now())
    sign_in(client, cast.owner)
    response = client.get(_list_url("scheduling_visit"), {"client__id__exact": cast.margaret.pk})
    rows = list(response.context["cl"].result_list)
    assert rows and {visit.client_id for visit in rows} == {cast.margaret.pk}
    # An empty box is no filter, not an error.
    everything = client.get(_list_url("scheduling_visit"), {"client__id__exact": ""})
    assert everything.status_code == 200
    assert len(everything.context["cl"].result_list) > len(rows)


def test_it_finds_invoices_by_whole_number_or_client_name(client, world):
    cast = world.cast
    invoice = world.sunrise(Invoice)
    harbor_invoice = world.harbor(Invoice)
    sign_in(client, cast.owner)
    by_number = client.get(_list_url("billing_invoice"), {"q": invoice.number})
    assert list(by_number.context["cl"].result_list) == [invoice]
    by_name = client.get(_list_url("billing_invoice"), {"q": "hale"})
    assert invoice in list(by_name.context["cl"].result_list)
    other = client.get(_list_url("billing_invoice"), {"q": harbor_invoice.number})
    assert harbor_invoice not in list(other.context["cl"].result_list)
    lines = client.get(_list_url("billing_invoiceline"), {"q": invoice.number})
    assert {line.invoice_id for line in lines.context["cl"].result_list} == {invoice.pk}
    payments = client.get(_list_url("billing_payment"), {"q": invoice.number})
    assert {p.invoice_id for p in payments.context["cl"].result_list} == {invoice.pk}


def test_it_autocompletes_invoices_by_number_within_the_agency(client, world):
    sign_in(client, world.cast.owner)
    query = {"app_label": "billing", "model_name": "payment", "field_name": "invoice"}
    own = client.get(
        reverse("backoffice:autocomplete"), {**query, "term": world.sunrise(Invoice).number}
    )
    assert [r["id"] for r in json.loads(own.content)["results"]] == [str(world.sunrise(Invoice).pk)]
    foreign = client.get(
        reverse("backoffice:autocomplete"), {**query, "term": world.harbor(Invoice).number}
    )
    assert json.loads(foreign.content)["results"] == []


def test_it_links_a_clients_visits_and_invoices_rather_than_listing_them(
    client, world, django_assert_max_num_queries
):
    cast = world.cast
    url = reverse("backoffice:people_client_change", args=[cast.margaret.pk])
    sign_in(client, cast.owner)
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    start = timezone.now()
    for n in range(40):
        make_visit(cast.margaret, cast.caregiver, start + datetime.timedelta(days=n))
        make_invoice(cast.margaret, number=f"M-{n:04d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    content = response.content.decode()
    visits = f"{_list_url('scheduling_visit')}?client__id__exact={cast.margaret.pk}"
    invoices = f"{_list_url('billing_invoice')}?client__id__exact={cast.margaret.pk}"
    assert visits in content and invoices in content
    assert "M-0001" not in content


def test_it_links_only_the_records_the_role_may_open(client, world):
    sign_in(client, world.cast.scheduler)
    url = reverse("backoffice:people_client_change", args=[world.cast.margaret.pk])
    content = client.get(url).content.decode()
    assert f"{_list_url('scheduling_visit')}?client__id__exact=" in content
    assert _list_url("billing_invoice") not in content
