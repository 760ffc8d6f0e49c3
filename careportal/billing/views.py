"""Invoices in the portal: the list, the details (pop-up or page) and the PDF.

Every invoice is fetched through `Invoice.objects.visible_to(user)`: someone else's
invoice, another agency's, or a draft answers 404. Every view is an audit event.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from careportal.agencies.models import Agency
from careportal.audit.actions import Action
from careportal.audit.events import record, record_for_clients
from careportal.billing.forms import InvoiceFilterForm
from careportal.billing.models import (
    ZERO,
    Invoice,
    InvoiceLine,
    InvoiceQuerySet,
    InvoiceStatus,
    InvoiceTotals,
    Payment,
    ShownStatus,
    to_cents,
)
from careportal.billing.pdf import invoice_pdf as render_invoice_pdf
from careportal.people.models import Client
from careportal.portal.middleware import portal_login
from careportal.portal.narrowing import selected_client
from careportal.portal.templatetags.money import format_money

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from careportal.accounts.http import AuthenticatedHttpRequest

    # Django's paginator, for a login's invoices.
    _InvoicePaginator = Paginator[Invoice]
else:
    _InvoicePaginator = Paginator

PER_PAGE = 20


class CountedPaginator(_InvoicePaginator):
    """A paginator told its count, which was computed with the totals in one query."""

    def __init__(self, object_list: InvoiceQuerySet, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _filtered(request: AuthenticatedHttpRequest, form: InvoiceFilterForm) -> InvoiceQuerySet:
    """Return the invoices matching the filters, status included, as one database query.

    The shown status is computed from the stored money, the due date and the agency's
    date (the middleware activates the agency's time zone), so the database filters and
    paginates; the list shows stored figures and loads no lines or payments.
    """
    client = selected_client(request)
    # No joins: the database walks the invoices in date order on an index and stops at
    # the page; the page's clients are fetched afterwards (see `_rows`).
    invoices = (
        Invoice.objects.visible_to(request.user)
        .select_related(None)
        .prefetch_related(None)
        .for_client(client.pk if client else None)
    )
    data = form.cleaned_data if form.is_bound else {}
    if data.get("issued_from"):
        invoices = invoices.filter(issue_date__gte=data["issued_from"])
    if data.get("issued_to"):
        invoices = invoices.filter(issue_date__lte=data["issued_to"])
    if data.get("status"):
        invoices = invoices.having_shown_status(data["status"], timezone.localdate())
    return invoices


def _stored_totals_status(request: AuthenticatedHttpRequest, form: InvoiceFilterForm) -> str | None:
    """Return the status whose totals the parties' stored totals give ("" for all), or
    None when the filters ask for an aggregate (dates, one client, a status that the due
    date decides)."""
    data = form.cleaned_data if form.is_bound else {}
    if selected_client(request) is not None or data.get("issued_from") or data.get("issued_to"):
        return None
    status = data.get("status") or ""
    return status if status in ("", ShownStatus.PAID, ShownStatus.VOID) else None


# What a list row shows of the invoice, nothing more.
LIST_FIELDS = (
    "number",
    "client_id",
    "issue_date",
    "due_date",
    "status",
    "total",
    "amount_paid",
    "balance",
)


def _page_of_invoices(
    request: AuthenticatedHttpRequest, form: InvoiceFilterForm, invoices: InvoiceQuerySet
) -> tuple[Page[Invoice], Decimal, Decimal]:
    """Return the page asked for, and the total and amount due of every matching invoice.

    The first page is read first, one row more than it shows: when every invoice fits,
    its rows give the count and the totals without asking the database again.
    """
    invoices = invoices.only(*LIST_FIELDS)
    if request.GET.get("page", "1") == "1":
        rows = list(invoices[: PER_PAGE + 1])
        if len(rows) <= PER_PAGE:
            live = [invoice for invoice in rows if invoice.status != InvoiceStatus.VOID]
            total = to_cents(sum((invoice.total for invoice in live), ZERO))
            due = to_cents(sum((invoice.balance for invoice in live if invoice.balance > 0), ZERO))
            return Paginator(rows, PER_PAGE).page(1), total, due
    else:
        rows = None
    # The count and totals cover every matching invoice: read from the parties' stored
    # totals when the filters allow, else one aggregate over the invoices' stored figures;
    # the database then reads only the page's invoices.
    status = _stored_totals_status(request, form)
    if status is None:
        count, total, due = invoices.money_summary()
    else:
        count, total, due = InvoiceTotals.objects.visible_to(request.user).summary(status)
    page = CountedPaginator(invoices, PER_PAGE, count=count).get_page(request.GET.get("page"))
    if rows is not None and page.number == 1:
        page.object_list = rows[:PER_PAGE]
    else:
        page.object_list = list(page.object_list)
    return page, total, due


@dataclass(frozen=True)
class InvoiceRow:
    """One line of the Invoices table, its words and figures ready to show."""

    number: str
    url: str
    client: str
    issued: str
    due: str
    status: str
    status_label: StrOrPromise
    total: str
    balance: str


def _rows(invoices: Iterable[Invoice], agency: Agency) -> list[InvoiceRow]:
    # The same words the template's filters would give, made once per page: one URL
    # prefix for every row (invoice numbers need no quoting) and each date formatted once.
    prefix = reverse("billing:invoice_detail", args=["-"]).removesuffix("-/")
    dates: dict[datetime.date, str] = {}
    currency = agency.currency
    # The page's clients by id, in one query. Joined to the invoices instead, the planner
    # may read every client of the agency to hash them.
    clients = Client.objects.filter(
        agency_id=agency.pk, pk__in={invoice.client_id for invoice in invoices}
    ).only("first_name", "last_name", "preferred_name")
    names = {client.pk: client.display_name for client in clients} if invoices else {}

    def shown(day: datetime.date) -> str:
        if day not in dates:
            dates[day] = formats.date_format(day, "DATE_FORMAT")
        return dates[day]

    rows = []
    for invoice in invoices:
        status = ShownStatus(invoice.shown_status)
        rows.append(
            InvoiceRow(
                number=invoice.number,
                url=f"{prefix}{invoice.number}/",
                client=names[invoice.client_id],
                issued=shown(invoice.issue_date),
                due=shown(invoice.due_date),
                status=status.value,
                status_label=status.label,
                total=format_money(invoice.total, currency),
                balance=format_money(invoice.balance, currency),
            )
        )
    return rows


def _table_body(rows: list[InvoiceRow]) -> SafeString:
    """Return the list's rows as the table's HTML, each value escaped as a template would.

    Written here rather than by the template: twenty-five rows of seven cells, each with
    the label the narrow layout shows, cost more than the rest of the page.
    """
    labels = [
        conditional_escape(label)
        for label in (
            _("Client"),
            _("Issue date"),
            _("Due date"),
            _("Status"),
            _("Total"),
            _("Amount due"),
        )
    ]
    client, issued, due, status, total, amount_due = labels
    html = []
    for row in rows:
        url = conditional_escape(row.url)
        html.append(
            f'<tr>\n    <th scope="row"><a href="{url}" hx-get="{url}" '
            'hx-target="#invoice-dialog-body" hx-swap="innerHTML" data-dialog-opener>'
            f"{conditional_escape(row.number)}</a></th>\n"
            f'    <td data-label="{client}">{conditional_escape(row.client)}</td>\n'
            f'    <td data-label="{issued}">{conditional_escape(row.issued)}</td>\n'
            f'    <td data-label="{due}">{conditional_escape(row.due)}</td>\n'
            f'    <td data-label="{status}"><span class="badge badge-'
            f'{conditional_escape(row.status)}">{conditional_escape(row.status_label)}</span></td>\n'
            f'    <td class="number" data-label="{total}">{conditional_escape(row.total)}</td>\n'
            f'    <td class="number" data-label="{amount_due}">'
            f"{conditional_escape(row.balance)}</td>\n  </tr>"
        )
    return mark_safe("\n  ".join(html))  # every value is escaped above


@require_GET
def invoice_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET if request.GET else None)
    form.is_valid()
    page, total, amount_due = _page_of_invoices(request, form, _filtered(request, form))
    client = selected_client(request)
    clients = sorted({invoice.client_id for invoice in page.object_list})
    # Each client whose invoices the page shows: their My privacy lists the view.
    record_for_clients(
        Action.INVOICE_LIST_VIEWED,
        client_ids=[client.pk] if client is not None else clients,
        request=request,
        invoices=[invoice.number for invoice in page.object_list],
        clients=clients,
    )
    context = {
        "form": form,
        "page": page,
        "table_body": _table_body(_rows(page.object_list, portal_login(request).agency)),
        "total": total,
        "amount_due": amount_due,
    }
    return render(request, "billing/invoice_list.html", context)


def _is_fragment_request(request: HttpRequest) -> bool:
    # A history restore wants the whole page, as does any request without htmx.
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def _invoice_or_404(request: AuthenticatedHttpRequest, number: str) -> Invoice:
    """Return the login's invoice `number` with its client and bill-to party, else 404.

    Its lines and payments are read by `_lines_and_payments`; its agency is the login's
    (the access filter makes it so), already loaded for the frame.
    """
    invoice = get_object_or_404(
        Invoice.objects.visible_to(request.user)
        .select_related(None)
        .prefetch_related(None)
        .select_related("client", "bill_to_client", "bill_to_payer", "bill_to_community"),
        number=number,
    )
    invoice.agency = portal_login(request).agency
    return invoice


def _lines_and_payments(invoice: Invoice) -> tuple[list[InvoiceLine], list[Payment]]:
    """Return the invoice's lines, with their caregivers, and its payments: the columns
    the details show, in two queries whatever their number."""
    lines = (
        InvoiceLine.objects.filter(agency_id=invoice.agency_id, invoice_id=invoice.pk)
        .select_related("caregiver")
        .only("date", "service", "hours", "rate", "caregiver__first_name")
    )
    payments = Payment.objects.filter(agency_id=invoice.agency_id, invoice_id=invoice.pk).only(
        "date", "amount", "method"
    )
    return list(lines), list(payments)


@dataclass(frozen=True)
class LineRow:
    date: str
    service: str
    caregiver: str
    hours: str
    rate: str
    amount: str


@dataclass(frozen=True)
class PaymentRow:
    date: str
    method: str
    amount: str


def _details(invoice: Invoice) -> dict[str, object]:
    """Return what the details template shows of the lines and payments, as text: the
    same the template's filters would give, made here once per value."""
    currency = invoice.agency.currency
    lines, payments = _lines_and_payments(invoice)
    return {
        "invoice": invoice,
        "lines": [
            LineRow(
                date=formats.date_format(line.date, "DATE_FORMAT"),
                service=line.service,
                caregiver=line.caregiver.family_name_shown if line.caregiver else "",
                hours=floatformat(line.hours, 2),
                rate=format_money(line.rate, currency),
                amount=format_money(line.amount, currency),
            )
            for line in lines
        ],
        "payments": [
            PaymentRow(
                date=formats.date_format(payment.date, "DATE_FORMAT"),
                method=payment.method,
                amount=format_money(payment.amount, currency),
            )
            for payment in payments
        ],
    }


@require_GET
def invoice_detail(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    invoice = _invoice_or_404(request, number)
    record(Action.INVOICE_VIEWED, request=request, obj=invoice)
    template = (
        "billing/invoice_dialog.html"
        if _is_fragment_request(request)
        else "billing/invoice_detail.html"
    )
    response = render(request, template, _details(invoice))
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def invoice_pdf(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    invoice = _invoice_or_404(request, number)
    record(Action.INVOICE_PDF_DOWNLOADED, request=request, obj=invoice)
    lines, payments = _lines_and_payments(invoice)
    response = HttpResponse(
        render_invoice_pdf(invoice, lines=lines, payments=payments),
        content_type="application/pdf",
    )
    # The number is typed by staff: keep the file name to safe characters.
    filename = re.sub(r"[^A-Za-z0-9._-]", "-", invoice.number) or "invoice"
    response["Content-Disposition"] = f'attachment; filename="invoice-{filename}.pdf"'
    return response
