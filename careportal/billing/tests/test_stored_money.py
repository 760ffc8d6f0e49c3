import datetime
import importlib
from decimal import Decimal

from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from careportal.backoffice.tests.conftest import sign_in
from careportal.billing.models import Invoice, InvoiceStatus, Payment
from careportal.billing.services import recompute_invoice_money, void_invoice
from careportal.builders import make_invoice


def test_it_stores_the_money_as_each_line_rounded_half_up(cast):
    # 1.50 h x 10.01 = 15.015 -> 15.02 a line; tax 7.5 % of 30.04 = 2.253 -> 2.25;
    # adjustments -1.00: total 31.29; 40.00 paid: overpaid by 8.71.
    invoice = make_invoice(cast.margaret, lines=2, paid=Decimal("40.00"))
    invoice.lines.update(hours=Decimal("1.50"), rate=Decimal("10.01"))
    invoice.tax_rate, invoice.adjustments = Decimal("7.5"), Decimal("-1.00")
    invoice.save()

    recompute_invoice_money(invoice=invoice)

    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("30.04"),
        Decimal("2.25"),
        Decimal("31.29"),
    )
    assert (invoice.amount_paid, invoice.balance) == (Decimal("40.00"), Decimal("-8.71"))
    assert invoice.shown_status == "paid"


def test_it_owes_nothing_once_void(cast):
    invoice = make_invoice(cast.margaret, paid=Decimal("10.00"))

    void_invoice(invoice=invoice, actor=cast.billing)

    invoice.refresh_from_db()
    assert (invoice.total, invoice.amount_paid, invoice.balance) == (
        Decimal("77.50"),
        Decimal("10.00"),
        Decimal("0.00"),
    )


def _stored(invoice) -> tuple:
    invoice.refresh_from_db()
    return (invoice.subtotal, invoice.tax, invoice.total, invoice.amount_paid, invoice.balance)


def test_it_stores_the_money_when_the_back_office_saves_an_invoice_with_inlines(client, cast):
    today = timezone.localdate(timezone=cast.sunrise.tz)
    sign_in(client, cast.billing)

    response = client.post(
        reverse("backoffice:billing_invoice_add"),
        {
            "number": "INV-BO-1",
            "bill_to_client": cast.margaret.pk,
            "client": cast.margaret.pk,
            "issue_date": today,
            "due_date": today + datetime.timedelta(days=30),
            "period_start": today - datetime.timedelta(days=30),
            "period_end": today,
            "tax_rate": "10",
            "adjustments": "-1.00",
            "lines-TOTAL_FORMS": 1,
            "lines-INITIAL_FORMS": 0,
            "lines-0-date": today,
            "lines-0-service": "Personal care",
            "lines-0-hours": "1.50",
            "lines-0-rate": "10.01",
            "payments-TOTAL_FORMS": 1,
            "payments-INITIAL_FORMS": 0,
            "payments-0-date": today,
            "payments-0-amount": "5.00",
        },
    )

    assert response.status_code == 302
    invoice = Invoice.objects.get(number="INV-BO-1")
    # 15.015 -> 15.02; tax 1.502 -> 1.50; -1.00: 15.52; 5.00 paid.
    assert _stored(invoice) == (
        Decimal("15.02"),
        Decimal("1.50"),
        Decimal("15.52"),
        Decimal("5.00"),
        Decimal("10.52"),
    )


def test_it_stores_the_money_when_the_back_office_adds_moves_or_deletes_a_payment(client, cast):
    first = make_invoice(cast.margaret)
    second = make_invoice(cast.margaret)
    sign_in(client, cast.billing)
    today = timezone.localdate(timezone=cast.sunrise.tz)

    client.post(
        reverse("backoffice:billing_payment_add"),
        {"invoice": first.pk, "date": today, "amount": "20.00"},
    )
    assert _stored(first)[3:] == (Decimal("20.00"), Decimal("57.50"))
    payment = Payment.objects.get(invoice=first)

    client.post(
        reverse("backoffice:billing_payment_change", args=[payment.pk]),
        {"invoice": second.pk, "date": today, "amount": "30.00"},
    )
    assert _stored(first)[3:] == (Decimal("0.00"), Decimal("77.50"))
    assert _stored(second)[3:] == (Decimal("30.00"), Decimal("47.50"))

    client.post(reverse("backoffice:billing_payment_delete", args=[payment.pk]), {"post": "yes"})
    assert not Payment.objects.exists()
    assert _stored(second)[3:] == (Decimal("0.00"), Decimal("77.50"))


def test_it_stores_the_money_when_the_back_office_deletes_lines_in_bulk(client, cast):
    invoice = make_invoice(cast.margaret, lines=3)
    sign_in(client, cast.owner)

    client.post(
        reverse("backoffice:billing_invoiceline_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": list(invoice.lines.values_list("pk", flat=True)[:2]),
            "post": "yes",
        },
    )

    assert invoice.lines.count() == 1
    assert _stored(invoice)[2:] == (Decimal("77.50"), Decimal("0.00"), Decimal("77.50"))


