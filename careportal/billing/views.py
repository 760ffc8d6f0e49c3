"""Invoices in the portal: the list, the details (pop-up or page) and the PDF.

Every invoice is fetched through `Invoice.objects.visible_to(user)`: someone else's
invoice, another agency's, or a draft answers 404. Every view is an audit event.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from careportal.audit.events import record
from careportal.billing.forms import InvoiceFilterForm
from careportal.billing.models import Invoice, InvoiceQuerySet, InvoiceStatus, ShownStatus
from careportal.billing.pdf import invoice_pdf as render_invoice_pdf
from careportal.portal.narrowing import selected_client

PER_PAGE = 20


def _filtered(request: HttpRequest, form: InvoiceFilterForm) -> tuple[InvoiceQuerySet, str]:
    """Return the invoices matching the filters the database can apply, and the status."""
    client = selected_client(request)
    invoices = Invoice.objects.visible_to(request.user).for_client(client.pk if client else None)
    data = form.cleaned_data if form.is_bound else {}
    if data.get("issued_from"):
        invoices = invoices.filter(issue_date__gte=data["issued_from"])
    if data.get("issued_to"):
        invoices = invoices.filter(issue_date__lte=data["issued_to"])
    status = data.get("status") or ""
    if status == ShownStatus.VOID:
        invoices = invoices.filter(status=InvoiceStatus.VOID)
    elif status:
        invoices = invoices.filter(status=InvoiceStatus.ISSUED)
    return invoices, status


@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET if request.GET else None)
    form.is_valid()
    invoices, status = _filtered(request, form)
    if status:
        # The shown status depends on the payments and per-line rounding, so it is computed
        # in Python on the issued (or void) rows, their lines and payments prefetched: a
        # fixed number of queries, but every matching row is loaded. Statuses other than
        # void are filtered among issued invoices only.
        rows = [invoice for invoice in invoices if invoice.shown_status == status]
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
        live = [invoice for invoice in rows if invoice.status != InvoiceStatus.VOID]
        total = sum((invoice.total for invoice in live), Decimal("0.00"))
        amount_due = sum((max(i.balance, Decimal("0.00")) for i in live), Decimal("0.00"))
    else:
        # No status: the database paginates, and only the page's invoices are loaded with
        # their lines and payments; the totals cover every matching invoice from flat rows.
        page = Paginator(invoices, PER_PAGE).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
        total, amount_due = invoices.money_totals()
    client = selected_client(request)
    record(
        "invoice.list_viewed",
        request=request,
        client=client,
        invoices=[invoice.number for invoice in page.object_list],
        clients=sorted({invoice.client_id for invoice in page.object_list}),
    )
    context = {"form": form, "page": page, "total": total, "amount_due": amount_due}
    return render(request, "billing/invoice_list.html", context)


def _is_fragment_request(request: HttpRequest) -> bool:
    # A history restore wants the whole page, as does any request without htmx.
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


@require_GET
def invoice_detail(request: HttpRequest, number: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.visible_to(request.user), number=number)
    record("invoice.viewed", request=request, obj=invoice)
    template = (
        "billing/invoice_dialog.html"
        if _is_fragment_request(request)
        else "billing/invoice_detail.html"
    )
    response = render(request, template, {"invoice": invoice})
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.visible_to(request.user), number=number)
    record("invoice.pdf_downloaded", request=request, obj=invoice)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    # The number is typed by staff: keep the file name to safe characters.
    filename = re.sub(r"[^A-Za-z0-9._-]", "-", invoice.number) or "invoice"
    response["Content-Disposition"] = f'attachment; filename="invoice-{filename}.pdf"'
    return response
