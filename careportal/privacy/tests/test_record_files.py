"""A copy of the record: what the PDF, the FHIR bundle and the CSV files hold."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zipfile
import zlib
from decimal import Decimal

import pytest
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from careportal.billing.models import Invoice, InvoiceLine, InvoiceStatus
from careportal.builders import make_invoice, make_plan, make_visit
from careportal.careplans.models import PlanStatus
from careportal.messaging.models import Message
from careportal.privacy.record import build_files, gather
from careportal.scheduling.models import Visit, VisitStatus


def pdf_text(pdf: bytes) -> str:
    """Return the text drawn in a PDF of ours: its streams inflated, the strings drawn."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            content = stream
        text.extend(re.findall(rb"\((.*?)\)\s*Tj", content, re.S))
    return b" ".join(text).decode("latin-1")


@pytest.fixture
def record_of_margaret(cast):
    margaret = cast.margaret
    margaret.date_of_birth = datetime.date(1941, 3, 9)
    margaret.phone = "555-0142"
    margaret.address = "12 Elm Street\nSpringfield"
    margaret.save()
    make_plan(margaret, title="Care at home")
    make_plan(
        margaret, title="After the fall", status=PlanStatus.ENDED, start=datetime.date(2025, 1, 6)
    )
    make_plan(margaret, title="Not shared yet", status=PlanStatus.DRAFT)
    start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=20)
    make_visit(margaret, cast.caregiver, start, status=VisitStatus.COMPLETED)
    make_visit(margaret, None, start + datetime.timedelta(days=7), service="Companionship")
    make_visit(cast.walter, cast.caregiver, start, service="Walter's own visit")
    make_invoice(margaret, caregiver=cast.caregiver, lines=2, paid=Decimal("50.00"), number="SUN-1")
    make_invoice(margaret, bill_to=cast.atlas, number="SUN-2")
    make_invoice(margaret, status=InvoiceStatus.DRAFT, number="SUN-DRAFT")
    make_invoice(cast.walter, number="SUN-WALTER")
    Message.objects.create(
        agency=cast.sunrise,
        sender=margaret.user,
        sender_name="Margaret Hale",
        sender_email=margaret.user.email,
        subject='=HYPERLINK("http://evil.example")',
        body="Please come at ten on Tuesday.",
        recipient="owner@sunrise.example",
    )
    Message.objects.create(
        agency=cast.sunrise,
        sender=cast.tom,
        sender_name="Tom Hale",
        sender_email=cast.tom.email,
        subject="Tom's own message",
        body="Not Margaret's.",
        recipient="owner@sunrise.example",
    )
    return margaret


def test_it_validates_the_bundle_with_the_fhir_models(record_of_margaret):
    files = build_files(record_of_margaret)
    data = json.loads(files.fhir)

    bundle = Bundle.model_validate(data)

    assert bundle.type == "collection"
    for entry in data["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    kinds = [entry["resource"]["resourceType"] for entry in data["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("RelatedPerson") == 2  # Ellen and Tom
    assert kinds.count("CarePlan") == 2  # the draft is not shared
    assert kinds.count("Goal") == 2
    assert kinds.count("Appointment") == 2  # Walter's visit is his
    assert kinds.count("Invoice") == 2
    assert kinds.count("Communication") == 1
    # References point at entries of the bundle.
    urls = {entry["fullUrl"] for entry in data["entry"]}
    for reference in re.findall(r'"reference": "([^"]+)"', files.fhir.decode()):
        assert reference in urls


def test_it_puts_the_record_in_the_bundle(record_of_margaret):
    data = json.loads(build_files(record_of_margaret).fhir)
    resources = {}
    for entry in data["entry"]:
        resources.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])

    patient = resources["Patient"][0]
    assert patient["name"][0] == {"use": "official", "family": "Hale", "given": ["Margaret"]}
    assert patient["birthDate"] == "1941-03-09"
    plan = next(p for p in resources["CarePlan"] if p["title"] == "Care at home")
    assert plan["status"] == "active"
    assert plan["activity"][0]["detail"]["code"]["text"] == "Bathing"
    assert plan["activity"][0]["detail"]["description"] == "Use the shower chair."
    visit = next(a for a in resources["Appointment"] if a["status"] == "fulfilled")
    assert visit["participant"][1]["actor"] == {"display": "Carla"}
    invoice = next(i for i in resources["Invoice"] if i["identifier"][0]["value"] == "SUN-1")
    assert invoice["totalGross"] == {"value": 155.0, "currency": "USD"}
    assert len(invoice["lineItem"]) == 2
    assert "Payment on" in invoice["note"][0]["text"]
    atlas = next(i for i in resources["Invoice"] if i["identifier"][0]["value"] == "SUN-2")
    assert atlas["recipient"] == {"display": "Atlas Long-Term Care"}
    assert resources["Communication"][0]["payload"][0]["contentString"] == (
        "Please come at ten on Tuesday."
    )
    contacts = {r["name"][0]["text"]: r for r in resources["RelatedPerson"]}
    assert contacts["Tom Hale"]["relationship"][0]["text"] == "Son"


