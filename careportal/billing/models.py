"""Invoices, their lines and payments. Money is Decimal, computed here, never typed in."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import AgencyScoped

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


class InvoiceQuerySet(models.QuerySet):
    def visible_to(self, user) -> InvoiceQuerySet:
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
        return self.select_related(
            "agency", "client", "bill_to_client", "bill_to_payer", "bill_to_community"
        ).prefetch_related("lines__caregiver", "payments")

    def for_client(self, client_id: int | None) -> InvoiceQuerySet:
        return self if client_id is None else self.filter(client_id=client_id)

    def money_totals(self) -> tuple[Decimal, Decimal]:
        """Return (total, amount due) over the invoices that are not void.

        Two flat queries whatever the number of invoices, and no model instances: the
        invoices' tax rate and adjustments joined with their lines' hours and rate (one row
        per line, or one row without a line), then the payments' amounts. The sums follow
        `Invoice.total` and `Invoice.balance` exactly (each line rounded half-up to the
        cent, tax rounded on each invoice's subtotal), which a database-side sum could not
        promise on every backend (SQLite multiplies decimals as floats). The amount due
        counts no invoice below zero.
        """
        live = self.exclude(status=InvoiceStatus.VOID).select_related(None).prefetch_related(None)
        live = live.order_by()
        invoices: dict[int, tuple[Decimal, Decimal]] = {}
        subtotals: dict[int, Decimal] = {}
        rows = live.values_list("pk", "tax_rate", "adjustments", "lines__hours", "lines__rate")
        for pk, tax_rate, adjustments, hours, rate in rows:
            invoices[pk] = (tax_rate, adjustments)
            subtotals[pk] = subtotals.get(pk, Decimal("0.00")) + line_amount(hours, rate)
        paid = dict.fromkeys(invoices, Decimal("0.00"))
        payments = Payment.objects.filter(invoice__in=live.values("pk")).order_by()
        for invoice_id, amount in payments.values_list("invoice_id", "amount"):
            paid[invoice_id] += to_cents(amount)
        total = due = Decimal("0.00")
        for pk, (tax_rate, adjustments) in invoices.items():
            invoice_total = invoice_total_of(subtotals[pk], tax_rate, adjustments)
            total += invoice_total
            due += max(invoice_total - paid[pk], Decimal("0.00"))
        return total, due


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
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
        ]
        indexes = [
            models.Index(fields=["agency", "bill_to_client", "status", "issue_date"]),
            models.Index(fields=["agency", "bill_to_payer", "status", "issue_date"]),
            models.Index(fields=["agency", "bill_to_community", "status", "issue_date"]),
            models.Index(fields=["agency", "client", "issue_date"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def bill_to(self):
        return self.bill_to_client or self.bill_to_payer or self.bill_to_community

    # Money, computed from the lines and payments (prefetch them for lists).
    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines.all()), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return to_cents(self.subtotal * Decimal(self.tax_rate) / Decimal(100))

    @property
    def total(self) -> Decimal:
        return invoice_total_of(self.subtotal, Decimal(self.tax_rate), self.adjustments)

    @property
    def amount_paid(self) -> Decimal:
        return sum((to_cents(p.amount) for p in self.payments.all()), Decimal("0.00"))

    @property
    def balance(self) -> Decimal:
        if self.status == InvoiceStatus.VOID:
            return Decimal("0.00")
        return self.total - self.amount_paid

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

    def get_shown_status_display(self) -> str:
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

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["agency", "invoice"])]

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

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["agency", "invoice"])]

    def __str__(self) -> str:
        return f"{self.amount} on {self.date}"
