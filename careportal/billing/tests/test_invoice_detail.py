from decimal import Decimal

from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.billing.models import InvoiceStatus
from careportal.billing.services import recompute_invoice_money
from careportal.builders import make_invoice


def _url(invoice, name="billing:invoice_detail") -> str:
    return reverse(name, args=[invoice.number])


def _invoice(cast):
    cast.sunrise.address = "1 Sunrise Way\nSpringfield"
    cast.sunrise.payment_instructions = "Checks payable to Sunrise Home Care."
    cast.sunrise.save()
    invoice = make_invoice(
        cast.margaret, lines=2, caregiver=cast.caregiver, paid=Decimal("50.00"), number="INV-77"
    )
    invoice.tax_rate = Decimal("5")
    invoice.adjustments = Decimal("-5.00")
    invoice.save()
    return recompute_invoice_money(invoice=invoice)


def test_it_shows_the_whole_invoice_as_a_page(client, cast):
    invoice = _invoice(cast)
    client.force_login(cast.margaret.user)

    response = client.get(_url(invoice))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    for text in (
        "Sunrise Home Care",
        "1 Sunrise Way",
        "Margaret Hale",
        "INV-77",
        "Carla",
        "2.50",
        "$31.00",
        "$77.50",
        "$155.00",  # subtotal
        "$7.75",  # tax, 5% rounded half-up
        "-$5.00",
        "$157.75",  # total
        "$50.00",
        "$107.75",  # amount due
        "Partially paid",
        "Checks payable to Sunrise Home Care.",
        "Download PDF",
    ):
        assert text in body, text
    assert "Giver" not in body  # the caregiver's first name only
    assert response["Vary"] and "HX-Request" in response["Vary"]
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="invoice.viewed")
    assert event.object_id == str(invoice.pk)
    assert event.client_id == cast.margaret.pk
    assert event.actor == cast.margaret.user


def test_it_answers_a_fragment_to_htmx(client, cast):
    invoice = _invoice(cast)
    client.force_login(cast.tom)

    response = client.get(_url(invoice), headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="invoice-dialog-title"' in body
    assert "data-dialog-close" in body
    assert "$107.75" in body
    assert "HX-Request" in response["Vary"]
    assert AuditEvent.objects.filter(action="invoice.viewed", actor=cast.tom).count() == 1


def test_it_answers_a_whole_page_to_a_history_restore(client, cast):
    invoice = _invoice(cast)
    client.force_login(cast.margaret.user)

    response = client.get(
        _url(invoice), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()


def test_it_shows_void_invoices_as_void(client, cast):
    invoice = make_invoice(cast.margaret, status=InvoiceStatus.VOID)
    client.force_login(cast.margaret.user)

    response = client.get(_url(invoice))

    assert response.status_code == 200
    assert "badge-void" in response.content.decode()
    assert response.context["invoice"].balance == Decimal("0.00")


def test_it_answers_404_for_anyone_elses_invoice(client, cast):
    own = make_invoice(cast.margaret)
    draft = make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)
    to_atlas = make_invoice(cast.margaret, bill_to=cast.atlas)
    harbor = make_invoice(cast.hank)

    client.force_login(cast.stan)
    assert client.get(_url(own)).status_code == 404
    assert client.get(_url(own, "billing:invoice_pdf")).status_code == 404
    client.force_login(cast.margaret.user)
    assert client.get(_url(draft)).status_code == 404
    assert client.get(_url(to_atlas)).status_code == 404
    assert client.get(_url(harbor)).status_code == 404
    assert client.get(reverse("billing:invoice_detail", args=["NOPE"])).status_code == 404
    assert not AuditEvent.objects.filter(action="invoice.viewed").exists()


def test_it_keeps_the_same_number_of_queries_with_more_lines(
    client, cast, django_assert_max_num_queries
):
    small = make_invoice(cast.margaret, lines=1, caregiver=cast.caregiver)
    large = make_invoice(cast.margaret, lines=50, caregiver=cast.caregiver, paid=Decimal("5"))
    client.force_login(cast.margaret.user)
    for invoice in (small, large):
        with django_assert_max_num_queries(14):
            assert client.get(_url(invoice)).status_code == 200
        with django_assert_max_num_queries(14):
            assert client.get(_url(invoice), headers={"HX-Request": "true"}).status_code == 200


def test_it_sends_an_ended_session_to_sign_in_as_a_whole_page(client, cast):
    invoice = make_invoice(cast.margaret)

    response = client.get(_url(invoice), headers={"HX-Request": "true"})

    # htmx loads HX-Redirect as a whole page: never a sign-in form inside the dialog.
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))
    assert invoice.number not in response.content.decode()
    assert not AuditEvent.objects.filter(action="invoice.viewed").exists()
