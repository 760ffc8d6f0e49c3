import datetime
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.billing.models import Invoice, InvoiceLine, InvoiceStatus
from careportal.billing.services import recompute_invoice_money
from careportal.builders import make_invoice
from tests.page import pop_up_links

URL = reverse("billing:invoice_list")


def _numbers(response) -> list[str]:
    return [invoice.number for invoice in response.context["page"].object_list]


def test_it_lists_the_clients_invoices_newest_first(client, cast):
    older = make_invoice(cast.margaret, number="INV-OLD")
    Invoice.objects.filter(pk=older.pk).update(
        issue_date=timezone.localdate() - datetime.timedelta(days=60)
    )
    make_invoice(cast.margaret, number="INV-NEW")
    make_invoice(cast.margaret, number="INV-VOID", status=InvoiceStatus.VOID)
    make_invoice(cast.margaret, number="INV-DRAFT", status=InvoiceStatus.DRAFT)
    make_invoice(cast.margaret, bill_to=cast.atlas, number="INV-ATLAS")
    make_invoice(cast.hank, number="INV-HARBOR")
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert _numbers(response) == ["INV-VOID", "INV-NEW", "INV-OLD"]
    body = response.content.decode()
    assert "badge-void" in body
    assert "INV-DRAFT" not in body and "INV-ATLAS" not in body and "INV-HARBOR" not in body
    # Void invoices count for nothing: 2 x 77.50.
    assert response.context["total"] == Decimal("155.00")
    assert response.context["amount_due"] == Decimal("155.00")
    assert "$155.00" in body
    # Each number opens its invoice in a pop-up on the list's page.
    assert reverse("billing:invoice_detail", args=["INV-NEW"]) in pop_up_links(body)
    assert 'aria-labelledby="invoice-dialog-title"' in body
    event = AuditEvent.objects.get(action="invoice.list_viewed")
    assert event.actor == cast.margaret.user
    assert event.agency == cast.sunrise
    assert event.detail["invoices"] == ["INV-VOID", "INV-NEW", "INV-OLD"]
    assert event.ip_address == "127.0.0.1"


def test_it_filters_by_shown_status(client, cast):
    make_invoice(cast.margaret, number="INV-DUE")
    make_invoice(cast.margaret, number="INV-PART", paid=Decimal("10.00"))
    make_invoice(cast.margaret, number="INV-PAID", paid=Decimal("77.50"))
    make_invoice(cast.margaret, number="INV-LATE", due_in_days=-2)
    make_invoice(cast.margaret, number="INV-VOID", status=InvoiceStatus.VOID)
    client.force_login(cast.margaret.user)

    expected = {
        "issued": ["INV-DUE"],
        "partially_paid": ["INV-PART"],
        "paid": ["INV-PAID"],
        "overdue": ["INV-LATE"],
        "void": ["INV-VOID"],
    }
    for status, numbers in expected.items():
        response = client.get(URL, {"status": status})
        assert response.status_code == 200
        assert _numbers(response) == numbers, status
    response = client.get(URL, {"status": "partially_paid"})
    assert response.context["amount_due"] == Decimal("67.50")
    assert AuditEvent.objects.filter(action="invoice.list_viewed").count() == 6


def test_it_filters_by_issue_date_range(client, cast):
    today = timezone.localdate()
    for days, number in ((40, "INV-40"), (20, "INV-20"), (5, "INV-5")):
        invoice = make_invoice(cast.margaret, number=number)
        Invoice.objects.filter(pk=invoice.pk).update(
            issue_date=today - datetime.timedelta(days=days)
        )
    client.force_login(cast.margaret.user)

    response = client.get(
        URL,
        {
            "issued_from": (today - datetime.timedelta(days=30)).isoformat(),
            "issued_to": (today - datetime.timedelta(days=10)).isoformat(),
        },
    )

    assert response.status_code == 200
    assert _numbers(response) == ["INV-20"]
    body = response.content.decode()
    assert '<label for="id_issued_from">Issued from</label>' in body
    assert 'type="date"' in body


def test_it_explains_a_reversed_date_range_and_ignores_it(client, cast):
    make_invoice(cast.margaret, number="INV-1")
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"issued_from": "2026-05-01", "issued_to": "2026-01-01"})

    assert response.status_code == 200
    assert "The first date must be on or before the second." in response.content.decode()
    assert _numbers(response) == ["INV-1"]