def test_it_writes_a_pdf_that_opens_with_the_whole_record(record_of_margaret):
    pdf = build_files(record_of_margaret).pdf

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    assert "The record of Margaret Hale" in text
    assert "555-0142" in text
    assert "Care at home" in text and "After the fall" in text
    assert "Stay safely at home" in text and "Use the shower chair." in text
    assert "Companionship" in text and "Carla" in text
    assert "Invoice SUN-1" in text and "Invoice SUN-2" in text
    assert "Atlas Long-Term Care" in text
    assert "Please come at ten on Tuesday." in text
    assert "Not shared yet" not in text
    assert "SUN-DRAFT" not in text and "SUN-WALTER" not in text
    assert "Walter's own visit" not in text
    assert "Tom's own message" not in text


def test_it_zips_one_csv_per_kind_with_formulas_neutralised(record_of_margaret):
    archive = zipfile.ZipFile(io.BytesIO(build_files(record_of_margaret).csv_zip))

    names = {name.removeprefix("my-record/") for name in archive.namelist()}
    assert names == {
        "details.csv",
        "emergency_contacts.csv",
        "care_plans.csv",
        "goals.csv",
        "tasks.csv",
        "visits.csv",
        "invoices.csv",
        "invoice_lines.csv",
        "payments.csv",
        "messages.csv",
    }

    def rows(name: str) -> list[list[str]]:
        text = archive.read(f"my-record/{name}").decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))

    messages = rows("messages.csv")
    assert messages[0] == ["Sent", "Subject", "Message"]
    assert messages[1][1] == '\'=HYPERLINK("http://evil.example")'
    assert len(messages) == 2
    visits = rows("visits.csv")
    assert len(visits) == 3
    assert {row[3] for row in visits[1:]} == {"Carla", ""}
    invoices = rows("invoices.csv")
    assert sorted(row[0] for row in invoices[1:]) == ["SUN-1", "SUN-2"]
    assert len(rows("invoice_lines.csv")) == 1 + 3
    assert rows("payments.csv")[1][2] == "50.00"
    assert len(rows("goals.csv")) == 1 + 2


def test_it_neutralises_every_kind_of_formula_start(cast):
    for start in ("=", "+", "-", "@", "\t", "\r"):
        Message.objects.create(
            agency=cast.sunrise,
            sender=cast.margaret.user,
            sender_name="Margaret Hale",
            sender_email="m@mail.example",
            subject=f"{start}SUM(A1)",
            body="x",
            recipient="owner@sunrise.example",
        )
    archive = zipfile.ZipFile(io.BytesIO(build_files(cast.margaret).csv_zip))
    text = archive.read("my-record/messages.csv").decode("utf-8-sig")
    subjects = [row[1] for row in csv.reader(io.StringIO(text))][1:]

    assert sorted(subjects) == sorted(f"'{start}SUM(A1)" for start in "=+-@\t\r")


