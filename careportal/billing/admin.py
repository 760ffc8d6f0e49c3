"""Billing in the back office: invoices with their lines and payments, audited wherever
staff read them, their stored money kept right by billing.services.

Invoices, lines and payments run to hundreds of thousands of rows: they are searched by
the invoice's whole number (its unique index) or through the small tables they point to
(clients, payers, communities), never by a text match over every row.

Invoices, lines and payments are saved and deleted through billing.services, the one door
the API and the import use too, which keeps the stored money and the parties' totals right
and records the audit events: these classes hand it what their forms built.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.audit.actions import Action
from careportal.audit.admin import AuditedViewMixin
from careportal.backoffice.scoping import (
    AgencyAutocompleteFilter,
    AgencyScopedAdmin,
    AgencyScopedTabularInline,
    first_ids,
    scope_to_agency,
)
from careportal.backoffice.site import backoffice_site, staff_user
from careportal.billing import services as billing_services
from careportal.billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    validate_invoice_number,
)
from careportal.people.admin import clients_named
from careportal.people.models import Client, Community, Payer

if TYPE_CHECKING:
    from django.forms.models import BaseInlineFormSet
    from django_stubs_ext import StrOrPromise

    InvoiceModelForm = forms.ModelForm[Invoice]
    # The mixin below is used only with model admins: typed as their subclass.
    _AdminBase = admin.ModelAdmin[Any]
else:
    InvoiceModelForm = forms.ModelForm
    _AdminBase = object

# A line or a payment of an invoice.
InvoiceRow = InvoiceLine | Payment


def invoices_numbered(request: HttpRequest, search_term: str) -> models.QuerySet[Invoice]:
    """Return the agency's invoice with exactly this number (its unique index), if any."""
    number = search_term.strip()
    try:
        validate_invoice_number(number)
    except ValidationError:
        return Invoice.objects.none()
    return scope_to_agency(Invoice.objects.filter(number=number), request)


class InvoiceLineInline(AgencyScopedTabularInline):
    model = InvoiceLine
    fields = ("date", "service", "caregiver", "hours", "rate", "amount")
    readonly_fields = ("amount",)
    autocomplete_fields = ("caregiver",)

    @admin.display(description=_("amount"))
    def amount(self, line: InvoiceLine) -> Decimal:
        return line.amount


class PaymentInline(AgencyScopedTabularInline):
    model = Payment
    fields = ("date", "amount", "method", "reference")


class InvoiceForm(InvoiceModelForm):
    class Meta:
        model = Invoice
        fields = (
            "number",
            "bill_to_client",
            "bill_to_payer",
            "bill_to_community",
            "client",
            "period_start",
            "period_end",
            "issue_date",
            "due_date",
            "tax_rate",
            "adjustments",
            "notes",
        )

    def clean(self) -> dict[str, Any]:
        # A form's own clean() returns its cleaned data.
        cleaned = cast("dict[str, Any]", super().clean())
        parties = [
            f for f in ("bill_to_client", "bill_to_payer", "bill_to_community") if cleaned.get(f)
        ]
        if len(parties) != 1:
            raise ValidationError(_("Bill exactly one party: a client, a payer or a community."))
        # A slip shows the client's care lines to the bill-to party: it must be related.
        problem = billing_services.bill_to_problem(
            client=cleaned.get("client"), party=cleaned[parties[0]]
        )
        if problem:
            self.add_error(parties[0], problem)
        return cleaned