def test_it_explains_a_date_it_cannot_read_in_plain_words(client, cast):
    make_invoice(cast.margaret, number="INV-1")
    client.force_login(cast.margaret.user)

    english = client.get(URL, {"issued_from": "the spring"})
    spanish = client.get(URL, {"issued_from": "la primavera"}, headers={"accept-language": "es"})

    assert "Please type a date, such as 03/14/2026." in english.content.decode()
    assert _numbers(english) == ["INV-1"]
    # Not Django's Spain-style "Introduzca una fecha válida."
    assert "Introduzca" not in spanish.content.decode()
    assert "Escriba una fecha" in spanish.content.decode()


def test_it_paginates_by_twenty(client, cast):
    for _ in range(45):
        make_invoice(cast.margaret)
    client.force_login(cast.margaret.user)

    first = client.get(URL)
    third = client.get(URL, {"page": 3})

    assert len(first.context["page"].object_list) == 20
    assert "Page 1 of 3" in first.content.decode()
    assert len(third.context["page"].object_list) == 5
    # Totals cover every invoice found, not only the page.
    assert third.context["total"] == Decimal("77.50") * 45


def test_it_shows_a_payer_only_what_is_billed_to_it(client, cast):
    make_invoice(cast.margaret, number="INV-OWN")
    make_invoice(cast.margaret, bill_to=cast.atlas, number="INV-ATLAS")
    make_invoice(cast.rosa, bill_to=cast.maple, number="INV-MAPLE")
    client.force_login(cast.paula)

    response = client.get(URL)

    assert _numbers(response) == ["INV-ATLAS"]


def test_it_narrows_to_one_client(client, cast):
    make_invoice(cast.margaret, number="INV-M")
    make_invoice(cast.walter, number="INV-W")
    make_invoice(cast.walter, bill_to=cast.trust, number="INV-T")
    client.force_login(cast.ellen)

    everything = client.get(URL)
    walter = client.get(URL, {"client": cast.walter.pk})
    stranger = client.get(URL, {"client": cast.rosa.pk})

    assert sorted(_numbers(everything)) == ["INV-M", "INV-T", "INV-W"]
    assert sorted(_numbers(walter)) == ["INV-T", "INV-W"]
    assert stranger.status_code == 404
    event = AuditEvent.objects.filter(action="invoice.list_viewed").first()
    assert event.client_id == cast.walter.pk


def test_it_is_never_stored_by_the_browser(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_it_keeps_the_same_number_of_queries_with_more_invoices(
    client, cast, django_assert_max_num_queries
):
    bound = 16
    make_invoice(cast.margaret, caregiver=cast.caregiver, paid=Decimal("1.00"))
    make_invoice(cast.margaret, bill_to=cast.atlas)
    for user in (cast.margaret.user, cast.paula):
        client.force_login(user)
        with django_assert_max_num_queries(bound):
            assert client.get(URL, {"status": "partially_paid"}).status_code == 200

    for _ in range(49):
        make_invoice(cast.margaret, lines=3, caregiver=cast.caregiver, paid=Decimal("1.00"))
        make_invoice(cast.rosa, bill_to=cast.atlas, lines=2, caregiver=cast.caregiver)
    for user in (cast.margaret.user, cast.paula):
        client.force_login(user)
        with django_assert_max_num_queries(bound):
            response = client.get(URL)
        assert response.status_code == 200
        assert len(response.context["page"].object_list) == 20


def test_it_loads_only_the_page_of_invoices(client, cast, monkeypatch):
    for _ in range(45):
        make_invoice(cast.margaret, lines=2, paid=Decimal("1.00"))
    loaded = {"invoices": 0, "lines": 0}
    invoice_from_db = Invoice.from_db.__func__
    line_from_db = InvoiceLine.from_db.__func__

    def count_invoice(cls, *args, **kwargs):
        loaded["invoices"] += 1
        return invoice_from_db(cls, *args, **kwargs)

    def count_line(cls, *args, **kwargs):
        loaded["lines"] += 1
        return line_from_db(cls, *args, **kwargs)

    monkeypatch.setattr(Invoice, "from_db", classmethod(count_invoice))
    monkeypatch.setattr(InvoiceLine, "from_db", classmethod(count_line))
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"page": 2})

    assert len(response.context["page"].object_list) == 20
    assert "Page 2 of 3" in response.content.decode()
    # The list shows the stored figures: no line is loaded at all.
    assert loaded == {"invoices": 20, "lines": 0}
    # The totals still cover all 45: 2 x 77.50 each, 1.00 paid on each.
    assert response.context["total"] == Decimal("155.00") * 45
    assert response.context["amount_due"] == Decimal("154.00") * 45


