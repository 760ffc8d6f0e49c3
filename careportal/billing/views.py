"""Invoices in the portal: the list, the details (pop-up or page) and the PDF.

Every invoice is fetched through `Invoice.objects.visible_to(user)`: someone else's
invoice, another agency's, or a draft answers 404. Every view is an audit event.
"""

from __future__ import annotations

import datetime
import functools
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
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
from careportal.people import access
from careportal.people.models import Client, Community, Payer
from careportal.portal.days import shown_day
from careportal.portal.middleware import portal_login
from careportal.portal.narrowing import selected_client
from careportal.portal.templatetags.money import format_money
from careportal.scheduling.models import Caregiver

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

    def __init__(
        self, object_list: InvoiceQuerySet | Sequence[Invoice], per_page: int, *, count: int
    ) -> None:
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
    if data.get("status") == ShownStatus.OVERDUE:
        # Most recently due first: an overdue list is read by its due dates, and the
        # database reads the owing invoices in that order from their index.
        invoices = invoices.order_by("-due_date", "-id")
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
    request: AuthenticatedHttpRequest, form: InvoiceFilterForm
) -> tuple[Page[Invoice], Decimal, Decimal, dict[int, str]]:
    """Return the page asked for, the total and amount due of every matching invoice, and
    the names of the page's clients by id.

    The first page is one query (`_first_page`); a later one reads the count and totals
    first, then its invoices, then their clients.
    """
    if request.GET.get("page", "1") == "1":
        return _first_page(request, form)
    invoices = _filtered(request, form).only(*LIST_FIELDS)
    # The count and totals cover every matching invoice: read from the parties' stored
    # totals when the filters allow, else one aggregate over the invoices' stored figures;
    # the database then reads only the page's invoices.
    status = _stored_totals_status(request, form)
    if status is None:
        count, total, due = invoices.money_summary()
    else:
        count, total, due = InvoiceTotals.objects.visible_to(request.user).summary(status)
    page = CountedPaginator(invoices, PER_PAGE, count=count).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return page, total, due, _client_names(page.object_list, portal_login(request).agency_id)


def _client_names(invoices: list[Invoice], agency_id: int) -> dict[int, str]:
    """Return the names of these invoices' clients by id, in one query (none for none)."""
    if not invoices:
        return {}
    # Joined to the invoices instead, the planner may read every client of the agency to
    # hash them.
    clients = Client.objects.filter(
        agency_id=agency_id, pk__in={invoice.client_id for invoice in invoices}
    ).only("first_name", "last_name", "preferred_name")
    return {client.pk: client.display_name for client in clients}


# The rule of `shown_status_filter` for each shown status, on the stored columns of the
# invoices `i`; `%(today)s` is the agency's date. Drafts never reach the portal.
_OWING_SQL = f"i.status = '{InvoiceStatus.ISSUED}' AND i.balance > 0"
_STATUS_SQL: dict[str, str] = {
    ShownStatus.VOID: f"i.status = '{InvoiceStatus.VOID}'",
    ShownStatus.PAID: f"i.status = '{InvoiceStatus.ISSUED}' AND i.balance <= 0",
    ShownStatus.OVERDUE: f"{_OWING_SQL} AND i.due_date < %(today)s",
    ShownStatus.PARTIALLY_PAID: f"{_OWING_SQL} AND i.due_date >= %(today)s AND i.amount_paid > 0",
    ShownStatus.ISSUED: f"{_OWING_SQL} AND i.due_date >= %(today)s AND i.amount_paid <= 0",
}
# The three figures of the totals row, by where they come from: a party's stored totals
# (`InvoiceTotalsQuerySet.summary`) for a status, or the matching invoices' own figures
# (`InvoiceQuerySet.money_summary`) under any other filter.
_TOTALS_SQL: dict[str, str] = {
    "": "SUM(t.invoices), SUM(t.total), SUM(t.due)",
    ShownStatus.PAID: "SUM(t.paid_invoices), SUM(t.paid_total), 0",
    ShownStatus.VOID: "SUM(t.void_invoices), 0, 0",
}
_SUMMARY_SQL = (
    f"COUNT(*), SUM(CASE WHEN i.status <> '{InvoiceStatus.VOID}' THEN i.total END), "
    f"SUM(CASE WHEN i.status <> '{InvoiceStatus.VOID}' AND i.balance > 0 THEN i.balance END)"
)


