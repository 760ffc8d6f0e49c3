from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from careportal.billing.models import Invoice, InvoiceStatus, InvoiceTotals, Payment
from careportal.builders import make_invoice


def _check(*args: str) -> str:
    out = StringIO()
    call_command("check_invoice_money", *args, stdout=out)
    return out.getvalue()


def test_it_reports_nothing_when_every_figure_is_right(cast):
    make_invoice(cast.margaret, lines=3, paid=Decimal("10.00"))
    make_invoice(cast.walter, bill_to=cast.trust, status=InvoiceStatus.VOID)
    make_invoice(cast.hank, number="H-1", paid=Decimal("100.00"))

    out = _check("--batch-size", "2")

    assert out.strip() == "Checked 3 invoices: 0 differ; totals of 0 bill-to parties differ."


def test_it_prints_each_difference_and_fails(cast):
    invoice = make_invoice(cast.margaret, number="INV-WRONG")  # 77.50, nothing paid
    make_invoice(cast.margaret, number="INV-RIGHT")
    # A payment written behind the services' back: the stored figures are now stale.
    Payment.objects.create(agency=cast.sunrise, invoice=invoice, amount=Decimal("7.50"))
    out = StringIO()

    with pytest.raises(
        CommandError, match="Checked 2 invoices: 1 differ; totals of 0 bill-to parties differ."
    ):
        call_command("check_invoice_money", stdout=out)

    lines = out.getvalue().splitlines()
    agency = cast.sunrise.pk
    assert lines == [
        f"INV-WRONG (agency {agency}): amount_paid stored 0.00, expected 7.50",
        f"INV-WRONG (agency {agency}): balance stored 77.50, expected 70.00",
    ]
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("77.50")  # reported, not changed


def test_it_fixes_the_wrong_figures_with_fix(cast):
    invoice = make_invoice(cast.margaret, lines=2, number="INV-WRONG")
    Invoice.objects.filter(pk=invoice.pk).update(
        subtotal=0, tax=0, total=0, amount_paid=Decimal("1.00"), balance=Decimal("-1.00")
    )

    out = _check("--fix")

    assert "INV-WRONG" in out and out.strip().endswith(
        "Checked 1 invoices: 1 fixed; totals of 0 bill-to parties fixed."
    )
    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.total, invoice.amount_paid, invoice.balance) == (
        Decimal("155.00"),
        Decimal("155.00"),
        Decimal("0.00"),
        Decimal("155.00"),
    )
    assert _check().strip() == "Checked 1 invoices: 0 differ; totals of 0 bill-to parties differ."


def test_it_refuses_a_batch_size_below_one(cast):
    with pytest.raises(CommandError, match="--batch-size must be 1 or more."):
        _check("--batch-size", "0")


def test_it_reports_and_fixes_a_partys_wrong_totals(cast):
    make_invoice(cast.rosa, bill_to=cast.atlas)  # 77.50 owed
    make_invoice(cast.margaret, bill_to=cast.atlas, paid=Decimal("77.50"))  # paid
    # Totals written behind the services' back, and a party's row lost.
    InvoiceTotals.objects.filter(bill_to_payer=cast.atlas).update(invoices=5, due=0)
    InvoiceTotals.objects.filter(bill_to_client=cast.margaret).delete()
    make_invoice(cast.margaret)
    InvoiceTotals.objects.filter(bill_to_client=cast.margaret).delete()
    out = StringIO()

    with pytest.raises(CommandError, match="totals of 2 bill-to parties differ."):
        call_command("check_invoice_money", stdout=out)

    report = out.getvalue()
    assert f"Totals of bill_to_payer {cast.atlas.pk} (agency {cast.sunrise.pk}): " in report
    assert "invoices stored 5, expected 2" in report
    assert "due stored 0.00, expected 77.50" in report
    assert f"Totals of bill_to_client {cast.margaret.pk} " in report

    assert _check("--fix").strip().endswith("totals of 2 bill-to parties fixed.")
    atlas = InvoiceTotals.objects.get(bill_to_payer=cast.atlas)
    assert (atlas.invoices, atlas.total, atlas.due) == (2, Decimal("155.00"), Decimal("77.50"))
    assert (atlas.paid_invoices, atlas.paid_total) == (1, Decimal("77.50"))
    assert InvoiceTotals.objects.get(bill_to_client=cast.margaret).due == Decimal("77.50")
    assert _check().strip().endswith("totals of 0 bill-to parties differ.")
