"""Invoices, their lines and payments. Money is Decimal, computed here, never typed in."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Case, Count, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import (
    AgencyScoped,
    external_id_field,
    external_id_unique,
    updated_at_field,
    updated_index,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django_stubs_ext import StrOrPromise

    from careportal.accounts.models import User
    from careportal.people.models import Client, Community, Payer

CENT = Decimal("0.01")

# An invoice number is part of its portal URL (/invoices/<number>/): no slash, no space,
# and not only dots (a browser would read "/invoices/../" as a path step).
validate_invoice_number = RegexValidator(
    r"\A[A-Za-z0-9][A-Za-z0-9._-]*\Z",
    _(
        "Use only letters, digits, dots, dashes and underscores, "
        "starting with a letter or a digit (for example INV-2026-0001)."
    ),
    code="invalid_invoice_number",
)


def to_cents(value: Decimal) -> Decimal:
    """Round half-up to the cent, as on paper."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(hours: Decimal | None, rate: Decimal | None) -> Decimal:
    """Return a line's amount: hours times rate, rounded half-up to the cent."""
    if hours is None or rate is None:
        return Decimal("0.00")
    return to_cents(Decimal(hours) * Decimal(rate))


def invoice_total_of(subtotal: Decimal, tax_rate: Decimal, adjustments: Decimal) -> Decimal:
    """Return an invoice's total: subtotal, tax on it rounded half-up, and adjustments."""
    return subtotal + to_cents(subtotal * Decimal(tax_rate) / Decimal(100)) + Decimal(adjustments)


ZERO = Decimal("0.00")

# The money an invoice stores, kept by `billing.services.recompute_invoice_money`.
MONEY_FIELDS = ("subtotal", "tax", "total", "amount_paid", "balance")


@dataclass(frozen=True)
class InvoiceMoney:
    """An invoice's money as its lines and payments give it."""

    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    balance: Decimal


def money_of(
    *,
    status: str,
    tax_rate: Decimal,
    adjustments: Decimal,
    lines: Iterable[tuple[Decimal | None, Decimal | None]],
    payments: Iterable[Decimal],
) -> InvoiceMoney:
    """Return an invoice's money from its lines' (hours, rate) and its payments' amounts.

    Each line is rounded half-up to the cent, tax is rounded half-up on the subtotal, and
    a void invoice owes nothing; an overpaid one has a negative balance.
    """
    subtotal = sum((line_amount(hours, rate) for hours, rate in lines), ZERO)
    tax = to_cents(subtotal * Decimal(tax_rate) / Decimal(100))
    total = invoice_total_of(subtotal, Decimal(tax_rate), Decimal(adjustments))
    amount_paid = sum((to_cents(amount) for amount in payments), ZERO)
    balance = ZERO if status == InvoiceStatus.VOID else total - amount_paid
    return InvoiceMoney(subtotal, tax, total, amount_paid, balance)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    VOID = "void", _("Void")


class ShownStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    VOID = "void", _("Void")
    DRAFT = "draft", _("Draft")


# The order in which `Invoice.shown_status` decides; "issued" is what is left.
SHOWN_ORDER = (
    ShownStatus.VOID,
    ShownStatus.DRAFT,
    ShownStatus.PAID,
    ShownStatus.OVERDUE,
    ShownStatus.PARTIALLY_PAID,
)


