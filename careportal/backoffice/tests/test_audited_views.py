"""Every back-office view of a service plan, an invoice or a visit is an audit event."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.billing.models import Invoice, InvoiceLine, Payment
from careportal.builders import make_invoice, make_plan, make_visit
from careportal.careplans.models import Goal, PlanTask, ServicePlan
from careportal.scheduling.models import Visit


def _url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"backoffice:{opts.app_label}_{opts.model_name}_{view}", args=args)


# model, the record an event names (None: the row itself), viewed action, list action.
AUDITED = [
    pytest.param(ServicePlan, None, "service_plan.viewed", "service_plan.list_viewed", id="plan"),
    pytest.param(Goal, "plan", "service_plan.viewed", "service_plan.list_viewed", id="goal"),
    pytest.param(PlanTask, "plan", "service_plan.viewed", "service_plan.list_viewed", id="task"),
    pytest.param(Invoice, None, "invoice.viewed", "invoice.list_viewed", id="invoice"),
    pytest.param(InvoiceLine, "invoice", "invoice.viewed", "invoice.list_viewed", id="line"),
    pytest.param(Payment, "invoice", "invoice.viewed", "invoice.list_viewed", id="payment"),
    pytest.param(Visit, None, "calendar.viewed", "calendar.viewed", id="visit"),
]


@pytest.mark.parametrize(("model", "via", "action", "list_action"), AUDITED)
def test_it_records_each_opening_of_a_record(client, world, model, via, action, list_action):
    row = world.sunrise(model)
    named = getattr(row, via) if via else row
    sign_in(client, world.cast.owner)

    response = client.get(_url(model, "change", row.pk))

    assert response.status_code == 200
    event = AuditEvent.objects.get(action=action)
    assert (event.actor, event.agency) == (world.cast.owner, world.cast.sunrise)
    assert event.object_type == named._meta.label_lower
    assert event.object_id == str(named.pk)
    assert event.client_id == world.cast.margaret.pk
    assert event.detail["place"] == "backoffice"
    if via:
        assert event.detail[model._meta.model_name] == row.pk


@pytest.mark.parametrize(("model", "via", "action", "list_action"), AUDITED)
def test_it_records_the_rows_shown_on_a_change_list(client, world, model, via, action, list_action):
    cast = world.cast
    # A second client's records, so the event names both clients.
    make_plan(cast.walter, title="Walter plan")
    make_invoice(cast.walter, bill_to=cast.trust, paid=Decimal("5.00"))
    make_visit(cast.walter, cast.caregiver, world.sunrise(Visit).start)
    sign_in(client, cast.owner)

    response = client.get(_url(model, "changelist"))

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert len(shown) == 2
    (event,) = AuditEvent.objects.filter(action=list_action)
    assert (event.actor, event.agency) == (cast.owner, cast.sunrise)
    assert event.detail["place"] == "backoffice"
    assert event.detail["model"] == model._meta.label_lower
    assert event.detail["ids"] == [row.pk for row in shown]
    assert event.detail["clients"] == sorted([cast.margaret.pk, cast.walter.pk])
    if via:
        assert event.detail[f"{via}s"] == sorted({getattr(row, f"{via}_id") for row in shown})
    # Nothing of Harbor's is named.
    assert world.harbor(model).pk not in event.detail["ids"]


def test_it_records_one_event_per_page_of_a_change_list(client, world):
    cast = world.cast
    for _ in range(3):
        make_invoice(cast.margaret)
    sign_in(client, cast.billing)
    url = _url(Invoice, "changelist")

    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "no such invoice"}).status_code == 200
    # A filter Django refuses: a redirect, nothing shown.
    assert client.get(url, {"no_such_field": "1"}).status_code == 302

    events = list(AuditEvent.objects.filter(action="invoice.list_viewed").order_by("pk"))
    assert [len(event.detail["ids"]) for event in events] == [4, 0]


def test_it_records_no_view_for_a_refused_page(client, world):
    sign_in(client, world.cast.billing)

    assert client.get(_url(ServicePlan, "changelist")).status_code == 404
    assert client.get(_url(Goal, "change", world.sunrise(Goal).pk)).status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="service_plan.").exists()


def test_it_keeps_the_change_list_queries_constant(client, world, django_assert_max_num_queries):
    cast = world.cast
    sign_in(client, cast.owner)
    bounds = {}
    for model in (ServicePlan, Goal, PlanTask, Invoice, InvoiceLine, Payment, Visit):
        with django_assert_max_num_queries(40) as few:
            client.get(_url(model, "changelist"))
        bounds[model] = len(few.captured_queries)
    for _ in range(10):
        make_plan(cast.walter)
        make_invoice(cast.walter, bill_to=cast.trust, lines=2, paid=Decimal("1.00"))
        make_visit(cast.walter, cast.caregiver, world.sunrise(Visit).start)
    for model, bound in bounds.items():
        with django_assert_max_num_queries(bound):
            assert client.get(_url(model, "changelist")).status_code == 200