def test_it_totals_with_each_line_rounded_half_up(client, cast):
    # 1.50 h x 10.01 = 15.015 -> 15.02 per line, not 30.03 for the pair; tax 7.5 % of
    # 30.04 = 2.253 -> 2.25; adjustments -1.00; overpaid invoices owe nothing; void counts
    # for nothing.
    rounded = make_invoice(cast.margaret, lines=2, number="INV-ROUND")
    rounded.lines.update(hours=Decimal("1.50"), rate=Decimal("10.01"))
    Invoice.objects.filter(pk=rounded.pk).update(
        tax_rate=Decimal("7.5"), adjustments=Decimal("-1.00")
    )
    recompute_invoice_money(invoice=rounded)
    make_invoice(cast.margaret, number="INV-OVER", paid=Decimal("100.00"))
    make_invoice(cast.margaret, number="INV-PART", paid=Decimal("0.01"))
    make_invoice(cast.margaret, number="INV-VOID", status=InvoiceStatus.VOID)
    empty = make_invoice(cast.margaret, number="INV-EMPTY", lines=0)
    Invoice.objects.filter(pk=empty.pk).update(adjustments=Decimal("12.34"))
    recompute_invoice_money(invoice=empty)
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    live = Invoice.objects.visible_to(cast.margaret.user).exclude(status=InvoiceStatus.VOID)
    assert response.context["total"] == sum(i.total for i in live)
    assert response.context["amount_due"] == sum(max(i.balance, 0) for i in live)
    assert Invoice.objects.get(number="INV-ROUND").total == Decimal("31.29")
    assert response.context["total"] == Decimal("31.29") + Decimal("77.50") * 2 + Decimal("12.34")
    assert response.context["amount_due"] == Decimal("31.29") + Decimal("77.49") + Decimal("12.34")


def test_it_shows_the_same_totals_for_every_filter_as_the_invoices_add_up(client, cast):
    make_invoice(cast.rosa, bill_to=cast.atlas)  # issued, owes 77.50
    make_invoice(cast.rosa, bill_to=cast.atlas, paid=Decimal("10.00"))  # partially paid
    make_invoice(cast.margaret, bill_to=cast.atlas, paid=Decimal("100.00"))  # overpaid
    make_invoice(cast.margaret, bill_to=cast.atlas, due_in_days=-3)  # overdue
    make_invoice(cast.margaret, bill_to=cast.atlas, status=InvoiceStatus.VOID)
    make_invoice(cast.margaret, bill_to=cast.atlas, status=InvoiceStatus.DRAFT)
    make_invoice(cast.margaret)  # billed to Margaret: not the payer's
    client.force_login(cast.paula)
    expected = {
        "": (5, Decimal("310.00"), Decimal("222.50")),
        "paid": (1, Decimal("77.50"), Decimal("0.00")),
        "void": (1, Decimal("0.00"), Decimal("0.00")),
        "overdue": (1, Decimal("77.50"), Decimal("77.50")),
        "partially_paid": (1, Decimal("77.50"), Decimal("67.50")),
        "issued": (1, Decimal("77.50"), Decimal("77.50")),
    }

    def shown(query: dict) -> tuple:
        response = client.get(URL, query)
        context = response.context
        return context["page"].paginator.count, context["total"], context["amount_due"]

    for status, figures in expected.items():
        # Read from the payer's stored totals where the filter allows, else added up over
        # the invoices (a date range that covers them all): the same figures either way.
        assert shown({"status": status}) == figures, status
        assert shown({"status": status, "issued_to": "2100-01-01"}) == figures, status


