"""Writes on invoices: their stored money, and the changes of status with their audit event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from careportal.agencies.writes import (
    agency_of,
    changed_fields,
    full_clean,
    record_saved,
    stored_row,
)
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.billing.models import (
    BILL_TO_FIELDS,
    MONEY_FIELDS,
    TOTALS_AGGREGATES,
    TOTALS_FIELDS,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTotals,
    Payment,
    to_cents,
)
from careportal.people.models import Client, ClientPayer, Community, Payer, Residence

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency


class InvoiceStateError(Exception):
    """The invoice is not in a state that allows the change."""


@transaction.atomic
def recompute_invoice_money(*, invoice: Invoice | int) -> Invoice:
    """Store an invoice's money as its lines and payments give it now, and return it.

    Every write to an invoice, its lines or its payments calls it in its own transaction
    (the services here, the back office, the demo data), so the stored subtotal, tax,
    total, amount paid and balance are always what the lines and payments say. The row is
    locked first: two payments recorded at once are both counted, the second waiting for
    the first. An `Invoice` passed in gets the new figures too.
    """
    pk = invoice if isinstance(invoice, int) else invoice.pk
    locked: Invoice = Invoice.objects.select_for_update().get(pk=pk)
    money = locked.money_from_rows()
    changed = [name for name in MONEY_FIELDS if getattr(locked, name) != getattr(money, name)]
    for name in MONEY_FIELDS:
        setattr(locked, name, getattr(money, name))
        if isinstance(invoice, Invoice):
            setattr(invoice, name, getattr(money, name))
    if changed:
        locked.save(update_fields=changed)
    if locked.status != InvoiceStatus.DRAFT:
        # Its status or money may have changed: so may its bill-to party's totals.
        recount_invoice_totals(agency_id=locked.agency_id, **bill_to_of(locked))
    return locked


def bill_to_of(invoice: Invoice) -> dict[str, int]:
    """Return the invoice's bill-to party as {"bill_to_<kind>_id": pk}."""
    return {
        f"{field}_id": getattr(invoice, f"{field}_id")
        for field in BILL_TO_FIELDS
        if getattr(invoice, f"{field}_id") is not None
    }


@transaction.atomic
def recount_invoice_totals(
    *,
    agency_id: int,
    bill_to_client_id: int | None = None,
    bill_to_payer_id: int | None = None,
    bill_to_community_id: int | None = None,
) -> InvoiceTotals:
    """Store what one bill-to party's issued and void invoices add up to, and return it.

    Counted afresh from the invoices' stored money, so the row is right whatever changed.
    The row is locked first and the invoices read after: two changes for the same party
    at once are both counted, the second waiting for the first (each statement of a
    transaction reads what is committed when it starts).
    """
    party = {
        name: pk
        for name, pk in (
            ("bill_to_client_id", bill_to_client_id),
            ("bill_to_payer_id", bill_to_payer_id),
            ("bill_to_community_id", bill_to_community_id),
        )
        if pk is not None
    }
    if len(party) != 1:
        raise ValueError("Name exactly one bill-to party.")
    InvoiceTotals.objects.bulk_create(
        [InvoiceTotals(agency_id=agency_id, **party)], ignore_conflicts=True
    )
    totals: InvoiceTotals = InvoiceTotals.objects.select_for_update().get(
        agency_id=agency_id, **party
    )
    counted = (
        Invoice.objects.filter(agency_id=agency_id, **party)
        .exclude(status=InvoiceStatus.DRAFT)
        .order_by()
        .aggregate(**TOTALS_AGGREGATES)
    )
    counted = {name: _cents(counted[f"counted_{name}"]) for name in TOTALS_FIELDS}
    changed = [name for name in TOTALS_FIELDS if getattr(totals, name) != counted[name]]
    for name in TOTALS_FIELDS:
        setattr(totals, name, counted[name])
    if changed:
        totals.save(update_fields=changed)
    return totals


@transaction.atomic
def recount_totals_of_invoices_parties(*, invoices: Iterable[Invoice]) -> None:
    """Recount the totals of these invoices' bill-to parties: after invoices were deleted,
    or moved to another party (pass the invoice as it was before, to recount the party it
    left). Drafts count for nobody and are skipped."""
    parties = {
        (invoice.agency_id, tuple(sorted(bill_to_of(invoice).items())))
        for invoice in invoices
        if invoice.status != InvoiceStatus.DRAFT and bill_to_of(invoice)
    }
    for agency_id, party in sorted(parties):
        recount_invoice_totals(agency_id=agency_id, **dict(party))


