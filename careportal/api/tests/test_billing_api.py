"""The billing area of the API: invoices with lines, issue and void, and payments."""

from __future__ import annotations

from decimal import Decimal

from careportal.api.tests.conftest import Caller, make_key
from careportal.audit.models import AuditEvent
from careportal.billing.models import Invoice, InvoiceLine, InvoiceStatus, Payment
from careportal.billing.services import recompute_invoice_money
from careportal.builders import make_invoice


def _invoice(cast, **changes):
    return {
        "number": "INV-API-1",
        "client_id": cast.margaret.pk,
        "bill_to_payer_id": cast.atlas.pk,
        "issue_date": "2026-12-01",
        "due_date": "2026-12-31",
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "tax_rate": "10",
        "adjustments": "-5.00",
        "lines": [
            {"date": "2026-11-03", "service": "Personal care", "hours": "2.5", "rate": "31.00"},
            {
                "date": "2026-11-04",
                "service": "Companionship",
                "hours": "1.00",
                "rate": "25.55",
                "caregiver_id": cast.caregiver.pk,
                "external_id": "L-2",
            },
        ],
        **changes,
    }


def test_it_creates_a_draft_invoice_with_its_lines_and_its_money(api, cast):
    response = api("POST", "invoices", _invoice(cast))

    assert response.status_code == 201
    body = response.json()
    # 2.5 x 31.00 + 1 x 25.55 = 103.05; tax 10.31 (half-up); less 5.00.
    money = {name: body[name] for name in ("subtotal", "tax", "total", "amount_paid", "balance")}
    assert money == {
        "subtotal": "103.05",
        "tax": "10.31",
        "total": "108.36",
        "amount_paid": "0.00",
        "balance": "108.36",
    }
    assert (body["status"], body["adjustments"], body["tax_rate"]) == ("draft", "-5.00", "10.000")
    assert (body["bill_to_payer_id"], body["bill_to_client_id"]) == (cast.atlas.pk, None)
    assert [line["amount"] for line in body["lines"]] == ["77.50", "25.55"]
    invoice = Invoice.objects.get(pk=body["id"])
    assert (invoice.agency, invoice.status, invoice.total) == (
        cast.sunrise,
        InvoiceStatus.DRAFT,
        Decimal("108.36"),
    )
    assert AuditEvent.objects.filter(action="invoice.created", object_id=str(invoice.pk)).exists()
    assert AuditEvent.objects.filter(action="api.invoice.created").exists()


def test_it_refuses_money_as_a_number_and_names_the_field(api, cast):
    invoices = Invoice.objects.count()

    response = api("POST", "invoices", _invoice(cast, adjustments=-5.0))

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["adjustments"]
    assert Invoice.objects.count() == invoices


def test_it_names_the_line_of_a_bad_value_and_saves_nothing(api, cast):
    invoices, lines = Invoice.objects.count(), InvoiceLine.objects.count()
    body = _invoice(cast)
    body["lines"][1]["caregiver_id"] = cast.harbor_caregiver.pk

    wrong_carer = api("POST", "invoices", body)
    no_service = api(
        "POST", "invoices", _invoice(cast, lines=[{**body["lines"][0], "service": ""}])
    )
    two_parties = api("POST", "invoices", _invoice(cast, bill_to_client_id=cast.margaret.pk))

    assert wrong_carer.json()["errors"][0]["field"] == "lines.1.caregiver_id"
    assert no_service.json()["errors"][0]["field"] == "lines.0.service"
    assert two_parties.json()["errors"][0]["field"] == "bill_to"
    assert {wrong_carer.status_code, no_service.status_code, two_parties.status_code} == {422}
    assert (Invoice.objects.count(), InvoiceLine.objects.count()) == (invoices, lines)


def test_it_refuses_a_payer_not_linked_to_the_client(api, cast):
    response = api("POST", "invoices", _invoice(cast, bill_to_payer_id=cast.trust.pk))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "bill_to_payer_id"
    assert not Invoice.objects.filter(number="INV-API-1").exists()