@admin.register(Invoice, site=backoffice_site)
class InvoiceAdmin(AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = Action.INVOICE_VIEWED
    list_viewed_action = Action.INVOICE_LIST_VIEWED
    form = InvoiceForm
    list_display = (
        "number",
        "bill_to_display",
        "client",
        "issue_date",
        "due_date",
        "total_display",
        "balance_display",
        "shown_status_display",
    )
    # No date_hierarchy (it aggregates over every invoice); issue_date's choices are fixed.
    list_filter = ("status", ("client", AgencyAutocompleteFilter), "issue_date")
    # Searched by exact number or by name through the parties (get_search_results).
    search_fields = ("number", "client__last_name", "bill_to_payer__name")
    search_help_text = _(
        "The whole invoice number, or the first letters of the client's or the payer's name."
    )
    autocomplete_fields = ("client", "bill_to_client", "bill_to_payer", "bill_to_community")
    fieldsets = (
        (None, {"fields": ("number", "status", "shown_status_display", "external_id")}),
        (_("Bill to"), {"fields": ("bill_to_client", "bill_to_payer", "bill_to_community")}),
        (_("Care"), {"fields": ("client", "period_start", "period_end")}),
        (_("Dates"), {"fields": ("issue_date", "due_date")}),
        (
            _("Money"),
            {
                "fields": (
                    "tax_rate",
                    "adjustments",
                    "subtotal_display",
                    "tax_display",
                    "total_display",
                    "paid_display",
                    "balance_display",
                )
            },
        ),
        (None, {"fields": ("notes",)}),
    )
    # The stored status changes through the issue and void actions alone (with their audit).
    readonly_fields = (
        "status",
        "external_id",
        "shown_status_display",
        "subtotal_display",
        "tax_display",
        "total_display",
        "paid_display",
        "balance_display",
    )
    inlines = (InvoiceLineInline, PaymentInline)
    actions = ("issue_selected", "void_selected")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Invoice]:
        # The money shown is stored on the invoice: no lines or payments are loaded for
        # the list, only the parties it names.
        # An invoice billed to a client is for that client's own care (bill_to_problem):
        # its bill-to client is its client, read once (`bill_to_display`). One join fewer
        # halves what PostgreSQL spends choosing how to join them.
        return (
            super()
            .get_queryset(request)
            .select_related("client", "bill_to_payer", "bill_to_community")
        )

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Invoice], search_term: str
    ) -> tuple[models.QuerySet[Invoice], bool]:
        """Find invoices by whole number, or by the name of their client or bill-to party.

        Each match goes through an index: the number's unique one, and the client's, the
        payer's or the community's invoices by the ids of the few that match the name.
        This also answers the invoice autocomplete of lines and payments.
        """
        words = search_term.split()
        if not words:
            return queryset, False
        numbered = Q(pk__in=first_ids(invoices_numbered(request, search_term)))
        if any(character.isdigit() for character in search_term):
            # A number, not a name: no need to look through the clients and parties.
            return scope_to_agency(queryset.filter(numbered), request), False
        # Payers and communities are a few hundred: a match inside the name is cheap.
        payers = scope_to_agency(Payer.objects.all(), request)
        communities = scope_to_agency(Community.objects.all(), request)
        for word in words:
            payers = payers.filter(name__icontains=word)
            communities = communities.filter(name__icontains=word)
        clients = first_ids(clients_named(request, search_term))
        match = (
            numbered
            | Q(client__in=clients)
            | Q(bill_to_client__in=clients)
            | Q(bill_to_payer__in=first_ids(payers))
            | Q(bill_to_community__in=first_ids(communities))
        )
        return scope_to_agency(queryset.filter(match), request), False

    def save_model(
        self, request: HttpRequest, obj: Invoice, form: forms.ModelForm[Invoice], change: bool
    ) -> None:
        # Saved with its lines in save_related, in one call of the service.
        pass

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm[Invoice],
        formsets: list[BaseInlineFormSet[Any, Invoice, Any]],
        change: bool,
    ) -> None:
        """Save the invoice with its lines, then its payments, through billing.services.

        A new invoice is a draft (issued by the list's action); the service stores its
        money and moves the totals if it is billed to another party.
        """
        # By the formset's model: the lines, and the payments.
        rows: dict[type[models.Model] | None, list[Any]] = {InvoiceLine: [], Payment: []}
        removed: dict[type[models.Model] | None, list[Any]] = {InvoiceLine: [], Payment: []}
        for formset in formsets:
            rows[formset.model] += formset.save(commit=False)
            removed[formset.model] += formset.deleted_objects
        where: dict[str, Any] = {"actor": staff_user(request), "request": request}
        invoice = form.instance
        if change:
            billing_services.save_invoice(
                invoice=invoice,
                lines=rows[InvoiceLine],
                removed_lines=removed[InvoiceLine],
                **where,
            )
        else:
            invoice.status = InvoiceStatus.DRAFT
            billing_services.create_invoice(invoice=invoice, lines=rows[InvoiceLine], **where)
        for payment in rows[Payment]:
            payment.invoice = invoice
            billing_services.record_payment(payment=payment, **where)
        if removed[Payment]:
            billing_services.delete_invoice_rows(rows=removed[Payment], **where)
        form.save_m2m()
        for formset in formsets:
            formset.save_m2m()

    def delete_model(self, request: HttpRequest, obj: Invoice) -> None:
        billing_services.delete_invoices(invoices=[obj], actor=staff_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Invoice]) -> None:
        billing_services.delete_invoices(
            invoices=queryset, actor=staff_user(request), request=request
        )

    @admin.display(description=_("bill to"))
    def bill_to_display(self, invoice: Invoice) -> Client | Payer | Community | None:
        if invoice.bill_to_client_id is not None and invoice.bill_to_client_id == invoice.client_id:
            return invoice.client
        return invoice.bill_to

    @admin.display(description=_("subtotal"))
    def subtotal_display(self, invoice: Invoice) -> Decimal | str:
        return invoice.subtotal if invoice.pk else ""

    @admin.display(description=_("tax"))
    def tax_display(self, invoice: Invoice) -> Decimal | str:
        return invoice.tax if invoice.pk else ""

    @admin.display(description=_("total"))
    def total_display(self, invoice: Invoice) -> Decimal | str:
        return invoice.total if invoice.pk else ""

    @admin.display(description=_("paid"))
    def paid_display(self, invoice: Invoice) -> Decimal | str:
        return invoice.amount_paid if invoice.pk else ""

    @admin.display(description=_("balance"))
    def balance_display(self, invoice: Invoice) -> Decimal | str:
        return invoice.balance if invoice.pk else ""

    @admin.display(description=_("shown status"))
    def shown_status_display(self, invoice: Invoice) -> StrOrPromise:
        return invoice.get_shown_status_display() if invoice.pk else ""

    def _run(
        self,
        request: HttpRequest,
        queryset: models.QuerySet[Invoice],
        service: Callable[..., Invoice],
        done: Callable[[int], str],
    ) -> None:
        count = 0
        for invoice in scope_to_agency(queryset, request):
            try:
                service(invoice=invoice, actor=staff_user(request), request=request)
            except billing_services.InvoiceStateError as exc:
                self.message_user(request, f"{invoice.number}: {exc}", messages.WARNING)
            else:
                count += 1
        if count:
            self.message_user(request, done(count), messages.SUCCESS)

    @admin.action(description=_("Issue the selected draft invoices"), permissions=["change"])
    def issue_selected(self, request: HttpRequest, queryset: models.QuerySet[Invoice]) -> None:
        self._run(
            request,
            queryset,
            billing_services.issue_invoice,
            lambda n: ngettext("%(n)d invoice issued.", "%(n)d invoices issued.", n) % {"n": n},
        )

    @admin.action(description=_("Void the selected invoices"), permissions=["change"])
    def void_selected(self, request: HttpRequest, queryset: models.QuerySet[Invoice]) -> None:
        self._run(
            request,
            queryset,
            billing_services.void_invoice,
            lambda n: ngettext("%(n)d invoice voided.", "%(n)d invoices voided.", n) % {"n": n},
        )


