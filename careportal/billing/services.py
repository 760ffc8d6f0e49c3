"""Writes on invoices that change their stored status, each with its audit event."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from careportal.audit.events import record
from careportal.billing.models import Invoice, InvoiceStatus


class InvoiceStateError(Exception):
    """The invoice is not in a state that allows the change."""


@transaction.atomic
def issue_invoice(*, invoice: Invoice, actor: Any, request: HttpRequest | None = None) -> Invoice:
    """Issue a draft invoice: from now on it shows in the portal of whoever it is billed to."""
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk, agency_id=invoice.agency_id)
    if locked.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError(_("Only a draft invoice can be issued."))
    if not locked.lines.exists():
        raise InvoiceStateError(_("An invoice needs at least one line to be issued."))
    locked.status = InvoiceStatus.ISSUED
    locked.save(update_fields=["status"])
    record("invoice.issued", request=request, actor=actor, obj=locked)
    invoice.status = locked.status
    return locked


@transaction.atomic
def void_invoice(*, invoice: Invoice, actor: Any, request: HttpRequest | None = None) -> Invoice:
    """Void a draft or issued invoice; it stays visible in the portal, shown as void."""
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk, agency_id=invoice.agency_id)
    if locked.status == InvoiceStatus.VOID:
        raise InvoiceStateError(_("The invoice is void already."))
    previous = locked.status
    locked.status = InvoiceStatus.VOID
    locked.save(update_fields=["status"])
    record("invoice.voided", request=request, actor=actor, obj=locked, previous_status=previous)
    invoice.status = locked.status
    return locked
