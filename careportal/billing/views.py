"""Invoices in the portal: the list, the details (pop-up or page) and the PDF.

Every invoice is fetched through `Invoice.objects.visible_to(user)`: someone else's
invoice, another agency's, or a draft answers 404. Every view is an audit event.
"""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET

from careportal.audit.events import record
from careportal.billing.forms import InvoiceFilterForm
from careportal.billing.models import Invoice, InvoiceQuerySet, InvoiceTotals, ShownStatus
from careportal.billing.pdf import invoice_pdf as render_invoice_pdf
from careportal.portal.narrowing import selected_client

PER_PAGE = 20


class CountedPaginator(Paginator):
    """A paginator told its count, which was computed with the totals in one query."""

    def __init__(self, object_list: InvoiceQuerySet, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _filtered(request: HttpRequest, form: InvoiceFilterForm) -> InvoiceQuerySet:
    """Return the invoices matching the filters, status included, as one database query.

    The shown status is computed from the stored money, the due date and the agency's
    date (the middleware activates the agency's time zone), so the database filters and
    paginates; the list shows stored figures and loads no lines or payments.
    """
    client = selected_client(request)
    # No joins: the database walks the invoices in date order on an index and stops at
    # the page; the page's clients are fetched afterwards.
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


def _stored_totals_status(request: HttpRequest, form: InvoiceFilterForm) -> str | None:
    """Return the status whose totals the parties' stored totals give ("" for all), or
    None when the filters ask for an aggregate (dates, one client, a status that the due
    date decides)."""
    data = form.cleaned_data if form.is_bound else {}
    if selected_client(request) is not None or data.get("issued_from") or data.get("issued_to"):
        return None
    status = data.get("status") or ""
    return status if status in ("", ShownStatus.PAID, ShownStatus.VOID) else None


@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET if request.GET else None)
    form.is_valid()
    invoices = _filtered(request, form)
    # The count and totals cover every matching invoice: read from the parties' stored
    # totals when the filters allow, else one aggregate over the invoices' stored figures;
    # the database then reads only the page's invoices.
    status = _stored_totals_status(request, form)
    if status is None:
        count, total, amount_due = invoices.money_summary()
    else:
        count, total, amount_due = InvoiceTotals.objects.visible_to(request.user).summary(status)
    page = CountedPaginator(invoices, PER_PAGE, count=count).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    prefetch_related_objects(page.object_list, "client")
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