def test_it_changes_a_draft_and_its_lines(api, cast):
    created = api("POST", "invoices", _invoice(cast)).json()
    first = created["lines"][0]

    response = api(
        "PATCH",
        f"invoices/{created['id']}",
        {
            "notes": "Thank you",
            "lines": [{**_invoice(cast)["lines"][0], "id": first["id"], "hours": "4.00"}],
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["notes"], body["subtotal"], body["total"]) == ("Thank you", "124.00", "131.40")
    assert [line["id"] for line in body["lines"]] == [first["id"]]
    assert not InvoiceLine.objects.filter(external_id="L-2").exists()


def test_it_issues_and_voids_an_invoice_and_names_its_state(api, cast):
    invoice = Invoice.objects.get(pk=api("POST", "invoices", _invoice(cast)).json()["id"])

    issued = api("POST", f"invoices/{invoice.pk}/issue")
    again = api("POST", f"invoices/{invoice.pk}/issue")
    changed = api("PATCH", f"invoices/{invoice.pk}", {"notes": "Late"})
    voided = api("POST", f"invoices/{invoice.pk}/void")
    void_again = api("POST", f"invoices/{invoice.pk}/void")

    assert (issued.status_code, issued.json()["status"]) == (200, "issued")
    assert again.status_code == 409
    assert again["Content-Type"].startswith("application/problem+json")
    assert again.json()["errors"] == [{"field": "status", "message": "This invoice is issued."}]
    assert changed.status_code == 422
    assert changed.json()["errors"][0] == {"field": "status", "message": "This invoice is issued."}
    assert (voided.status_code, voided.json()["status"], voided.json()["balance"]) == (
        200,
        "void",
        "0.00",
    )
    assert void_again.status_code == 409
    assert void_again.json()["errors"][0]["message"] == "This invoice is void."
    invoice.refresh_from_db()
    assert (invoice.status, invoice.notes) == (InvoiceStatus.VOID, "")
    assert AuditEvent.objects.filter(action="api.invoice.issued").count() == 1
    assert AuditEvent.objects.filter(action="invoice.voided", object_id=str(invoice.pk)).exists()


def test_it_refuses_to_issue_an_invoice_without_lines(api, cast):
    invoice = api("POST", "invoices", _invoice(cast, lines=[])).json()

    response = api("POST", f"invoices/{invoice['id']}/issue")

    assert response.status_code == 409
    assert response.json()["errors"][0]["message"] == "This invoice is a draft."
    assert Invoice.objects.get(pk=invoice["id"]).status == InvoiceStatus.DRAFT


def test_it_records_a_payment_that_lowers_the_balance(api, cast):
    invoice = make_invoice(cast.margaret)  # 2.50 x 31.00 = 77.50, issued

    response = api(
        "POST",
        "payments",
        {"invoice_id": invoice.pk, "amount": "50.25", "method": "Check"},
        **{"Idempotency-Key": "pay-1"},
    )
    retry = api(
        "POST",
        "payments",
        {"invoice_id": invoice.pk, "amount": "50.25", "method": "Check"},
        **{"Idempotency-Key": "pay-1"},
    )

    assert response.status_code == retry.status_code == 201
    assert response.json() == retry.json()
    assert response.json()["amount"] == "50.25"
    assert Payment.objects.filter(invoice=invoice).count() == 1
    read = api("GET", f"invoices/{invoice.pk}").json()
    assert (read["amount_paid"], read["balance"]) == ("50.25", "27.25")
    assert AuditEvent.objects.filter(action="payment.recorded").exists()


def test_it_answers_a_retried_invoice_once(api, cast):
    first = api("POST", "invoices", _invoice(cast), **{"Idempotency-Key": "inv-1"})
    retry = api("POST", "invoices", _invoice(cast), **{"Idempotency-Key": "inv-1"})

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert Invoice.objects.filter(number="INV-API-1").count() == 1
    assert InvoiceLine.objects.filter(invoice__number="INV-API-1").count() == 2


def test_it_keeps_another_agencys_invoices_and_payments_out_of_reach(api, cast):
    theirs = make_invoice(cast.hank, paid=Decimal("10.00"))
    payment = theirs.payments.get()

    answers = [
        api("GET", f"invoices/{theirs.pk}"),
        api("PATCH", f"invoices/{theirs.pk}", {"notes": "Mine"}),
        api("POST", f"invoices/{theirs.pk}/void"),
        api("GET", f"payments/{payment.pk}"),
        api("PATCH", f"payments/{payment.pk}", {"amount": "1.00"}),
    ]
    paying = api("POST", "payments", {"invoice_id": theirs.pk, "amount": "5.00"})

    assert [answer.status_code for answer in answers] == [404] * 5
    assert paying.status_code == 422 and paying.json()["errors"][0]["field"] == "invoice_id"
    theirs = recompute_invoice_money(invoice=theirs.pk)
    assert (theirs.status, theirs.notes, theirs.amount_paid) == ("issued", "", Decimal("10.00"))
    listed = {row["id"] for row in api("GET", "invoices?limit=200").json()["items"]}
    assert theirs.pk not in listed
    assert api("DELETE", f"payments/{payment.pk}").status_code == 405


def test_it_needs_the_billing_scope(cast):
    invoice = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    care_only = Caller(make_key(cast.sunrise, "careplans:write"))
    reader = Caller(make_key(cast.sunrise, "billing:read"))

    assert care_only("GET", "invoices").status_code == 403
    assert care_only("GET", "payments").status_code == 403
    assert reader("GET", "payments").status_code == 200
    assert reader("POST", f"invoices/{invoice.pk}/issue").status_code == 403
    assert (
        reader("POST", "payments", {"invoice_id": invoice.pk, "amount": "1.00"}).status_code == 403
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payments.count()) == (InvoiceStatus.DRAFT, 0)


def test_it_refuses_money_too_large_to_store_and_saves_nothing(api, cast):
    invoice = make_invoice(cast.margaret, paid=Decimal("10.00"))
    huge = [{"date": "2026-11-03", "service": "Care", "hours": "9999.99", "rate": "99999999.99"}]

    too_big = api("POST", "invoices", _invoice(cast, lines=huge))
    overpaid = api("POST", "payments", {"invoice_id": invoice.pk, "amount": "9999999999.99"})

    assert (too_big.status_code, overpaid.status_code) == (422, 422)
    assert too_big.json()["errors"][0]["field"] == "lines"
    assert overpaid.json()["errors"][0]["field"] == "amount"
    assert not Invoice.objects.filter(number="INV-API-1").exists()
    assert invoice.payments.count() == 1
