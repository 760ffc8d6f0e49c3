"""Invoice actions in the back office: issue and void, each audited; money shown computed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.billing import services
from careportal.billing.models import InvoiceStatus
from careportal.testing import make_invoice


def _act(client, action: str, *invoices):
    return client.post(
        reverse("backoffice:billing_invoice_changelist"),
        {"action": action, "_selected_action": [i.pk for i in invoices]},
        follow=True,
    )


def test_it_issues_a_draft_invoice(client, cast):
    draft = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    sign_in(client, cast.billing)
    response = _act(client, "issue_selected", draft)
    assert response.status_code == 200
    assert "1 invoice issued." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED
    event = AuditEvent.objects.get(action="invoice.issued")
    assert (event.object_id, event.actor, event.agency) == (
        str(draft.pk),
        cast.billing,
        cast.sunrise,
    )
    assert event.client_id == cast.margaret.pk


def test_it_voids_an_issued_invoice(client, cast):
    issued = make_invoice(cast.margaret)
    sign_in(client, cast.owner)
    response = _act(client, "void_selected", issued)
    assert "1 invoice voided." in response.content.decode()
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.VOID
    event = AuditEvent.objects.get(action="invoice.voided")
    assert event.detail == {"previous_status": "issued"}


def test_it_refuses_to_issue_an_invoice_twice(client, cast):
    issued = make_invoice(cast.margaret)
    sign_in(client, cast.billing)
    response = _act(client, "issue_selected", issued)
    assert "Only a draft invoice can be issued." in response.content.decode()
    assert not AuditEvent.objects.filter(action="invoice.issued").exists()
    with pytest.raises(services.InvoiceStateError):
        services.issue_invoice(invoice=issued, actor=cast.billing)


def test_it_never_acts_on_another_agencys_invoice(client, cast):
    sunrise_draft = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    sign_in(client, cast.harriet)
    _act(client, "issue_selected", sunrise_draft)
    sunrise_draft.refresh_from_db()
    assert sunrise_draft.status == InvoiceStatus.DRAFT
    assert not AuditEvent.objects.filter(action="invoice.issued").exists()


def test_it_shows_the_money_computed(client, cast):
    # Two lines of 2.50 h at 31.00 = 155.00; 20.00 paid leaves 135.00.
    invoice = make_invoice(cast.margaret, lines=2, paid=Decimal("20.00"))
    sign_in(client, cast.billing)
    response = client.get(reverse("backoffice:billing_invoice_change", args=[invoice.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    for amount in ("155.00", "20.00", "135.00", "77.50"):
        assert amount in content
    assert "Issued" in content


def test_it_offers_no_invoice_actions_to_roles_that_cannot_edit(client, cast):
    draft = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    sign_in(client, cast.scheduler)
    response = _act(client, "issue_selected", draft)
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT
