"""The access queries are served by indexes that lead with the agency.

With enough rows that a sequential scan would win if the index were missing (200 clients,
20,000 visits, 5,000 invoices), a single client's visits and invoices are read through the
expected index. On PostgreSQL the planner's choice is checked with EXPLAIN after ANALYZE;
on SQLite the same queries run and their results are checked, with SQLite's own plan.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from careportal.billing.models import Invoice, InvoiceStatus
from careportal.people.models import Client, ClientPayer, Payer
from careportal.scheduling.models import Visit

CLIENTS = 200
VISITS_EACH = 100
INVOICES_EACH = 25
PAYERS = 20


def _index(model, fields: list[str]) -> str:
    return next(index.name for index in model._meta.indexes if index.fields == fields)


def _crowd(cast, *, visits: bool = False, invoices: bool = False) -> list[Client]:
    """Fill the agency: 200 more clients linked to a payer, with 100 visits or 25 invoices
    each (Margaret too)."""
    agency = cast.sunrise
    clients = Client.objects.bulk_create(
        Client(agency=agency, first_name=f"Crowd{i:03d}", last_name="Client")
        for i in range(CLIENTS)
    )
    everyone = [*clients, cast.margaret]
    base = datetime.datetime(2026, 1, 1, 9, tzinfo=datetime.UTC)
    if visits:
        Visit.objects.bulk_create(
            Visit(
                agency=agency,
                client=client,
                service="Personal care",
                start=base + datetime.timedelta(days=i, hours=n % 8),
                end=base + datetime.timedelta(days=i, hours=n % 8 + 2),
            )
            for n, client in enumerate(everyone)
            for i in range(VISITS_EACH)
        )
    today = timezone.localdate(timezone=cast.sunrise.tz)
    if invoices:
        Invoice.objects.bulk_create(
            Invoice(
                agency=agency,
                number=f"CROWD-{client.pk}-{i}",
                bill_to_client=client,
                client=client,
                issue_date=today - datetime.timedelta(days=30 * i),
                due_date=today - datetime.timedelta(days=30 * i - 30),
                period_start=today - datetime.timedelta(days=30 * i + 30),
                period_end=today - datetime.timedelta(days=30 * i),
                tax_rate=Decimal("0.00"),
                status=InvoiceStatus.ISSUED,
            )
            for client in everyone
            for i in range(INVOICES_EACH)
        )
    # Links to many payers, so that the link table is not trivially small.
    payers = Payer.objects.bulk_create(
        Payer(agency=agency, name=f"Crowd payer {i}") for i in range(PAYERS)
    )
    ClientPayer.objects.bulk_create(
        ClientPayer(agency=agency, client=client, payer=payer, start_date=today)
        for client in clients
        for payer in [cast.trust, *payers]
    )
    # Statistics for the planner, as a live database has them (SQLite keeps them too, in
    # sqlite_stat1, and without them prefers an index that spares it a sort).
    with connection.cursor() as cursor:
        for table in (
            "people_client",
            "scheduling_visit",
            "billing_invoice",
            "people_clientpayer",
        ):
            cursor.execute(f"ANALYZE {table}")
    return clients


def _assert_served_by(plan: str, table: str, index: str) -> None:
    """Assert the plan reads `table` through `index` (a name, or the start of one)."""
    if connection.vendor == "postgresql":
        assert f"Seq Scan on {table}" not in plan, plan
        assert any(
            f"{kind} using {index}" in plan or f"{kind} on {index}" in plan
            for kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
        ), plan
    else:
        assert any(f"{kind} {index}" in plan for kind in ("USING INDEX", "USING COVERING INDEX")), (
            plan
        )


def test_it_reads_one_clients_visits_through_the_agency_client_start_index(cast):
    _crowd(cast, visits=True)
    user = cast.margaret.user
    start = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
    week = Visit.objects.visible_to(user).filter(
        start__gte=start, start__lt=start + datetime.timedelta(days=7)
    )

    assert week.count() == 7
    assert {visit.client_id for visit in week} == {cast.margaret.pk}
    _assert_served_by(
        week.explain(), "scheduling_visit", _index(Visit, ["agency", "client", "start"])
    )


def test_it_reads_one_clients_invoices_through_the_agency_bill_to_index(cast):
    _crowd(cast, invoices=True)
    user = cast.margaret.user
    invoices = Invoice.objects.visible_to(user).prefetch_related(None)

    assert invoices.count() == INVOICES_EACH
    assert {invoice.bill_to_client_id for invoice in invoices} == {cast.margaret.pk}
    # For 25 rows PostgreSQL may prefer the narrower foreign-key index on the same column
    # over the agency-first one; either reads this client's invoices alone.
    foreign_key = f"{Invoice._meta.db_table}_bill_to_client_id_"
    plan = invoices.explain()
    if foreign_key in plan:
        _assert_served_by(plan, "billing_invoice", foreign_key)
    else:
        _assert_served_by(
            plan,
            "billing_invoice",
            _index(Invoice, ["agency", "bill_to_client", "status", "issue_date"]),
        )


def test_it_reads_a_payers_links_in_force_through_the_agency_payer_dates_index(cast):
    from careportal.people import access

    clients = _crowd(cast)
    ellen = cast.ellen

    assert set(access.linked_client_ids(ellen).as_payer) == {c.pk for c in clients} | {
        cast.walter.pk
    }
    links = ClientPayer.objects.active(timezone.localdate(timezone=cast.sunrise.tz)).filter(
        agency_id=cast.sunrise.pk, payer_id__in=[cast.atlas.pk]
    )
    assert links.count() == 3
    _assert_served_by(
        links.values("client_id").explain(),
        "people_clientpayer",
        _index(ClientPayer, ["agency", "payer", "start_date", "end_date", "client"]),
    )
