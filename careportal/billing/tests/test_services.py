"""The one door for invoices, lines and payments: checked first, the money and the parties'
totals stored, one audit event; no hard delete for the API (void instead)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.billing.models import Invoice, InvoiceLine, InvoiceStatus, InvoiceTotals, Payment
from careportal.billing.services import (
    create_invoice,
    issue_invoice,
    record_payment,
    save_invoice,
    save_invoice_line,
    void_invoice,
)
from careportal.builders import make_invoice

DAY = datetime.date(2026, 3, 31)


def _invoice(cast, **kwargs) -> Invoice:
    fields = {
        "number": "INV-2026-0001",
        "client": cast.margaret,
        "bill_to_client": cast.margaret,
        "issue_date": DAY,
        "due_date": DAY + datetime.timedelta(days=30),
        "period_start": DAY.replace(day=1),
        "period_end": DAY,
        "tax_rate": Decimal("7.5"),
        "adjustments": Decimal("-1.00"),
    }
    fields.update(kwargs)
    return Invoice(**fields)


def _line(**kwargs) -> InvoiceLine:
    fields = {"date": DAY, "service": "Personal care", "hours": "1.50", "rate": "10.01"}
    fields.update(kwargs)
    return InvoiceLine(**fields)


def _money(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return (invoice.subtotal, invoice.tax, invoice.total, invoice.amount_paid, invoice.balance)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_it_creates_a_draft_with_its_lines_and_its_money_stored(cast):
    invoice = create_invoice(invoice=_invoice(cast), lines=[_line(), _line()], actor=cast.billing)

    # 1.50 h x 10.01 = 15.015 -> 15.02 a line; tax 7.5 % of 30.04 = 2.253 -> 2.25; -1.00.
    assert _money(invoice) == (
        Decimal("30.04"),
        Decimal("2.25"),
        Decimal("31.29"),
        Decimal("0.00"),
        Decimal("31.29"),
    )
    assert (invoice.status, invoice.agency) == (InvoiceStatus.DRAFT, cast.sunrise)
    assert {line.agency_id for line in invoice.lines.all()} == {cast.sunrise.pk}
    (event,) = _events("invoice.created")
    assert (event.actor, event.client_id, event.detail) == (
        cast.billing,
        cast.margaret.pk,
        {"lines": 2},
    )


def test_it_creates_for_an_integration_with_an_agency_and_no_login(cast):
    invoice = create_invoice(
        invoice=_invoice(cast, external_id="QB-1"), lines=[_line()], actor=None, agency=cast.sunrise
    )

    assert Invoice.objects.get(agency=cast.sunrise, external_id="QB-1") == invoice
    assert _events("invoice.created")[0].actor is None


def test_it_names_a_bad_line_and_saves_nothing(cast):
    with pytest.raises(ValidationError) as error:
        create_invoice(
            invoice=_invoice(cast), lines=[_line(), _line(hours="-1")], actor=cast.billing
        )

    assert set(error.value.message_dict) == {"lines.1.hours"}
    assert not Invoice.objects.exists()
    assert not InvoiceLine.objects.exists()
    assert not _events("invoice.created")


def test_it_names_a_number_the_agency_has_used_already(cast):
    make_invoice(cast.margaret, number="INV-2026-0001")

    with pytest.raises(ValidationError) as error:
        create_invoice(invoice=_invoice(cast), lines=[_line()], actor=cast.billing)

    assert "number" in error.value.message_dict
    assert Invoice.objects.count() == 1


def test_it_creates_only_drafts(cast):
    with pytest.raises(ValidationError) as error:
        create_invoice(
            invoice=_invoice(cast, status=InvoiceStatus.ISSUED), lines=[_line()], actor=cast.billing
        )

    assert "status" in error.value.message_dict
    assert not Invoice.objects.exists()


def test_it_bills_exactly_one_party_related_to_the_client(cast):
    with pytest.raises(ValidationError) as none:
        create_invoice(invoice=_invoice(cast, bill_to_client=None), actor=cast.billing)
    with pytest.raises(ValidationError) as unrelated:
        # The family trust pays for Walter, not for Margaret.
        create_invoice(
            invoice=_invoice(cast, bill_to_client=None, bill_to_payer=cast.trust),
            actor=cast.billing,
        )

    assert "bill_to" in none.value.message_dict
    assert "bill_to_payer" in unrelated.value.message_dict
    assert not Invoice.objects.exists()


def test_it_refuses_another_agencys_client(cast):
    with pytest.raises(ValidationError) as error:
        create_invoice(
            invoice=_invoice(cast, client=cast.hank, bill_to_client=cast.margaret),
            actor=cast.billing,
        )

    assert "client" in error.value.message_dict
    assert not Invoice.objects.exists()


def test_it_records_a_payment_with_the_money_and_the_partys_totals(cast):
    invoice = make_invoice(cast.rosa, bill_to=cast.atlas)  # 77.50, issued

    record_payment(
        payment=Payment(invoice=invoice, date=DAY, amount=Decimal("27.50")), actor=cast.billing
    )

    assert _money(invoice)[3:] == (Decimal("27.50"), Decimal("50.00"))
    totals = InvoiceTotals.objects.get(bill_to_payer=cast.atlas)
    assert (totals.total, totals.due) == (Decimal("77.50"), Decimal("50.00"))
    (event,) = _events("payment.recorded")
    assert event.actor == cast.billing


def test_it_keeps_both_invoices_right_when_a_payment_moves(cast):
    first = make_invoice(cast.margaret, paid=Decimal("20.00"))
    second = make_invoice(cast.margaret)
    payment = first.payments.get()
    payment.invoice = second

    record_payment(payment=payment, actor=cast.billing)

    assert _money(first)[3:] == (Decimal("0.00"), Decimal("77.50"))
    assert _money(second)[3:] == (Decimal("20.00"), Decimal("57.50"))
    assert _events("payment.changed")[0].detail["fields"] == ["invoice"]


def test_it_refuses_a_payment_on_another_agencys_invoice(cast):
    theirs = make_invoice(cast.hank)

    with pytest.raises(ValidationError) as error:
        record_payment(
            payment=Payment(invoice=theirs, date=DAY, amount=Decimal("5.00")), actor=cast.billing
        )

    assert "invoice" in error.value.message_dict
    assert not Payment.objects.exists()
    assert _money(theirs)[3:] == (Decimal("0.00"), Decimal("77.50"))


def test_it_refuses_a_payment_of_nothing_and_changes_nothing(cast):
    invoice = make_invoice(cast.margaret)

    with pytest.raises(ValidationError) as error:
        record_payment(
            payment=Payment(invoice=invoice, date=DAY, amount=Decimal("0")), actor=cast.billing
        )

    assert "amount" in error.value.message_dict
    assert not Payment.objects.exists()


def test_it_adds_a_line_and_stores_the_money(cast):
    invoice = make_invoice(cast.margaret)

    save_invoice_line(line=_line(invoice=invoice), actor=cast.billing)

    assert _money(invoice)[2] == Decimal("92.52")  # 77.50 + 15.02
    assert len(_events("invoice_line.created")) == 1


def test_it_moves_the_totals_when_an_invoice_is_billed_to_another_party(cast):
    invoice = make_invoice(cast.rosa, bill_to=cast.atlas)
    invoice.bill_to_payer = None
    invoice.bill_to_client = cast.rosa

    save_invoice(invoice=invoice, actor=cast.billing)

    assert InvoiceTotals.objects.get(bill_to_payer=cast.atlas).invoices == 0
    assert InvoiceTotals.objects.get(bill_to_client=cast.rosa).due == Decimal("77.50")
    (event,) = _events("invoice.changed")
    assert sorted(event.detail["fields"]) == ["bill_to_client", "bill_to_payer"]


def test_it_changes_the_status_only_by_issuing_or_voiding(cast):
    invoice = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    invoice.status = InvoiceStatus.ISSUED

    with pytest.raises(ValidationError) as error:
        save_invoice(invoice=invoice, actor=cast.billing)

    assert "status" in error.value.message_dict
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT


def test_it_voids_rather_than_deletes_an_issued_invoice(cast):
    invoice = create_invoice(
        invoice=_invoice(cast), lines=[_line()], actor=None, agency=cast.sunrise
    )
    issue_invoice(invoice=invoice, actor=None)
    record_payment(
        payment=Payment(invoice=invoice, date=DAY, amount=Decimal("5.00")),
        actor=None,
        agency=cast.sunrise,
    )

    void_invoice(invoice=invoice, actor=None)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (InvoiceStatus.VOID, Decimal("0.00"))
    assert invoice.payments.count() == 1
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "invoice.created",
        "invoice.issued",
        "payment.recorded",
        "invoice.voided",
    ]


def _invoice_form(cast, **overrides) -> dict:
    data = {
        "number": "INV-BO-9",
        "bill_to_client": cast.margaret.pk,
        "client": cast.margaret.pk,
        "issue_date": DAY,
        "due_date": DAY + datetime.timedelta(days=30),
        "period_start": DAY.replace(day=1),
        "period_end": DAY,
        "tax_rate": "0",
        "adjustments": "0",
        "lines-TOTAL_FORMS": 1,
        "lines-INITIAL_FORMS": 0,
        "lines-0-date": DAY,
        "lines-0-service": "Personal care",
        "lines-0-hours": "2.00",
        "lines-0-rate": "30.00",
        "payments-TOTAL_FORMS": 1,
        "payments-INITIAL_FORMS": 0,
        "payments-0-date": DAY,
        "payments-0-amount": "10.00",
    }
    data.update(overrides)
    return data


def test_it_saves_the_back_offices_invoice_page_through_the_door(client, cast):
    sign_in(client, cast.billing)

    response = client.post(reverse("backoffice:billing_invoice_add"), _invoice_form(cast))

    assert response.status_code == 302
    invoice = Invoice.objects.get(number="INV-BO-9")
    assert invoice.status == InvoiceStatus.DRAFT
    assert _money(invoice)[2:] == (Decimal("60.00"), Decimal("10.00"), Decimal("50.00"))
    assert [e.action for e in AuditEvent.objects.filter(actor=cast.billing).order_by("id")][
        -2:
    ] == ["invoice.created", "payment.recorded"]


def test_it_audits_the_back_offices_delete_of_a_payment(client, cast):
    invoice = make_invoice(cast.margaret, paid=Decimal("20.00"))
    payment = invoice.payments.get()
    sign_in(client, cast.billing)

    response = client.post(
        reverse("backoffice:billing_payment_delete", args=[payment.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert _money(invoice)[3:] == (Decimal("0.00"), Decimal("77.50"))
    assert _events("payment.deleted")[0].actor == cast.billing


def test_it_keeps_schedulers_and_another_agency_away_from_invoices(client, cast):
    invoice = make_invoice(cast.margaret)
    for who in (cast.scheduler, cast.harriet):
        sign_in(client, who)

        response = client.post(
            reverse("backoffice:billing_payment_add"),
            {"invoice": invoice.pk, "date": DAY, "amount": "20.00"},
        )

        assert response.status_code in (200, 302, 404)
    assert not Payment.objects.exists()
    assert not _events("payment.recorded")


def test_it_refuses_to_issue_or_void_another_agencys_invoice_for_an_integration(cast):
    theirs = make_invoice(cast.hank, status=InvoiceStatus.DRAFT)

    with pytest.raises(Invoice.DoesNotExist):
        issue_invoice(invoice=theirs, actor=None, agency=cast.sunrise)
    with pytest.raises(Invoice.DoesNotExist):
        void_invoice(invoice=theirs, actor=None, agency=cast.sunrise)

    assert Invoice.objects.get(pk=theirs.pk).status == InvoiceStatus.DRAFT