def _parties_sql(alias: str, parties: tuple[tuple[str, int], ...]) -> str:
    """Return the login's bill-to parties as a condition on `alias` (people.access's ids)."""
    return " OR ".join(
        f"{alias}.{column}_id IN ({', '.join(f'%({column}{i})s' for i in range(count))})"
        for column, count in parties
    )


@functools.cache
def _first_page_sql(
    parties: tuple[tuple[str, int], ...], filters: tuple[str, ...], status: str, stored: str | None
) -> str:
    """Return the query of `_first_page` for one shape of filters: the first page of
    invoices and one more, each with its client's names and the count and totals of
    every matching invoice.

    Written out once per shape, like people.access's queries: built by the ORM, the three
    queries (invoices, totals, clients) cost several times what the database takes to
    answer them. The conditions are `Invoice.objects.visible_to`'s (the login's parties,
    no drafts) and `_filtered`'s; the page is read in the list's order on the indexes that
    lead with the agency and the party, and only its rows are joined to their clients.
    """
    invoice = Invoice._meta.db_table
    where = [
        "i.agency_id = %(agency)s",
        f"i.status <> '{InvoiceStatus.DRAFT}'",
        f"({_parties_sql('i', parties)})",
    ]
    where += [
        {
            "client": "i.client_id = %(client)s",
            "issued_from": "i.issue_date >= %(issued_from)s",
            "issued_to": "i.issue_date <= %(issued_to)s",
        }[name]
        for name in filters
    ]
    if status:
        where.append(_STATUS_SQL[status])
    matching = f"FROM {invoice} i WHERE {' AND '.join(where)}"  # noqa: S608 - names from the models
    if stored is None:
        totals = f"SELECT {_SUMMARY_SQL} {matching}"
    else:
        totals = (
            f"SELECT {_TOTALS_SQL[stored]} FROM {InvoiceTotals._meta.db_table} t "  # noqa: S608
            f"WHERE t.agency_id = %(agency)s AND ({_parties_sql('t', parties)})"
        )
    # Most recently due first for the overdue list (see `_filtered`), else newest first.
    first = "due_date" if status == ShownStatus.OVERDUE else "issue_date"
    columns = ", ".join(f"i.{name}" for name in ("id", *LIST_FIELDS))
    return (
        f"SELECT p.*, c.first_name, c.last_name, c.preferred_name, s.* "  # noqa: S608
        f"FROM (SELECT {columns} {matching} ORDER BY i.{first} DESC, i.id DESC "
        f"LIMIT {PER_PAGE + 1}) p "
        f"JOIN {Client._meta.db_table} c ON c.id = p.client_id AND c.agency_id = %(agency)s "
        f"CROSS JOIN ({totals}) s ORDER BY p.{first} DESC, p.id DESC"
    )


def _as_money(value: Any) -> Decimal:
    # SQLite answers a float (or nothing for an empty sum): to the cent, as the ORM does.
    if isinstance(value, Decimal):
        return value
    return to_cents(Decimal(str(value))) if value is not None else ZERO


def _as_date(value: Any) -> datetime.date:
    # SQLite answers a date as its text.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _first_page(
    request: AuthenticatedHttpRequest, form: InvoiceFilterForm
) -> tuple[Page[Invoice], Decimal, Decimal, dict[int, str]]:
    """Return the first page of the matching invoices, their count and totals, and their
    clients' names, in one query (`_first_page_sql`).

    The same invoices, in the same order, as `_filtered`; the count and totals as
    `_page_of_invoices` reads them for a later page, or from the page's own rows when
    every invoice fits on it.
    """
    user = portal_login(request)
    billed = access.billed_parties(user)
    parties = tuple((column, len(ids)) for column, ids in billed.items() if ids)
    if not parties:
        return Paginator([], PER_PAGE).page(1), ZERO, ZERO, {}
    data = form.cleaned_data if form.is_bound else {}
    client = selected_client(request)
    params: dict[str, Any] = {"agency": user.agency_id}
    for column, ids in billed.items():
        params.update({f"{column}{i}": pk for i, pk in enumerate(ids)})
    filters = []
    if client is not None:
        filters.append("client")
        params["client"] = client.pk
    for name in ("issued_from", "issued_to"):
        if data.get(name):
            filters.append(name)
            params[name] = connection.ops.adapt_datefield_value(data[name])
    status = data.get("status") or ""
    if status in (ShownStatus.OVERDUE, ShownStatus.PARTIALLY_PAID, ShownStatus.ISSUED):
        params["today"] = connection.ops.adapt_datefield_value(timezone.localdate())
    sql = _first_page_sql(parties, tuple(filters), status, _stored_totals_status(request, form))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    invoices: list[Invoice] = []
    names: dict[int, str] = {}
    fields = ("id", *LIST_FIELDS)
    for pk, number, client_id, issued, due, status_, total, paid, balance, *rest in rows:
        first, last, preferred = rest[:3]
        values = (pk, number, client_id, _as_date(issued), _as_date(due), status_)
        money = (_as_money(total), _as_money(paid), _as_money(balance))
        invoices.append(Invoice.from_db(connection.alias, fields, (*values, *money)))
        if client_id not in names:
            names[client_id] = Client(
                first_name=first, last_name=last, preferred_name=preferred
            ).display_name
    if len(invoices) <= PER_PAGE:
        live = [invoice for invoice in invoices if invoice.status != InvoiceStatus.VOID]
        total = to_cents(sum((invoice.total for invoice in live), ZERO))
        due = to_cents(sum((invoice.balance for invoice in live if invoice.balance > 0), ZERO))
        return Paginator(invoices, PER_PAGE).page(1), total, due, names
    count, total, due = rows[0][-3:]
    page = CountedPaginator(invoices, PER_PAGE, count=int(count or 0)).page(1)
    return page, _as_money(total), _as_money(due), names


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


def _rows(invoices: Iterable[Invoice], names: dict[int, str], agency: Agency) -> list[InvoiceRow]:
    # The same words the template's filters would give, made once per page: one URL
    # prefix for every row (invoice numbers need no quoting); each date formatted once.
    prefix = reverse("billing:invoice_detail", args=["-"]).removesuffix("-/")
    currency = agency.currency

    # Each status's words, looked up once per page rather than once per row.
    labels: dict[str, str] = {}
    rows = []
    for invoice in invoices:
        status = ShownStatus(invoice.shown_status)
        if status not in labels:
            labels[status] = str(status.label)
        rows.append(
            InvoiceRow(
                number=invoice.number,
                url=f"{prefix}{invoice.number}/",
                client=names[invoice.client_id],
                issued=shown_day(invoice.issue_date),
                due=shown_day(invoice.due_date),
                status=status.value,
                status_label=labels[status],
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
    # The standard library's escape, as Django's `escape` does, without making each value
    # a SafeString: every value here is plain text.
    escape = html.escape
    cells = []
    for row in rows:
        url = escape(row.url)
        cells.append(
            f'<tr>\n    <th scope="row"><a href="{url}" hx-get="{url}" '
            'hx-target="#invoice-dialog-body" hx-swap="innerHTML" data-dialog-opener>'
            f"{escape(row.number)}</a></th>\n"
            f'    <td data-label="{client}">{escape(row.client)}</td>\n'
            f'    <td data-label="{issued}">{escape(row.issued)}</td>\n'
            f'    <td data-label="{due}">{escape(row.due)}</td>\n'
            f'    <td data-label="{status}"><span class="badge badge-'
            f'{escape(row.status)}">{escape(str(row.status_label))}</span></td>\n'
            f'    <td class="number" data-label="{total}">{escape(row.total)}</td>\n'
            f'    <td class="number" data-label="{amount_due}">'
            f"{escape(row.balance)}</td>\n  </tr>"
        )
    return mark_safe("\n  ".join(cells))  # every value is escaped above


@require_GET
def invoice_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET if request.GET else None)
    form.is_valid()
    page, total, amount_due, names = _page_of_invoices(request, form)
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
        "table_body": _table_body(_rows(page.object_list, names, portal_login(request).agency)),
        "total": total,
        "amount_due": amount_due,
    }
    return render(request, "billing/invoice_list.html", context)


def _is_fragment_request(request: HttpRequest) -> bool:
    # A history restore wants the whole page, as does any request without htmx.
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


# What the details show of an invoice, in the order of its columns (`Model.from_db`).
DETAIL_FIELDS = (
    "id",
    "agency_id",
    "number",
    "bill_to_client_id",
    "bill_to_payer_id",
    "bill_to_community_id",
    "client_id",
    "issue_date",
    "due_date",
    "period_start",
    "period_end",
    "adjustments",
    "status",
    "subtotal",
    "tax",
    "total",
    "amount_paid",
    "balance",
)
_DETAIL_DATES = frozenset({"issue_date", "due_date", "period_start", "period_end"})
_DETAIL_MONEY = frozenset({"adjustments", "subtotal", "tax", "total", "amount_paid", "balance"})


@functools.cache
def _invoice_sql(parties: tuple[tuple[str, int], ...]) -> str:
    """Return the query of `_invoice_or_404`: the invoice by number, its client and bill-to
    party, and one row per line (with its caregiver's first name) then per payment.

    Written out once per shape, like people.access's queries: the ORM's three queries
    (invoice, lines, payments) cost several times what the database takes to answer
    this one. The conditions are `Invoice.objects.visible_to`'s (the login's parties, no
    drafts); lines and payments are read on their (agency, invoice) indexes.
    """
    client = Client._meta.db_table
    columns = ", ".join(f"i.{name}" for name in DETAIL_FIELDS)
    # The invoice's id, looked up by its number on the (agency, number) index: each part
    # then reads its rows on its (agency, invoice) index (a join alone made PostgreSQL
    # read every line of the agency). The outer query keeps them only for a visible invoice.
    by_number = (
        f"(SELECT n.id FROM {Invoice._meta.db_table} n "  # noqa: S608 - names from the models
        "WHERE n.agency_id = %(agency)s AND n.number = %(number)s)"
    )
    items = (
        "SELECT 'line' AS kind, l.invoice_id, l.id, l.date, l.service AS text, "  # noqa: S608
        "l.hours AS amount, l.rate, l.caregiver_id, g.first_name "
        f"FROM {InvoiceLine._meta.db_table} l "
        f"LEFT JOIN {Caregiver._meta.db_table} g ON g.id = l.caregiver_id "
        f"WHERE l.agency_id = %(agency)s AND l.invoice_id = {by_number} "
        "UNION ALL SELECT 'payment', p.invoice_id, p.id, p.date, p.method, p.amount, "
        f"NULL, NULL, NULL FROM {Payment._meta.db_table} p "
        f"WHERE p.agency_id = %(agency)s AND p.invoice_id = {by_number}"
    )
    # A payer's or community's name and address, as subqueries: two more joins doubled
    # the time PostgreSQL takes to plan the query.
    party = [
        f"COALESCE((SELECT py.{column} FROM {Payer._meta.db_table} py "  # noqa: S608
        "WHERE py.id = i.bill_to_payer_id), "
        f"(SELECT cm.{column} FROM {Community._meta.db_table} cm "
        "WHERE cm.id = i.bill_to_community_id))"
        for column in ("name", "address")
    ]
    return (
        f"SELECT {columns}, c.first_name, c.last_name, b.first_name, b.last_name, "  # noqa: S608
        f"b.address, {party[0]}, {party[1]}, "
        "x.kind, x.id, x.date, x.text, x.amount, x.rate, x.caregiver_id, x.first_name "
        f"FROM {Invoice._meta.db_table} i JOIN {client} c ON c.id = i.client_id "
        f"LEFT JOIN {client} b ON b.id = i.bill_to_client_id "
        f"LEFT JOIN ({items}) x ON x.invoice_id = i.id "
        f"WHERE i.agency_id = %(agency)s AND i.number = %(number)s "
        f"AND i.status <> '{InvoiceStatus.DRAFT}' AND ({_parties_sql('i', parties)}) "
        "ORDER BY x.kind, x.date, x.id"
    )