def shown_status_filter(status: str, today: datetime.date) -> Q:
    """Return a filter on Invoice for one shown status on the agency's `today`.

    The same rule as `Invoice.shown_status`, written so each status excludes the ones
    decided before it: void, draft, paid, overdue, partially paid, issued. An unknown
    status matches nothing.
    """
    owing = Q(status=InvoiceStatus.ISSUED, balance__gt=0)
    not_due = Q(due_date__gte=today)
    filters: dict[str, Q] = {
        ShownStatus.VOID: Q(status=InvoiceStatus.VOID),
        ShownStatus.DRAFT: Q(status=InvoiceStatus.DRAFT),
        ShownStatus.PAID: Q(status=InvoiceStatus.ISSUED, balance__lte=0),
        ShownStatus.OVERDUE: owing & Q(due_date__lt=today),
        ShownStatus.PARTIALLY_PAID: owing & not_due & Q(amount_paid__gt=0),
        ShownStatus.ISSUED: owing & not_due & Q(amount_paid__lte=0),
    }
    return filters.get(status, Q(pk__in=[]))


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def visible_to(self, user: User | AnonymousUser) -> InvoiceQuerySet:
        """Return the invoices billed to a portal login's parties; drafts never show."""
        from careportal.people import access

        if not access.is_portal_login(user):
            return self.none()
        return (
            self.filter(agency_id=user.agency_id)
            .exclude(status=InvoiceStatus.DRAFT)
            .filter(access.invoice_filter(user))
            .with_money()
        )

    def with_money(self) -> InvoiceQuerySet:
        """Load what the pages show, so the number of queries does not grow with the rows."""
        # The lines with their caregivers in one query.
        lines = models.Prefetch("lines", queryset=InvoiceLine.objects.select_related("caregiver"))
        return self.select_related(
            "agency", "client", "bill_to_client", "bill_to_payer", "bill_to_community"
        ).prefetch_related(lines, "payments")

    def for_client(self, client_id: int | None) -> InvoiceQuerySet:
        return self if client_id is None else self.filter(client_id=client_id)

    def with_shown_status(self, today: datetime.date) -> InvoiceQuerySet:
        """Annotate `shown_status_code`: `Invoice.shown_status` computed by the database.

        `today` is the agency's date, which decides what is overdue. The order of the
        cases is the property's: void, draft, paid, overdue, partially paid, issued.
        """
        return self.annotate(
            shown_status_code=Case(
                *(When(shown_status_filter(code, today), then=Value(code)) for code in SHOWN_ORDER),
                default=Value(ShownStatus.ISSUED.value),
                output_field=models.CharField(max_length=16),
            )
        )

    def having_shown_status(self, status: str, today: datetime.date) -> InvoiceQuerySet:
        """Return the invoices whose shown status is `status` on the agency's `today`.

        Plain conditions on the stored columns rather than the annotation, so the database
        can read them through an index (an overdue invoice is an issued one still owing).
        """
        return self.filter(shown_status_filter(status, today))

    def money_totals(self) -> tuple[Decimal, Decimal]:
        """Return (total, amount due) over the invoices that are not void (see summary)."""
        _count, total, due = self.money_summary()
        return total, due

    def money_summary(self) -> tuple[int, Decimal, Decimal]:
        """Return (number of invoices, total, amount due), in one aggregate.

        The count covers every invoice; the total and the amount due those that are not
        void, from the stored figures, whatever the number of invoices. The amount due
        counts no invoice below zero (an overpayment on one invoice does not lower what
        another one owes).
        """
        live = ~Q(status=InvoiceStatus.VOID)
        money = models.DecimalField(max_digits=14, decimal_places=2)
        totals = (
            self.select_related(None)
            .prefetch_related(None)
            .order_by()
            .aggregate(
                count=Count("pk"),
                total=Coalesce(Sum("total", filter=live), Value(ZERO), output_field=money),
                due=Coalesce(
                    Sum("balance", filter=live & Q(balance__gt=0)),
                    Value(ZERO),
                    output_field=money,
                ),
            )
        )
        return totals["count"], to_cents(totals["total"]), to_cents(totals["due"])


# The columns the owing invoices' indexes carry beside their keys (PostgreSQL only).
OWING_INCLUDED = ["issue_date", "due_date", "total", "status", "id"]
# What the overdue list and its totals read beside the due date (see Invoice.Meta).
OVERDUE_INCLUDED = ["issue_date", "client", "balance", "total", "status"]


