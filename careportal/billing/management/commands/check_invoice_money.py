"""Check every invoice's stored money against its lines and payments.

    python manage.py check_invoice_money          # report, exit 1 when any figure differs
    python manage.py check_invoice_money --fix    # and rewrite the wrong ones

It also checks each bill-to party's stored totals (InvoiceTotals) against its invoices,
with one grouped query, and --fix recounts the wrong ones.

Invoices are read in batches by id, each batch with its lines and payments in two flat
queries, so the work is a handful of queries per thousand invoices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careportal.billing.models import (
    BILL_TO_FIELDS,
    MONEY_FIELDS,
    TOTALS_FIELDS,
    Invoice,
    InvoiceLine,
    InvoiceTotals,
    Payment,
    money_of,
)
from careportal.billing.services import (
    counted_invoice_totals,
    recompute_invoice_money,
    recount_invoice_totals,
)


class Command(BaseCommand):
    help = (
        "Compare every invoice's stored subtotal, tax, total, amount paid and balance with "
        "its lines and payments; print each difference and exit 1 if any. --fix rewrites "
        "the wrong ones."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix",
            action="store_true",
            help="Rewrite the stored money of the invoices found wrong.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Invoices read at a time (5000)."
        )

    def handle(self, *args: Any, fix: bool, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        checked = 0
        wrong: list[int] = []
        for invoices in self._batches(batch_size):
            checked += len(invoices)
            for invoice, differences in self._differences(invoices):
                wrong.append(invoice.pk)
                for name, stored, expected in differences:
                    self.stdout.write(
                        f"{invoice.number} (agency {invoice.agency_id}): {name} stored "
                        f"{stored}, expected {expected}"
                    )
        if fix:
            for pk in wrong:
                # The service locks the row and reads the lines and payments afresh, so a
                # payment recorded since the check is counted too.
                recompute_invoice_money(invoice=pk)
        parties = self._wrong_totals()
        if fix:
            for agency_id, client, payer, community in parties:
                recount_invoice_totals(
                    agency_id=agency_id,
                    bill_to_client_id=client,
                    bill_to_payer_id=payer,
                    bill_to_community_id=community,
                )
        verdict = "fixed" if fix else "differ"
        summary = (
            f"Checked {checked} invoices: {len(wrong)} {verdict}; "
            f"totals of {len(parties)} bill-to parties {verdict}."
        )
        if (wrong or parties) and not fix:
            raise CommandError(summary)
        self.stdout.write(summary)

    def _wrong_totals(self) -> list[tuple[Any, ...]]:
        """Print and return the bill-to parties whose stored totals differ from their
        invoices' (after any --fix of the invoices, which recounts their parties)."""
        counted = counted_invoice_totals()
        keys = ("agency_id", *(f"{field}_id" for field in BILL_TO_FIELDS))
        stored = {
            tuple(row[key] for key in keys): {name: row[name] for name in TOTALS_FIELDS}
            for row in InvoiceTotals.objects.values(*keys, *TOTALS_FIELDS)
        }
        empty = dict.fromkeys(TOTALS_FIELDS, 0)
        wrong = []
        for party in sorted(set(counted) | set(stored), key=str):
            expected = counted.get(party, empty)
            found = stored.get(party, empty)
            differences = [name for name in TOTALS_FIELDS if found[name] != expected[name]]
            if differences:
                wrong.append(party)
                kind, pk = next((k, v) for k, v in zip(BILL_TO_FIELDS, party[1:], strict=True) if v)
                for name in differences:
                    self.stdout.write(
                        f"Totals of {kind} {pk} (agency {party[0]}): {name} stored "
                        f"{found[name]}, expected {expected[name]}"
                    )
        return wrong

    def _batches(self, size: int) -> Iterator[list[Invoice]]:
        """Yield lists of invoices in id order, `size` at a time."""
        last = 0
        fields = ("pk", "agency_id", "number", "status", "tax_rate", "adjustments", *MONEY_FIELDS)
        while True:
            batch = list(Invoice.objects.filter(pk__gt=last).order_by("pk").only(*fields)[:size])
            if not batch:
                return
            last = batch[-1].pk
            yield batch

    def _differences(
        self, invoices: list[Invoice]
    ) -> Iterator[tuple[Invoice, list[tuple[str, Decimal, Decimal]]]]:
        """Yield (invoice, [(field, stored, expected), ...]) for each invoice that differs."""
        first, last = invoices[0].pk, invoices[-1].pk
        lines: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
        rows = InvoiceLine.objects.filter(invoice_id__gte=first, invoice_id__lte=last).order_by()
        for invoice_id, hours, rate in rows.values_list("invoice_id", "hours", "rate"):
            lines[invoice_id].append((hours, rate))
        payments: dict[int, list[Decimal]] = defaultdict(list)
        paid = Payment.objects.filter(invoice_id__gte=first, invoice_id__lte=last).order_by()
        for invoice_id, amount in paid.values_list("invoice_id", "amount"):
            payments[invoice_id].append(amount)
        for invoice in invoices:
            expected = money_of(
                status=invoice.status,
                tax_rate=invoice.tax_rate,
                adjustments=invoice.adjustments,
                lines=lines.get(invoice.pk, []),
                payments=payments.get(invoice.pk, []),
            )
            differences = [
                (name, getattr(invoice, name), getattr(expected, name))
                for name in MONEY_FIELDS
                if getattr(invoice, name) != getattr(expected, name)
            ]
            if differences:
                yield invoice, differences