def counted_invoice_totals(
    *, agency_id: int | None = None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Return every bill-to party's totals as its invoices give them now, in one query.

    Keyed by (agency id, client id, payer id, community id), two of the three None.
    """
    invoices = Invoice.objects.exclude(status=InvoiceStatus.DRAFT).order_by()
    if agency_id is not None:
        invoices = invoices.filter(agency_id=agency_id)
    keys = ("agency_id", *(f"{field}_id" for field in BILL_TO_FIELDS))
    return {
        tuple(row[key] for key in keys): {
            name: _cents(row[f"counted_{name}"]) for name in TOTALS_FIELDS
        }
        for row in invoices.values(*keys).annotate(**TOTALS_AGGREGATES)
    }


def _cents(value: Any) -> Any:
    """Return money to the cent as the model stores it (SQLite's sums drop the zeros)."""
    return to_cents(value) if isinstance(value, Decimal) else value


@transaction.atomic
def store_all_invoice_totals(*, agency_id: int) -> int:
    """Write every bill-to party's totals of one agency afresh, and return the rows written.

    For data loaded in bulk without the services (the benchmark's builder, an import):
    three queries whatever the number of invoices.
    """
    InvoiceTotals.objects.filter(agency_id=agency_id).delete()
    rows = [
        InvoiceTotals(
            agency_id=agency,
            bill_to_client_id=client,
            bill_to_payer_id=payer,
            bill_to_community_id=community,
            **figures,
        )
        for (agency, client, payer, community), figures in counted_invoice_totals(
            agency_id=agency_id
        ).items()
    ]
    InvoiceTotals.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@transaction.atomic
def recompute_money_of_invoices(*, invoice_ids: Iterable[int]) -> None:
    """Recompute the stored money of each of these invoices (after lines or payments of
    several invoices were changed or deleted at once); ids of deleted invoices are skipped.
    """
    for pk in sorted(set(invoice_ids)):
        if Invoice.objects.filter(pk=pk).exists():
            recompute_invoice_money(invoice=pk)


def bill_to_problem(*, client: Client | None, party: models.Model | None) -> str | None:
    """Return why `party` may not be billed for `client`'s care, or None when it may.

    An invoice shows the client's care lines to whoever it is billed to, so the party must
    be the client, a payer ever linked to the client, or a community the client ever lived
    in (any dates: an invoice for care given during a link may be issued after it ended).
    """
    if client is None or party is None:
        return None
    if isinstance(party, Client):
        if party.pk == client.pk:
            return None
        return _("An invoice billed to a client must cover that client's own care.")
    if isinstance(party, Payer):
        if ClientPayer.objects.filter(
            agency_id=client.agency_id, client_id=client.pk, payer_id=party.pk
        ).exists():
            return None
        return _(
            "%(payer)s is not a payer of %(client)s: link them on the client's page first."
        ) % {"payer": party, "client": client}
    if isinstance(party, Community):
        if Residence.objects.filter(
            agency_id=client.agency_id, client_id=client.pk, community_id=party.pk
        ).exists():
            return None
        return _(
            "%(client)s has never lived at %(community)s: add the residence on the "
            "client's page first."
        ) % {"community": party, "client": client}
    return _("Bill a client, a payer or a community.")


@transaction.atomic
def issue_invoice(
    *,
    invoice: Invoice,
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> Invoice:
    """Issue a draft invoice: from now on it shows in the portal of whoever it is billed to.

    With `agency` (the API's), an invoice of another agency raises Invoice.DoesNotExist.
    """
    locked = _locked(invoice, agency)
    if locked.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError(_("Only a draft invoice can be issued."))
    if not locked.lines.exists():
        raise InvoiceStateError(_("An invoice needs at least one line to be issued."))
    problem = bill_to_problem(client=locked.client, party=locked.bill_to)
    if problem:
        raise InvoiceStateError(problem)
    return _move(invoice, locked, InvoiceStatus.ISSUED, Action.INVOICE_ISSUED, actor, request)


@transaction.atomic
def void_invoice(
    *,
    invoice: Invoice,
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> Invoice:
    """Void a draft or issued invoice; it stays visible in the portal, shown as void, and
    owes nothing (its balance becomes zero).

    With `agency` (the API's), an invoice of another agency raises Invoice.DoesNotExist.
    """
    locked = _locked(invoice, agency)
    if locked.status == InvoiceStatus.VOID:
        raise InvoiceStateError(_("The invoice is void already."))
    return _move(
        invoice,
        locked,
        InvoiceStatus.VOID,
        Action.INVOICE_VOIDED,
        actor,
        request,
        previous_status=locked.status,
    )


def _locked(invoice: Invoice, agency: Agency | None) -> Invoice:
    """Return the invoice's row, locked for the transaction, in the agency given or its own."""
    agency_id = agency.pk if agency is not None else invoice.agency_id
    return Invoice.objects.select_for_update().get(pk=invoice.pk, agency_id=agency_id)


def _move(
    invoice: Invoice,
    locked: Invoice,
    status: InvoiceStatus,
    action: Action,
    actor: User | None,
    request: HttpRequest | None,
    **detail: Any,
) -> Invoice:
    """Give the locked invoice its new status, store its money anew, record `action`, and
    copy the status and money onto the caller's instance; return the locked one."""
    locked.status = status
    locked.save(update_fields=["status"])
    locked = recompute_invoice_money(invoice=locked)
    record(action, request=request, actor=actor, obj=locked, **detail)
    invoice.status = locked.status
    for name in MONEY_FIELDS:
        setattr(invoice, name, getattr(locked, name))
    return locked


# The one door for invoices, their lines and payments (issue 13): the back office, the API,
# the import and seed_demo call these. Each checks first (a bad value raises
# ValidationError naming the field, and nothing is written), writes in the agency, keeps
# the stored money and the bill-to parties' totals right, and records its audit event, in
# one transaction. The API offers no hard delete (void instead); the back office keeps the
# deletes it has today (`delete_invoices`, `delete_invoice_rows`).

InvoiceRow = InvoiceLine | Payment
_Row = TypeVar("_Row", InvoiceLine, Payment)


@transaction.atomic
def create_invoice(
    *,
    invoice: Invoice,
    lines: Sequence[InvoiceLine] = (),
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> Invoice:
    """Create a draft invoice with its lines; return it, its money stored.

    The number is the one given (the back office's staff type it; it is unique in the
    agency). It is billed to exactly one party related to the client (`bill_to_problem`).
    A bad line raises ValidationError with its field named `lines.<index>.<field>`.
    Issue it afterwards with `issue_invoice`.
    """
    if invoice.pk is not None:
        raise ValueError("create_invoice makes new invoices: change one with save_invoice.")
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError({"status": _("A new invoice is a draft: issue it once it is ready.")})
    return _save_invoice(
        invoice=invoice, lines=lines, removed=(), actor=actor, request=request, agency=agency
    )


@transaction.atomic
def save_invoice(
    *,
    invoice: Invoice,
    lines: Sequence[InvoiceLine] = (),
    removed_lines: Iterable[InvoiceLine] = (),
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> Invoice:
    """Change an invoice (its dates, party, tax, adjustments, notes) and, if given, add or
    change its `lines` and delete `removed_lines`; return it, its money stored.

    Its status changes only through `issue_invoice` and `void_invoice`. Billed to another
    party, the party it left no longer counts it in its totals.
    """
    if invoice.pk is None:
        raise ValueError("save_invoice changes saved invoices: make one with create_invoice.")
    return _save_invoice(
        invoice=invoice,
        lines=lines,
        removed=removed_lines,
        actor=actor,
        request=request,
        agency=agency,
    )


def _save_invoice(
    *,
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    removed: Iterable[InvoiceLine],
    actor: User | None,
    request: HttpRequest | None,
    agency: Agency | None,
) -> Invoice:
    agency = agency_of(actor=actor, agency=agency)
    stored = stored_row(invoice, agency)
    invoice.agency = agency
    lines, removed = list(lines), list(removed)
    if stored is not None and stored.status != invoice.status:
        raise ValidationError({"status": _("Issue or void the invoice from its list instead.")})
    _check_invoice(invoice)
    errors: dict[str, Any] = {}
    left: set[int] = set()
    for index, line in enumerate(lines):
        before = stored_row(line, agency)
        if before is not None and before.invoice_id != invoice.pk:
            left.add(before.invoice_id)
        line.agency = agency
        try:
            full_clean(line, exclude=["invoice"])
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"lines.{index}.{field}"] = messages
    for line in removed:
        before = stored_row(line, agency)
        if before is None or stored is None or before.invoice_id != invoice.pk:
            errors["removed_lines"] = [_("Remove only the lines of this invoice.")]
    if errors:
        raise ValidationError(errors)
    invoice.save()
    for line in lines:
        line.invoice = invoice
        line.save()
    for line in removed:
        line.delete()
    recompute_invoice_money(invoice=invoice)
    # A line moved here from another invoice leaves that one's money right too.
    recompute_money_of_invoices(invoice_ids=left)
    counts: dict[str, Any] = {"lines": len(lines)} if lines else {}  # audit detail
    if removed:
        counts["lines_removed"] = len(removed)
    if stored is None:
        record(
            Action.INVOICE_CREATED,
            request=request,
            actor=actor,
            obj=invoice,
            agency=agency,
            **counts,
        )
        return invoice
    if bill_to_of(stored) != bill_to_of(invoice):
        # The party it was billed to before no longer counts it in its totals.
        recount_totals_of_invoices_parties(invoices=[stored])
    fields = [f for f in changed_fields(stored, invoice) if f not in MONEY_FIELDS]
    if fields or counts:
        record(
            Action.INVOICE_CHANGED,
            request=request,
            actor=actor,
            obj=invoice,
            agency=agency,
            fields=fields,
            **counts,
        )
    return invoice


def _check_invoice(invoice: Invoice) -> None:
    """Check the invoice (`full_clean`) and that it bills exactly one party, related to its
    client; raise ValidationError naming the field otherwise."""
    named = [field for field in BILL_TO_FIELDS if getattr(invoice, f"{field}_id") is not None]
    if len(named) != 1:
        raise ValidationError(
            {"bill_to": _("Bill exactly one party: a client, a payer or a community.")}
        )
    # First the agency's records and the fields, then how the party relates to the client.
    full_clean(invoice)
    problem = bill_to_problem(client=invoice.client, party=getattr(invoice, named[0]))
    if problem:
        raise ValidationError({named[0]: problem})


@transaction.atomic
def save_invoice_line(
    *,
    line: InvoiceLine,
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> InvoiceLine:
    """Add or change one line of an invoice; return it, the invoice's money stored.

    A line moved to another invoice leaves the money of the one it left right too.
    """
    return _save_row(
        line,
        (Action.INVOICE_LINE_CREATED, Action.INVOICE_LINE_CHANGED),
        actor=actor,
        request=request,
        agency=agency,
    )


@transaction.atomic
def record_payment(
    *,
    payment: Payment,
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> Payment:
    """Record a payment on an invoice, or change one; return it, the money stored.

    The invoice's amount paid and balance, and its bill-to party's totals, follow in the
    same transaction (and those of the invoice it left, if it moved).
    """
    return _save_row(
        payment,
        (Action.PAYMENT_RECORDED, Action.PAYMENT_CHANGED),
        actor=actor,
        request=request,
        agency=agency,
    )


def _save_row(
    row: _Row,
    actions: tuple[Action, Action],
    *,
    actor: User | None,
    request: HttpRequest | None,
    agency: Agency | None,
) -> _Row:
    """Save a line or a payment and store its invoices' money; record `actions`' first
    (created) for a new row, or its second (changed), as `record_saved` does."""
    agency = agency_of(actor=actor, agency=agency)
    stored = stored_row(row, agency)
    row.agency = agency
    full_clean(row)
    row.save()
    invoice_ids = {row.invoice_id} | ({stored.invoice_id} if stored is not None else set())
    recompute_money_of_invoices(invoice_ids=invoice_ids)
    record_saved(actions, row, stored, actor=actor, request=request, agency=agency)
    return row


@transaction.atomic
def delete_invoice_rows(
    *, rows: Iterable[InvoiceRow], actor: User | None, request: HttpRequest | None = None
) -> int:
    """Delete lines or payments (the back office's delete); return how many.

    Each is audited, and their invoices' money is stored anew. The API offers no such
    delete: a payment made in error is answered by voiding the invoice.
    """
    rows = list(rows)
    for row in rows:
        action = Action.PAYMENT_DELETED if isinstance(row, Payment) else Action.INVOICE_LINE_DELETED
        record(action, request=request, actor=actor, obj=row, agency=row.agency)
        row.delete()
    recompute_money_of_invoices(invoice_ids=[row.invoice_id for row in rows])
    return len(rows)


@transaction.atomic
def delete_invoices(
    *, invoices: Iterable[Invoice], actor: User | None, request: HttpRequest | None = None
) -> int:
    """Delete invoices with their lines and payments (the back office's delete, as it is
    today); return how many. Each is audited; their bill-to parties' totals are counted
    anew. The API offers no such delete: it voids.
    """
    invoices = list(invoices)
    for invoice in invoices:
        record(
            Action.INVOICE_DELETED,
            request=request,
            actor=actor,
            obj=invoice,
            agency=invoice.agency,
            status=invoice.status,
        )
        invoice.delete()
    recount_totals_of_invoices_parties(invoices=invoices)
    return len(invoices)