def test_it_counts_and_totals_a_full_page_and_one_more(client, cast):
    # Twenty fit on the first page: the count and totals come from its rows. The
    # twenty-first makes two pages, and they come from the stored totals: the same figures.
    for _ in range(20):
        make_invoice(cast.margaret, paid=Decimal("7.50"))
    client.force_login(cast.margaret.user)

    full = client.get(URL)
    make_invoice(cast.margaret, paid=Decimal("7.50"))
    more = client.get(URL)

    assert full.context["page"].paginator.count == 20
    assert full.context["total"] == Decimal("77.50") * 20
    assert full.context["amount_due"] == Decimal("70.00") * 20
    assert "Page 1 of" not in full.content.decode()
    assert more.context["page"].paginator.count == 21
    assert "Page 1 of 2" in more.content.decode()
    assert len(more.context["page"].object_list) == 20
    assert more.context["total"] == Decimal("77.50") * 21
    assert more.context["amount_due"] == Decimal("70.00") * 21


def test_it_reads_the_totals_from_the_rows_when_they_fit_on_one_page(
    client, cast, django_assert_max_num_queries
):
    for _ in range(20):
        make_invoice(cast.margaret)
    client.force_login(cast.margaret.user)
    client.get(URL)
    with CaptureQueriesContext(connection) as one_page:
        client.get(URL)
    # Whatever the filter: no aggregate when the rows fit.
    with django_assert_max_num_queries(len(one_page)):
        assert client.get(URL, {"page": "1", "status": "issued"}).status_code == 200
    make_invoice(cast.margaret)
    with CaptureQueriesContext(connection) as two_pages:
        client.get(URL)

    # Two pages' count and totals come in the first page's query: no query more.
    assert len(two_pages) == len(one_page)


def test_it_lists_on_its_first_page_what_the_invoices_queryset_gives(client, cast):
    # The first page is one query written out (billing.views._first_page_sql): the same
    # invoices, order, count and totals as `Invoice.objects.visible_to` and its filters.
    today = timezone.localdate()
    for days in (-40, -3, 5, 30):
        make_invoice(cast.rosa, bill_to=cast.atlas, due_in_days=days)
        make_invoice(cast.rosa, bill_to=cast.atlas, due_in_days=days, paid=Decimal("10.00"))
        make_invoice(cast.margaret, bill_to=cast.atlas, due_in_days=days, paid="all")
    make_invoice(cast.margaret, bill_to=cast.atlas, paid=Decimal("100.00"))  # overpaid
    make_invoice(cast.margaret, bill_to=cast.atlas, status=InvoiceStatus.VOID)
    make_invoice(cast.margaret, bill_to=cast.atlas, status=InvoiceStatus.DRAFT)
    for _ in range(8):  # more than a page: the count and totals are read, not added up
        make_invoice(cast.rosa, bill_to=cast.atlas, due_in_days=-3)
    old = make_invoice(cast.rosa, bill_to=cast.atlas, due_in_days=-400)
    Invoice.objects.filter(pk=old.pk).update(issue_date=today - datetime.timedelta(days=430))
    make_invoice(cast.margaret)  # billed to Margaret: not the payer's
    client.force_login(cast.paula)
    statuses = ["", "issued", "partially_paid", "paid", "overdue", "void"]
    ranges = [{}, {"issued_from": (today - datetime.timedelta(days=100)).isoformat()}]
    ranges.append({"issued_to": (today - datetime.timedelta(days=100)).isoformat()})
    for status in statuses:
        for dates in ranges:
            query = {"status": status, **dates} if status else dict(dates)
            invoices = Invoice.objects.visible_to(cast.paula)
            if status:
                invoices = invoices.having_shown_status(status, today)
            if "issued_from" in dates:
                invoices = invoices.filter(issue_date__gte=dates["issued_from"])
            if "issued_to" in dates:
                invoices = invoices.filter(issue_date__lte=dates["issued_to"])
            if status == "overdue":
                invoices = invoices.order_by("-due_date", "-id")
            count, total, due = invoices.money_summary()

            response = client.get(URL, query)

            context = response.context
            assert _numbers(response) == [i.number for i in invoices[:20]], query
            assert context["page"].paginator.count == count, query
            assert (context["total"], context["amount_due"]) == (total, due), query
