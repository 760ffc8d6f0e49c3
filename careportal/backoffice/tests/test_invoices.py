"""Invoices in the back office: issue and void, each audited; money shown computed; the
number, the bill-to party and the default dates checked."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.billing import services
from careportal.billing.models import Invoice, InvoiceStatus, Payment
from careportal.builders import make_invoice
from careportal.people.models import ClientPayer, Residence


def _act(client, action: str, *invoices):
    return client.post(
        reverse("backoffice:billing_invoice_changelist"),
        {"action": action, "_selected_action": [i.pk for i in invoices]},
        follow=True,
    )


def test_it_issues_a_draft_invoice(client, cast):
    draft = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    sign_in(client, cast.billing)
    response = _act(client, "issue_selected", draft)
    assert response.status_code == 200
    assert "1 invoice issued." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED
    event = AuditEvent.objects.get(action="invoice.issued")
    assert (event.object_id, event.actor, event.agency) == (
        str(draft.pk),
        cast.billing,
        cast.sunrise,
    )
    assert event.client_id == cast.margaret.pk


def test_it_voids_an_issued_invoice(client, cast):
    issued = make_invoice(cast.margaret)
    sign_in(client, cast.owner)
    response = _act(client, "void_selected", issued)
    assert "1 invoice voided." in response.content.decode()
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.VOID
    event = AuditEvent.objects.get(action="invoice.voided")
    assert event.detail == {"previous_status": "issued"}


def test_it_refuses_to_issue_an_invoice_twice(client, cast):
    issued = make_invoice(cast.margaret)
    sign_in(client, cast.billing)
    response = _act(client, "issue_selected", issued)
    assert "Only a draft invoice can be issued." in response.content.decode()
    assert not AuditEvent.objects.filter(action="invoice.issued").exists()
    with pytest.raises(services.InvoiceStateError):
        services.issue_invoice(invoice=issued, actor=cast.billing)


def test_it_never_acts_on_another_agencys_invoice(client, cast):
    sunrise_draft = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    sign_in(client, cast.harriet)
    _act(client, "issue_selected", sunrise_draft)
    sunrise_draft.refresh_from_db()
    assert sunrise_draft.status == InvoiceStatus.DRAFT
    assert not AuditEvent.objects.filter(action="invoice.issued").exists()


def test_it_shows_the_money_computed(client, cast):
    # Two lines of 2.50 h at 31.00 = 155.00; 20.00 paid leaves 135.00.
    invoice = make_invoice(cast.margaret, lines=2, paid=Decimal("20.00"))
    sign_in(client, cast.billing)
    response = client.get(reverse("backoffice:billing_invoice_change", args=[invoice.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    for amount in ("155.00", "20.00", "135.00", "77.50"):
        assert amount in content
    assert "Issued" in content


def test_it_offers_no_invoice_actions_to_roles_that_cannot_edit(client, cast):
    draft = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    sign_in(client, cast.scheduler)
    response = _act(client, "issue_selected", draft)
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT


def _invoice_form(cast, **overrides):
    today = timezone.localdate(timezone=cast.sunrise.tz)
    data = {
        "number": "INV-2026-0001",
        "bill_to_client": cast.margaret.pk,
        "client": cast.margaret.pk,
        "issue_date": today,
        "due_date": today + datetime.timedelta(days=30),
        "period_start": today - datetime.timedelta(days=30),
        "period_end": today,
        "tax_rate": "0",
        "adjustments": "0",
        "lines-TOTAL_FORMS": 0,
        "lines-INITIAL_FORMS": 0,
        "payments-TOTAL_FORMS": 0,
        "payments-INITIAL_FORMS": 0,
    }
    data.update(overrides)
    return data


def _add_invoice(browser, cast, /, **overrides):
    sign_in(browser, cast.billing)
    return browser.post(reverse("backoffice:billing_invoice_add"), _invoice_form(cast, **overrides))


@pytest.mark.parametrize("number", ["INV/2026/1", "INV 1", "../x", "..", "INV#1", "INV?1", "ÉTÉ-1"])
def test_it_refuses_an_invoice_number_the_portal_cannot_link_to(client, cast, number):
    response = _add_invoice(client, cast, number=number)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["number"]
    assert errors == [
        "Use only letters, digits, dots, dashes and underscores, "
        "starting with a letter or a digit (for example INV-2026-0001)."
    ]
    assert not Invoice.objects.filter(number=number).exists()


def test_it_accepts_letters_digits_dots_dashes_and_underscores(client, cast):
    response = _add_invoice(client, cast, number="Inv_2026.01-7")

    assert response.status_code == 302
    assert Invoice.objects.get(number="Inv_2026.01-7").agency == cast.sunrise


def test_it_validates_the_invoice_number_on_the_model(cast):
    invoice = make_invoice(cast.margaret)
    invoice.number = "2026/0001"
    with pytest.raises(ValidationError) as raised:
        invoice.full_clean()
    assert "number" in raised.value.message_dict


@pytest.mark.parametrize(
    ("bill_to", "message"),
    [
        ({"bill_to_client": "walter"}, "must cover that client's own care"),
        ({"bill_to_payer": "trust"}, "Hale Family Trust is not a payer of Margaret Hale"),
        ({"bill_to_community": "maple"}, "Margaret Hale has never lived at Maple Grove"),
    ],
)
def test_it_refuses_to_bill_a_party_unrelated_to_the_client(client, cast, bill_to, message):
    ((field, who),) = bill_to.items()
    response = _add_invoice(client, cast, **{"bill_to_client": "", field: getattr(cast, who).pk})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors[field]
    assert len(errors) == 1 and message in errors[0]
    assert not Invoice.objects.filter(number="INV-2026-0001").exists()


@pytest.mark.parametrize(
    ("client_name", "bill_to"),
    [
        ("margaret", {"bill_to_client": "margaret"}),
        ("margaret", {"bill_to_payer": "atlas"}),
        ("rosa", {"bill_to_community": "maple"}),
    ],
)
def test_it_bills_the_client_a_linked_payer_or_a_community_lived_in(
    client, cast, client_name, bill_to
):
    ((field, who),) = bill_to.items()
    overrides = {"bill_to_client": "", "client": getattr(cast, client_name).pk}
    overrides[field] = getattr(cast, who).pk

    response = _add_invoice(client, cast, **overrides)

    assert response.status_code == 302
    assert getattr(Invoice.objects.get(number="INV-2026-0001"), field) == getattr(cast, who)


def test_it_bills_a_payer_whose_link_has_ended(client, cast):
    # Care given during the link is billed after it ended: any dates count.
    ClientPayer.objects.filter(client=cast.margaret, payer=cast.atlas).update(
        end_date=timezone.localdate() - datetime.timedelta(days=10)
    )
    response = _add_invoice(client, cast, bill_to_client="", bill_to_payer=cast.atlas.pk)

    assert response.status_code == 302


def test_it_refuses_to_issue_an_invoice_billed_to_an_unrelated_party(client, cast):
    draft = make_invoice(cast.margaret, bill_to=cast.atlas, status=InvoiceStatus.DRAFT)
    ClientPayer.objects.filter(client=cast.margaret, payer=cast.atlas).delete()

    with pytest.raises(services.InvoiceStateError, match="not a payer of Margaret Hale"):
        services.issue_invoice(invoice=draft, actor=cast.billing)
    sign_in(client, cast.billing)
    response = _act(client, "issue_selected", draft)

    assert "Atlas Long-Term Care is not a payer of Margaret Hale" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT
    assert not AuditEvent.objects.filter(action="invoice.issued").exists()


def test_it_makes_no_test_invoice_for_an_unrelated_party(cast):
    with pytest.raises(ValueError, match="never lived at Maple Grove"):
        make_invoice(cast.margaret, bill_to=cast.maple)


def test_it_defaults_dates_to_the_agencys_day():
    for field in (
        Invoice._meta.get_field("issue_date"),
        Payment._meta.get_field("date"),
        ClientPayer._meta.get_field("start_date"),
        Residence._meta.get_field("start_date"),
    ):
        assert field.default is timezone.localdate, field


# 02:30 UTC on 10 March is still the evening of 9 March in New York, the agency's zone.
LATE_EVENING_IN_NEW_YORK = datetime.datetime(2026, 3, 10, 2, 30, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("page", "field"),
    [
        ("billing_invoice_add", "issue_date"),
        ("billing_payment_add", "date"),
        ("people_clientpayer_add", "start_date"),
        ("people_residence_add", "start_date"),
    ],
)
def test_it_offers_the_agencys_date_as_the_default(client, cast, page, field):
    with time_machine.travel(LATE_EVENING_IN_NEW_YORK, tick=False):
        sign_in(client, cast.owner)
        response = client.get(reverse(f"backoffice:{page}"))
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert form[field].value() == datetime.date(2026, 3, 9)
        assert 'value="2026-03-09"' in response.content.decode()