def _invoice_or_404(
    request: AuthenticatedHttpRequest, number: str
) -> tuple[Invoice, list[InvoiceLine], list[Payment]]:
    """Return the login's invoice `number` with its client and bill-to party, its lines
    (with their caregivers) and its payments, in one query (`_invoice_sql`); else 404.

    Its agency is the login's (the access filter makes it so), already loaded for the frame.
    """
    user = portal_login(request)
    billed = access.billed_parties(user)
    parties = tuple((column, len(ids)) for column, ids in billed.items() if ids)
    if not parties:
        raise Http404
    params: dict[str, Any] = {"agency": user.agency_id, "number": number}
    for column, ids in billed.items():
        params.update({f"{column}{i}": pk for i, pk in enumerate(ids)})
    with connection.cursor() as cursor:
        cursor.execute(_invoice_sql(parties), params)
        rows = cursor.fetchall()
    if not rows:
        raise Http404
    first = rows[0]
    values = [
        _as_date(value)
        if name in _DETAIL_DATES
        else _as_money(value)
        if name in _DETAIL_MONEY
        else value
        for name, value in zip(DETAIL_FIELDS, first, strict=False)
    ]
    invoice = Invoice.from_db(connection.alias, DETAIL_FIELDS, values)
    invoice.agency = portal_login(request).agency
    named = len(DETAIL_FIELDS)
    first_name, last_name, bill_first, bill_last, bill_address, party, party_address = first[
        named : named + 7
    ]
    invoice.client = Client(
        id=invoice.client_id, agency_id=user.agency_id, first_name=first_name, last_name=last_name
    )
    if invoice.bill_to_client_id is not None:
        invoice.bill_to_client = Client(
            id=invoice.bill_to_client_id,
            agency_id=user.agency_id,
            first_name=bill_first,
            last_name=bill_last,
            address=bill_address,
        )
    elif invoice.bill_to_payer_id is not None:
        invoice.bill_to_payer = Payer(
            id=invoice.bill_to_payer_id, agency_id=user.agency_id, name=party, address=party_address
        )
    else:
        invoice.bill_to_community = Community(
            id=invoice.bill_to_community_id,
            agency_id=user.agency_id,
            name=party,
            address=party_address,
        )
    lines: list[InvoiceLine] = []
    payments: list[Payment] = []
    for kind, pk, day, text, amount, rate, caregiver_id, caregiver in (
        row[named + 7 :] for row in rows
    ):
        if kind == "line":
            line = InvoiceLine(
                id=pk,
                agency_id=user.agency_id,
                invoice_id=invoice.pk,
                date=_as_date(day),
                service=text,
                hours=_as_money(amount),
                rate=_as_money(rate),
            )
            if caregiver_id is not None:
                line.caregiver = Caregiver(id=caregiver_id, first_name=caregiver)
            else:
                line.caregiver = None
            lines.append(line)
        elif kind == "payment":
            payments.append(
                Payment(
                    id=pk,
                    agency_id=user.agency_id,
                    invoice_id=invoice.pk,
                    date=_as_date(day),
                    method=text,
                    amount=_as_money(amount),
                )
            )
    return invoice, lines, payments


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


def _details(
    invoice: Invoice, lines: list[InvoiceLine], payments: list[Payment]
) -> dict[str, object]:
    """Return what the details template shows of the lines and payments, as text: the
    same the template's filters would give, made here once per value."""
    currency = invoice.agency.currency
    return {
        "invoice": invoice,
        "lines": [
            LineRow(
                date=shown_day(line.date),
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
                date=shown_day(payment.date),
                method=payment.method,
                amount=format_money(payment.amount, currency),
            )
            for payment in payments
        ],
    }


@require_GET
def invoice_detail(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    invoice, lines, payments = _invoice_or_404(request, number)
    record(Action.INVOICE_VIEWED, request=request, obj=invoice)
    template = (
        "billing/invoice_dialog.html"
        if _is_fragment_request(request)
        else "billing/invoice_detail.html"
    )
    response = render(request, template, _details(invoice, lines, payments))
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def invoice_pdf(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    invoice, lines, payments = _invoice_or_404(request, number)
    record(Action.INVOICE_PDF_DOWNLOADED, request=request, obj=invoice)
    response = HttpResponse(
        render_invoice_pdf(invoice, lines=lines, payments=payments),
        content_type="application/pdf",
    )
    # The number is typed by staff: keep the file name to safe characters.
    filename = re.sub(r"[^A-Za-z0-9._-]", "-", invoice.number) or "invoice"
    response["Content-Disposition"] = f'attachment; filename="invoice-{filename}.pdf"'
    return response
