"""The billing area of the API: invoices with their lines, and payments.

Written through `billing.services`, the one door the back office uses too: an invoice is
created as a draft with its lines (`create_invoice`), changed while it is a draft
(`save_invoice`), then issued or voided by its own operations (`issue_invoice`,
`void_invoice`); a payment is recorded on an invoice (`record_payment`). The invoice's
money (subtotal, tax, total, amount paid, balance) is computed and stored by the services,
never typed in. Money goes in and out as text with two decimals ("125.50"), never a float.
Nothing is deleted: an invoice is voided.
"""

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import AfterValidator, Field, StringConstraints

from careportal.agencies.models import Agency
from careportal.api.auth import KeyAuth, key_of
from careportal.api.problems import ApiProblem, Problem
from careportal.api.resources import ERRORS, Resource, _audit, add_resource, nested_rows
from careportal.api.values import (
    ExternalId,
    Hours,
    IsoDate,
    Money,
    MoneyOut,
    PathId,
    Percent,
    PercentOut,
    Rate,
    RecordId,
    SignedMoney,
    Text100,
    Text2000,
    storable,
)
from careportal.audit.actions import Action
from careportal.billing.models import (
    MONEY_FIELDS,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    money_of,
)
from careportal.billing.services import (
    InvoiceStateError,
    create_invoice,
    issue_invoice,
    record_payment,
    save_invoice,
    void_invoice,
)
from careportal.scheduling.models import Caregiver

router = Router()

ROW_ID = "Send the id of one of the invoice's lines to change it; leave it out to add one."
# "INV-2026-0001": letters, digits, dots, dashes and underscores (the model says which).
Number = Annotated[str, StringConstraints(max_length=32), AfterValidator(storable)]
Method = Annotated[str, StringConstraints(max_length=60), AfterValidator(storable)]
# What the line is for ("Personal care"); the column takes 120 characters.
Service = Text100


# The most an invoice's stored money takes (12 digits, 2 of them decimals).
MAX_MONEY = Decimal("9999999999.99")


def _check_money(
    invoice: Invoice,
    lines: list[tuple[Decimal | None, Decimal | None]] | None = None,
    payments: list[Decimal] | None = None,
    field: str = "",
) -> None:
    """Refuse a change that would make the invoice's money larger than it can store.

    `lines` are (hours, rate) pairs and `payments` amounts; None reads the stored ones.
    """
    stored = invoice.pk is not None
    if lines is None:
        lines = list(invoice.lines.values_list("hours", "rate")) if stored else []
    if payments is None:
        payments = list(invoice.payments.values_list("amount", flat=True)) if stored else []
    money = money_of(
        status=invoice.status,
        tax_rate=invoice.tax_rate,
        adjustments=invoice.adjustments,
        lines=lines,
        payments=payments,
    )
    if any(abs(getattr(money, name)) > MAX_MONEY for name in MONEY_FIELDS):
        raise ValidationError({field: _("The invoice's money would be too large to store.")})


def _state(invoice: Invoice) -> str:
    """Return the invoice's state in plain words, for the problem that names it."""
    states: dict[str, str] = {
        InvoiceStatus.DRAFT: _("This invoice is a draft."),
        InvoiceStatus.ISSUED: _("This invoice is issued."),
        InvoiceStatus.VOID: _("This invoice is void."),
    }
    return states[invoice.status]


def _lines(
    invoice: Invoice, agency: Agency, items: list[dict[str, Any]] | None
) -> tuple[list[InvoiceLine], list[InvoiceLine]]:
    lines, removed = nested_rows(invoice, "invoice", InvoiceLine, "lines", items)
    errors = {
        f"lines.{index}.caregiver_id": [_("Choose a record of this agency.")]
        for index, line in enumerate(lines)
        if line.caregiver_id is not None
        and not Caregiver.objects.filter(agency=agency, pk=line.caregiver_id).exists()
    }
    if errors:
        raise ValidationError(errors)
    return lines, removed


def _invoice(
    obj: Invoice, agency: Agency, request: HttpRequest, children: dict[str, Any]
) -> Invoice:
    if obj.pk is not None and obj.status != InvoiceStatus.DRAFT:
        raise ValidationError(
            {"status": [_state(obj), _("Only a draft can be changed; void it instead.")]}
        )
    lines, removed = _lines(obj, agency, children.get("lines"))
    sent = "lines" in children
    _check_money(
        obj,
        lines=[(line.hours, line.rate) for line in lines] if sent else None,
        field="lines" if sent else "adjustments",
    )
    try:
        if obj.pk is None:
            return create_invoice(
                invoice=obj, lines=lines, actor=None, request=request, agency=agency
            )
        return save_invoice(
            invoice=obj,
            lines=lines,
            removed_lines=removed,
            actor=None,
            request=request,
            agency=agency,
        )
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        # A line's caregiver is sent as `caregiver_id`: name it so.
        raise ValidationError(
            {
                (f"{field}_id" if field.endswith(".caregiver") else field): messages
                for field, messages in error.error_dict.items()
            }
        ) from None