class Invoice(AgencyScoped):
    number = models.CharField(
        _("invoice number"), max_length=32, validators=[validate_invoice_number]
    )
    # Exactly one bill-to party; the database enforces it.
    bill_to_client = models.ForeignKey(
        "people.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices_billed",
        verbose_name=_("bill to client"),
    )
    bill_to_payer = models.ForeignKey(
        "people.Payer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices_billed",
        verbose_name=_("bill to payer"),
    )
    bill_to_community = models.ForeignKey(
        "people.Community",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices_billed",
        verbose_name=_("bill to community"),
    )
    client = models.ForeignKey(
        "people.Client",
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("client cared for"),
    )
    # The agency's date: the back office activates the agency's time zone per request.
    issue_date = models.DateField(_("issue date"), default=timezone.localdate)
    due_date = models.DateField(_("due date"))
    period_start = models.DateField(_("service period from"))
    period_end = models.DateField(_("service period to"))
    tax_rate = models.DecimalField(
        _("tax rate (%)"),
        max_digits=5,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    adjustments = models.DecimalField(
        _("adjustments"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text=_("Credits are negative."),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=InvoiceStatus, default=InvoiceStatus.DRAFT
    )
    # Stored so that lists, filters and totals are computed by the database; kept right by
    # billing.services.recompute_invoice_money in the transaction of every write to the
    # invoice, its lines or its payments, and checked by `manage.py check_invoice_money`.
    subtotal = models.DecimalField(
        _("subtotal"), max_digits=12, decimal_places=2, default=ZERO, editable=False
    )
    tax = models.DecimalField(
        _("tax"), max_digits=12, decimal_places=2, default=ZERO, editable=False
    )
    total = models.DecimalField(
        _("total"), max_digits=12, decimal_places=2, default=ZERO, editable=False
    )
    amount_paid = models.DecimalField(
        _("amount paid"), max_digits=12, decimal_places=2, default=ZERO, editable=False
    )
    # Zero for a void invoice, else total minus amount paid (negative when overpaid).
    balance = models.DecimalField(
        _("balance"), max_digits=12, decimal_places=2, default=ZERO, editable=False
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    external_id = external_id_field()
    updated_at = updated_at_field()

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "number"], name="billing_invoice_number_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        bill_to_client__isnull=False,
                        bill_to_payer__isnull=True,
                        bill_to_community__isnull=True,
                    )
                    | Q(
                        bill_to_client__isnull=True,
                        bill_to_payer__isnull=False,
                        bill_to_community__isnull=True,
                    )
                    | Q(
                        bill_to_client__isnull=True,
                        bill_to_payer__isnull=True,
                        bill_to_community__isnull=False,
                    )
                ),
                name="billing_invoice_one_bill_to",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="billing_invoice_period_ends_after_start",
            ),
            external_id_unique("billing_invoice_external_id"),
        ]
        indexes = [
            # The back office's invoice list, newest first.
            models.Index(fields=["agency", "issue_date", "id"]),
            models.Index(fields=["agency", "bill_to_client", "status", "issue_date"]),
            models.Index(fields=["agency", "client", "issue_date"]),
            # A payer's or community's Invoices, newest first: read in index order, the
            # database stops at the page instead of sorting tens of thousands of rows.
            models.Index(fields=["agency", "bill_to_payer", "issue_date", "id"]),
            models.Index(fields=["agency", "bill_to_community", "issue_date", "id"]),
            # Its Dashboard and totals: the clients it was invoiced for, what it owes for
            # the page's clients, the sums, all answered from the index without the rows.
            models.Index(
                fields=["agency", "bill_to_payer", "status", "client", "balance", "total"]
            ),
            models.Index(
                fields=["agency", "bill_to_community", "status", "client", "balance", "total"]
            ),
            # What a payer or community owes: only the issued invoices still owing, a few
            # of the tens of thousands a big payer has, so the sum reads only those. They
            # carry what the Invoices page's overdue and unpaid totals read (dates, total,
            # status), so PostgreSQL answers those from the index alone.
            models.Index(
                fields=["agency", "bill_to_payer", "client", "balance"],
                condition=Q(status="issued", balance__gt=0),
                include=OWING_INCLUDED,
                name="billing_inv_payer_owing",
            ),
            models.Index(
                fields=["agency", "bill_to_community", "client", "balance"],
                condition=Q(status="issued", balance__gt=0),
                include=OWING_INCLUDED,
                name="billing_inv_community_owing",
            ),
            # The payer's or community's overdue invoices, most recently due first: read in
            # due-date order from the owing invoices alone, the list starts at the first
            # one overdue (no pass over the newest, not yet due), and the overdue totals
            # are summed from the index.
            models.Index(
                fields=["agency", "bill_to_payer", "due_date", "id"],
                condition=Q(status="issued", balance__gt=0),
                include=OVERDUE_INCLUDED,
                name="billing_inv_payer_overdue",
            ),
            models.Index(
                fields=["agency", "bill_to_community", "due_date", "id"],
                condition=Q(status="issued", balance__gt=0),
                include=OVERDUE_INCLUDED,
                name="billing_inv_community_overdue",
            ),
            # The API's list, by the time an invoice changed.
            updated_index("billing_invoice_updated"),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        super().clean()
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError(
                {"period_end": _("The service period cannot end before it starts.")}
            )

    @property
    def bill_to(self) -> Client | Payer | Community | None:
        return self.bill_to_client or self.bill_to_payer or self.bill_to_community

    def money_from_rows(self) -> InvoiceMoney:
        """Return the money its lines and payments give now (two queries), not the stored."""
        return money_of(
            status=self.status,
            tax_rate=self.tax_rate,
            adjustments=self.adjustments,
            lines=self.lines.values_list("hours", "rate"),
            payments=self.payments.values_list("amount", flat=True),
        )

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == InvoiceStatus.ISSUED
            and self.balance > 0
            and self.due_date < timezone.localdate()
        )

    @property
    def shown_status(self) -> str:
        """Return the status a reader sees: derived from payments and the due date."""
        if self.status == InvoiceStatus.VOID:
            return ShownStatus.VOID
        if self.status == InvoiceStatus.DRAFT:
            return ShownStatus.DRAFT
        if self.balance <= 0:
            return ShownStatus.PAID
        if self.is_overdue:
            return ShownStatus.OVERDUE
        if self.amount_paid > 0:
            return ShownStatus.PARTIALLY_PAID
        return ShownStatus.ISSUED

    def get_shown_status_display(self) -> StrOrPromise:
        return ShownStatus(self.shown_status).label