def test_it_fills_the_stored_money_of_existing_invoices_when_migrating(cast):
    fill = importlib.import_module("careportal.billing.migrations.0003_invoice_stored_money")
    rounded = make_invoice(cast.margaret, lines=2, paid=Decimal("40.00"))
    rounded.lines.update(hours=Decimal("1.50"), rate=Decimal("10.01"))
    voided = make_invoice(cast.margaret, paid=Decimal("10.00"), status=InvoiceStatus.VOID)
    Invoice.objects.filter(pk=rounded.pk).update(tax_rate=Decimal("7.5"))
    # As before the migration: nothing stored.
    Invoice.objects.update(subtotal=0, tax=0, total=0, amount_paid=0, balance=0)

    fill.fill_stored_money(apps, None)

    assert _stored(rounded) == (
        Decimal("30.04"),
        Decimal("2.25"),
        Decimal("32.29"),
        Decimal("40.00"),
        Decimal("-7.71"),
    )
    assert _stored(voided) == (
        Decimal("77.50"),
        Decimal("0.00"),
        Decimal("77.50"),
        Decimal("10.00"),
        Decimal("0.00"),
    )


def _totals_of(**party) -> tuple:
    from careportal.billing.models import InvoiceTotals

    row = InvoiceTotals.objects.get(**party)
    return (row.invoices, row.total, row.due, row.paid_invoices, row.paid_total)


def test_it_keeps_a_partys_totals_as_invoices_are_issued_paid_and_voided(cast):
    from careportal.billing.services import issue_invoice

    draft = make_invoice(cast.rosa, bill_to=cast.atlas, status=InvoiceStatus.DRAFT)
    make_invoice(cast.margaret, bill_to=cast.atlas, paid=Decimal("7.50"))  # owes 70.00
    assert _totals_of(bill_to_payer=cast.atlas) == (1, Decimal("77.50"), Decimal("70.00"), 0, 0)

    issue_invoice(invoice=draft, actor=cast.billing)
    assert _totals_of(bill_to_payer=cast.atlas) == (
        2,
        Decimal("155.00"),
        Decimal("147.50"),
        0,
        0,
    )

    Payment.objects.create(agency=cast.sunrise, invoice=draft, amount=Decimal("77.50"))
    recompute_invoice_money(invoice=draft)
    assert _totals_of(bill_to_payer=cast.atlas) == (
        2,
        Decimal("155.00"),
        Decimal("70.00"),
        1,
        Decimal("77.50"),
    )

    void_invoice(invoice=draft, actor=cast.billing)
    # Still counted among the invoices, but neither billed nor paid.
    assert _totals_of(bill_to_payer=cast.atlas) == (2, Decimal("77.50"), Decimal("70.00"), 0, 0)


def test_it_moves_the_totals_when_the_back_office_bills_another_party_or_deletes(client, cast):
    from careportal.billing.models import InvoiceTotals

    invoice = make_invoice(cast.rosa, bill_to=cast.atlas)
    other = make_invoice(cast.rosa, bill_to=cast.atlas)
    sign_in(client, cast.owner)
    url = reverse("backoffice:billing_invoice_change", args=[invoice.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "bill_to_payer": "",
            "bill_to_client": cast.rosa.pk,
            "lines-TOTAL_FORMS": 0,
            "lines-INITIAL_FORMS": 0,
            "payments-TOTAL_FORMS": 0,
            "payments-INITIAL_FORMS": 0,
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _totals_of(bill_to_payer=cast.atlas)[:3] == (1, Decimal("77.50"), Decimal("77.50"))
    assert _totals_of(bill_to_client=cast.rosa)[:3] == (1, Decimal("77.50"), Decimal("77.50"))

    client.post(
        reverse("backoffice:billing_invoice_changelist"),
        {"action": "delete_selected", "_selected_action": [invoice.pk, other.pk], "post": "yes"},
    )

    assert not Invoice.objects.exists()
    assert InvoiceTotals.objects.get(bill_to_payer=cast.atlas).invoices == 0
    assert InvoiceTotals.objects.get(bill_to_client=cast.rosa).due == 0


def test_it_fills_the_totals_of_existing_invoices_when_migrating(cast):
    from careportal.billing.models import InvoiceTotals

    fill = importlib.import_module("careportal.billing.migrations.0007_invoice_totals")
    make_invoice(cast.rosa, bill_to=cast.atlas, paid=Decimal("77.50"))
    make_invoice(cast.margaret, bill_to=cast.atlas, paid=Decimal("7.50"))
    make_invoice(cast.margaret, status=InvoiceStatus.VOID)
    make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    InvoiceTotals.objects.all().delete()

    fill.count_totals(apps, None)

    assert _totals_of(bill_to_payer=cast.atlas) == (
        2,
        Decimal("155.00"),
        Decimal("70.00"),
        1,
        Decimal("77.50"),
    )
    assert _totals_of(bill_to_client=cast.margaret) == (1, Decimal("0.00"), Decimal("0.00"), 0, 0)