def _payment(obj: Payment, agency: Agency, request: HttpRequest) -> Payment:
    invoice = Invoice.objects.filter(agency=agency, pk=obj.invoice_id).first()
    if invoice is not None and obj.amount is not None:
        others = invoice.payments.exclude(pk=obj.pk).values_list("amount", flat=True)
        _check_money(invoice, payments=[*others, obj.amount], field="amount")
    return record_payment(payment=obj, actor=None, request=request, agency=agency)


class InvoiceLineIn(Schema):
    id: RecordId | None = Field(None, description=ROW_ID)
    date: IsoDate
    service: Service
    caregiver_id: RecordId | None = None
    hours: Hours = Field(description='Text, like "2.50".')
    rate: Rate = Field(description='Money an hour, as text: "32.00".')
    external_id: ExternalId = ""


class InvoiceLineOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    date: datetime.date
    service: str
    caregiver_id: int | None
    hours: MoneyOut
    rate: MoneyOut
    amount: MoneyOut = Field(description="Hours times rate, rounded half-up to the cent.")


class InvoiceIn(Schema):
    number: Number = Field(description="Unique in the agency: INV-2026-0001.")
    client_id: RecordId = Field(description="The client whose care is invoiced.")
    bill_to_client_id: RecordId | None = Field(
        None, description="Bill exactly one party: the client, a payer or a community."
    )
    bill_to_payer_id: RecordId | None = Field(None, description="A payer linked to the client.")
    bill_to_community_id: RecordId | None = Field(
        None, description="A community the client lived in."
    )
    issue_date: IsoDate = Field(default_factory=datetime.date.today, description="Empty: today.")
    due_date: IsoDate
    period_start: IsoDate
    period_end: IsoDate
    tax_rate: Percent = Field(Decimal("0"), description='A percentage as text: "8.250".')
    adjustments: SignedMoney = Field(Decimal("0.00"), description='Credits are negative: "-10.00".')
    notes: Text2000 = ""
    external_id: ExternalId = ""
    lines: list[InvoiceLineIn] = Field(
        default_factory=list,
        description="The invoice's whole list: the invoice's lines left out are removed.",
    )


class InvoiceOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    created_at: datetime.datetime
    number: str
    status: InvoiceStatus = Field(
        description="A draft is changed; `POST .../issue` issues it, `POST .../void` voids it."
    )
    client_id: int
    bill_to_client_id: int | None
    bill_to_payer_id: int | None
    bill_to_community_id: int | None
    issue_date: datetime.date
    due_date: datetime.date
    period_start: datetime.date
    period_end: datetime.date
    tax_rate: PercentOut
    adjustments: MoneyOut
    subtotal: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    amount_paid: MoneyOut
    balance: MoneyOut = Field(description="Zero for a void invoice; negative when overpaid.")
    notes: str
    lines: list[InvoiceLineOut]


class PaymentIn(Schema):
    invoice_id: RecordId
    date: IsoDate = Field(default_factory=datetime.date.today, description="Empty: today.")
    amount: Money = Field(description='Text, like "125.50".')
    method: Method = ""
    reference: Text100 = ""
    external_id: ExternalId = ""


class PaymentOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    invoice_id: int
    date: datetime.date
    amount: MoneyOut
    method: str
    reference: str


RESOURCES = (
    Resource(
        Invoice, "invoice", "invoices", "billing", InvoiceOut, InvoiceIn, _invoice,
        ("client", "bill_to_client", "bill_to_payer", "bill_to_community"), nested=("lines",),
    ),
    Resource(
        Payment, "payment", "payments", "billing", PaymentOut, PaymentIn, _payment, ("invoice",)
    ),
)  # fmt: skip

for resource in RESOURCES:
    add_resource(router, resource)


def _change_state(
    service: Callable[..., Invoice], done: Action
) -> Callable[[HttpRequest, PathId], dict[str, Any]]:
    """Return the operation that issues or voids an invoice through its service."""

    def change(request: HttpRequest, id: PathId) -> dict[str, Any]:
        agency = key_of(request).agency
        invoice = Invoice.objects.filter(agency=agency, pk=id).first()
        if invoice is None:
            raise Http404
        try:
            with transaction.atomic():
                invoice = service(invoice=invoice, actor=None, request=request, agency=agency)
                _audit(request, done, invoice)
        except InvoiceStateError as error:
            invoice.refresh_from_db(fields=["status"])
            raise ApiProblem(
                409,
                str(error),
                errors=[{"field": "status", "message": _state(invoice)}],
            ) from None
        body: dict[str, Any] = InvoiceOut.from_orm(invoice).model_dump(mode="json")
        return body

    return change


for verb, service, done, summary in (
    ("issue", issue_invoice, Action.API_INVOICE_ISSUED, "Issue a draft invoice"),
    ("void", void_invoice, Action.API_INVOICE_VOIDED, "Void a draft or issued invoice"),
):
    router.post(
        f"/invoices/{{id}}/{verb}", response={200: InvoiceOut, 409: Problem, **ERRORS},
        auth=KeyAuth("billing", "write"), tags=["Invoices"], operation_id=f"{verb}_invoice",
        url_name=f"invoice_{verb}", summary=summary,
    )(_change_state(service, done))  # fmt: skip