class InvoiceLine(AgencyScoped):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    date = models.DateField(_("date"))
    service = models.CharField(_("service"), max_length=120)
    caregiver = models.ForeignKey(
        "scheduling.Caregiver",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("caregiver"),
    )
    hours = models.DecimalField(
        _("hours"), max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    rate = models.DecimalField(
        _("rate"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["date", "id"]
        indexes = [
            models.Index(fields=["agency", "invoice"]),
            # The back office's list of lines, by date.
            models.Index(fields=["agency", "date", "id"]),
        ]
        constraints = [
            external_id_unique("billing_line_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.service}"

    @property
    def amount(self) -> Decimal:
        return line_amount(self.hours, self.rate)


class Payment(AgencyScoped):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    date = models.DateField(_("date"), default=timezone.localdate)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, validators=[MinValueValidator(CENT)]
    )
    method = models.CharField(_("method"), max_length=60, blank=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["date", "id"]
        indexes = [
            models.Index(fields=["agency", "invoice"]),
            # The back office's list of payments, by date.
            models.Index(fields=["agency", "date", "id"]),
            # The API's list, by the time a payment changed.
            updated_index("billing_payment_updated"),
        ]
        constraints = [
            external_id_unique("billing_payment_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.date}"


# What an InvoiceTotals row holds, as aggregates over a party's invoices (drafts excluded
# by the caller): the Invoices page's count, total and amount due, and those of the paid
# and void invoices, for the status filters that need no date.
_LIVE = ~Q(status=InvoiceStatus.VOID)
_PAID = Q(status=InvoiceStatus.ISSUED, balance__lte=0)
_MONEY = models.DecimalField(max_digits=14, decimal_places=2)
# Named apart from the invoice's own columns (an annotation may not shadow a field).
TOTALS_AGGREGATES = {
    "counted_invoices": Count("pk"),
    "counted_total": Coalesce(Sum("total", filter=_LIVE), Value(ZERO), output_field=_MONEY),
    "counted_due": Coalesce(
        Sum("balance", filter=_LIVE & Q(balance__gt=0)), Value(ZERO), output_field=_MONEY
    ),
    "counted_paid_invoices": Count("pk", filter=_PAID),
    "counted_paid_total": Coalesce(Sum("total", filter=_PAID), Value(ZERO), output_field=_MONEY),
    "counted_void_invoices": Count("pk", filter=Q(status=InvoiceStatus.VOID)),
}
TOTALS_FIELDS = tuple(name.removeprefix("counted_") for name in TOTALS_AGGREGATES)
BILL_TO_FIELDS = ("bill_to_client", "bill_to_payer", "bill_to_community")


class InvoiceTotalsQuerySet(models.QuerySet["InvoiceTotals"]):
    def visible_to(self, user: User | AnonymousUser) -> InvoiceTotalsQuerySet:
        """Return the totals of the parties whose invoices the login sees.

        The same filter as `Invoice.objects.visible_to`: its bill-to columns are named
        alike here, and drafts are never counted.
        """
        from careportal.people import access

        if not access.is_portal_login(user):
            return self.none()
        return self.filter(agency_id=user.agency_id).filter(access.invoice_filter(user))

    def summary(self, status: str = "") -> tuple[int, Decimal, Decimal]:
        """Return (number of invoices, total, amount due) as `money_summary` gives them,
        for every invoice (no `status`), the paid ones or the void ones: one row read per
        party. Parties without a row have no invoice."""
        # Only the columns the status needs: each sum costs time to compile.
        fields = {
            ShownStatus.PAID: ("paid_invoices", "paid_total"),
            ShownStatus.VOID: ("void_invoices",),
            "": ("invoices", "total", "due"),
        }.get(status)
        if fields is None:
            raise ValueError(f"No stored totals for the status {status!r}.")
        sums = self.order_by().aggregate(**{name: Sum(name) for name in fields})
        if status == ShownStatus.PAID:
            return sums["paid_invoices"] or 0, to_cents(sums["paid_total"] or ZERO), ZERO
        if status == ShownStatus.VOID:
            return sums["void_invoices"] or 0, ZERO, ZERO
        return sums["invoices"] or 0, to_cents(sums["total"] or ZERO), to_cents(sums["due"] or ZERO)


class InvoiceTotals(AgencyScoped):
    """What one bill-to party's issued and void invoices add up to.

    Stored so that the Invoices page and the Dashboard of a payer with tens of thousands
    of invoices read one row instead of adding them all up. Kept by
    `billing.services.recount_invoice_totals` in the transaction of every change to an
    invoice's status or money (`recompute_invoice_money`), and checked by
    `manage.py check_invoice_money`.
    """

    bill_to_client = models.ForeignKey(
        "people.Client", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    bill_to_payer = models.ForeignKey(
        "people.Payer", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    bill_to_community = models.ForeignKey(
        "people.Community", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    invoices = models.PositiveIntegerField(default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    due = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    paid_invoices = models.PositiveIntegerField(default=0)
    paid_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    void_invoices = models.PositiveIntegerField(default=0)

    objects = InvoiceTotalsQuerySet.as_manager()

    class Meta:
        # Not shown anywhere: no verbose name to translate.
        constraints = [
            models.UniqueConstraint(
                fields=["agency", field],
                condition=Q(**{f"{field}__isnull": False}),
                name=f"billing_totals_one_per_{field}",
            )
            for field in BILL_TO_FIELDS
        ] + [
            models.CheckConstraint(
                condition=(
                    Q(bill_to_client__isnull=False, bill_to_payer__isnull=True)
                    & Q(bill_to_community__isnull=True)
                )
                | Q(bill_to_client__isnull=True, bill_to_payer__isnull=False)
                & Q(bill_to_community__isnull=True)
                | Q(bill_to_client__isnull=True, bill_to_payer__isnull=True)
                & Q(bill_to_community__isnull=False),
                name="billing_totals_one_bill_to",
            )
        ]

    def __str__(self) -> str:
        party = self.bill_to_client_id or self.bill_to_payer_id or self.bill_to_community_id
        return f"{self.invoices} invoices of {party}"