class InvoiceRowMixin(_AdminBase):
    """Lines and payments: found by their invoice's number, saved and deleted through
    billing.services, which stores the money of their invoice (and of the one a row left).
    """

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[InvoiceRow], search_term: str
    ) -> tuple[models.QuerySet[InvoiceRow], bool]:
        """Find an invoice's rows by its whole number, on the (agency, invoice) index."""
        if not search_term.split():
            return queryset, False
        invoices = first_ids(invoices_numbered(request, search_term))
        return scope_to_agency(queryset.filter(invoice__in=invoices), request), False

    def save_model(
        self,
        request: HttpRequest,
        obj: InvoiceRow,
        form: forms.ModelForm[InvoiceRow],
        change: bool,
    ) -> None:
        if isinstance(obj, Payment):
            billing_services.record_payment(payment=obj, actor=staff_user(request), request=request)
        else:
            billing_services.save_invoice_line(line=obj, actor=staff_user(request), request=request)

    def delete_model(self, request: HttpRequest, obj: InvoiceRow) -> None:
        billing_services.delete_invoice_rows(rows=[obj], actor=staff_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[InvoiceRow]) -> None:
        billing_services.delete_invoice_rows(
            rows=queryset, actor=staff_user(request), request=request
        )


@admin.register(InvoiceLine, site=backoffice_site)
class InvoiceLineAdmin(InvoiceRowMixin, AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = Action.INVOICE_VIEWED
    list_viewed_action = Action.INVOICE_LIST_VIEWED
    audited_via = "invoice"
    list_display = ("invoice", "date", "service", "caregiver", "hours", "rate")
    list_filter = (("caregiver", AgencyAutocompleteFilter),)
    list_select_related = ("invoice", "caregiver")
    # Searched by the invoice's whole number (get_search_results).
    search_fields = ("invoice__number",)
    search_help_text = _("The whole invoice number.")
    ordering = ("-date", "-id")
    autocomplete_fields = ("invoice", "caregiver")
    readonly_fields = ("external_id",)


@admin.register(Payment, site=backoffice_site)
class PaymentAdmin(InvoiceRowMixin, AuditedViewMixin, AgencyScopedAdmin):
    viewed_action = Action.INVOICE_VIEWED
    list_viewed_action = Action.INVOICE_LIST_VIEWED
    audited_via = "invoice"
    list_display = ("invoice", "date", "amount", "method", "reference")
    list_select_related = ("invoice",)
    # Searched by the invoice's whole number (get_search_results); no date_hierarchy.
    search_fields = ("invoice__number",)
    search_help_text = _("The whole invoice number.")
    list_filter = ("date",)
    ordering = ("-date", "-id")
    autocomplete_fields = ("invoice",)
    readonly_fields = ("external_id",)