def test_it_shows_caregivers_by_first_name_only(record_of_margaret):
    files = build_files(record_of_margaret)
    archive = zipfile.ZipFile(io.BytesIO(files.csv_zip))
    csv_text = " ".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())

    assert "Carla" in csv_text
    for text in (pdf_text(files.pdf), files.fhir.decode(), csv_text):
        assert "Giver" not in text


def test_it_writes_in_the_clients_language(record_of_margaret):
    record_of_margaret.user.language = "es"
    record_of_margaret.user.save()

    text = pdf_text(build_files(record_of_margaret).pdf)

    assert "Factura SUN-1" in text
    assert "Invoice SUN-1" not in text


def _five_years(client, caregiver):
    agency = client.agency
    first = timezone.now().replace(microsecond=0) - datetime.timedelta(weeks=260)
    Visit.objects.bulk_create(
        Visit(
            agency=agency,
            client=client,
            caregiver=caregiver,
            service="Personal care",
            start=first + datetime.timedelta(weeks=week),
            end=first + datetime.timedelta(weeks=week, hours=2),
            status=VisitStatus.COMPLETED,
        )
        for week in range(1040)
    )
    today = timezone.localdate()
    invoices = Invoice.objects.bulk_create(
        Invoice(
            agency=agency,
            client=client,
            bill_to_client=client,
            number=f"BIG-{month:04d}",
            issue_date=today - datetime.timedelta(days=30 * month),
            due_date=today - datetime.timedelta(days=30 * month - 30),
            period_start=today - datetime.timedelta(days=30 * month + 30),
            period_end=today - datetime.timedelta(days=30 * month),
            status=InvoiceStatus.ISSUED,
            subtotal=Decimal("310.00"),
            total=Decimal("310.00"),
            balance=Decimal("0.00"),
            amount_paid=Decimal("310.00"),
        )
        for month in range(60)
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            agency=agency,
            invoice=invoice,
            date=invoice.period_start + datetime.timedelta(days=7 * week),
            service="Personal care",
            caregiver=caregiver,
            hours=Decimal("2.50"),
            rate=Decimal("31.00"),
        )
        for invoice in invoices
        for week in range(4)
    )


def test_it_reads_a_large_record_in_a_bounded_number_of_queries(
    cast, django_assert_max_num_queries
):
    make_plan(cast.margaret)
    _five_years(cast.margaret, cast.caregiver)
    margaret = type(cast.margaret).objects.select_related("agency", "user").get(pk=cast.margaret.pk)

    with django_assert_max_num_queries(20):
        record = gather(margaret)

    assert len(record.visits) == 1040
    assert len(record.invoices) == 60
    assert record.visits[0].start < record.visits[-1].start


def test_it_writes_five_years_of_weekly_visits(cast):
    _five_years(cast.margaret, cast.caregiver)

    files = build_files(cast.margaret)

    assert files.pdf.startswith(b"%PDF-")
    assert len(json.loads(files.fhir)["entry"]) > 1100


def test_it_reads_every_row_across_chunks_of_equal_times(cast, monkeypatch):
    monkeypatch.setattr("careportal.privacy.record.CHUNK", 2)
    monkeypatch.setattr("careportal.privacy.record.INVOICE_CHUNK", 2)
    start = timezone.now().replace(microsecond=0)
    for service in ("A", "B", "C", "D", "E"):
        make_visit(cast.margaret, cast.caregiver, start, service=service)
    for number in range(5):
        make_invoice(cast.margaret, number=f"SAME-DAY-{number}")

    record = gather(cast.margaret)

    assert sorted(visit.service for visit in record.visits) == ["A", "B", "C", "D", "E"]
    assert sorted(invoice.number for invoice in record.invoices) == [
        f"SAME-DAY-{number}" for number in range(5)
    ]
