"""A copy of the client's whole record: gathered, then written as a PDF, FHIR JSON and CSV.

`gather` reads the record with a fixed number of queries per chunk of rows, whatever its
size: the client and their emergency contacts, their care plans past and present with
goals and tasks, their visits (the caregiver's first name only, as families see it), the
invoices for their care with lines and payments, and the messages they sent. The three
writers turn that into files; `build_files` does both and reports its progress.

The FHIR bundle is plain JSON built here (R4 resources: Patient, Organization,
RelatedPerson, CarePlan, Goal, Appointment, Invoice, Communication); the tests check it
against the `fhir.resources` models.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models
from django.db.models import Prefetch, Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from careportal.agencies.models import Agency
from careportal.billing.models import Invoice, InvoiceLine, InvoiceStatus, Payment
from careportal.billing.pdf import FONT, _row, _widths, latin1
from careportal.careplans.models import Goal, PlanStatus, PlanTask, ServicePlan
from careportal.messaging.models import Message
from careportal.people.models import Client, ClientStatus, EmergencyContact
from careportal.portal.templatetags.money import format_money
from careportal.scheduling.models import Visit, VisitStatus

# Rows read per query: enough to keep the queries few, few enough to bound the memory
# and the time of each one.
CHUNK = 500
INVOICE_CHUNK = 100

Progress = Callable[[int], None]
M = TypeVar("M", bound=models.Model)


def _no_progress(percent: int) -> None:
    return None


@dataclass(frozen=True)
class VisitRow:
    """A visit as the record shows it: the caregiver's first name only."""

    pk: int
    start: datetime.datetime
    end: datetime.datetime
    service: str
    status: str
    caregiver: str

    @property
    def status_label(self) -> str:
        return str(VisitStatus(self.status).label) if self.status in VisitStatus else self.status


@dataclass
class Record:
    """Everything a copy holds, read once and written three ways."""

    agency: Agency
    client: Client
    made_at: datetime.datetime
    contacts: list[EmergencyContact] = field(default_factory=list)
    plans: list[ServicePlan] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def local(self, value: datetime.datetime) -> datetime.datetime:
        """Return a stored (UTC) time in the agency's time zone."""
        return timezone.localtime(value, self.agency.tz)


@dataclass(frozen=True)
class RecordFiles:
    pdf: bytes
    fhir: bytes
    csv_zip: bytes


def _after(field: str, last: tuple[Any, int] | None) -> Q:
    """Return the filter for the rows after `last` (its `field` and pk) in that order."""
    if last is None:
        return Q()
    value, pk = last
    return Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": pk})


def _chunks(queryset: models.QuerySet[M], field: str, size: int) -> Iterator[list[M]]:
    """Yield the rows of `queryset` a chunk at a time, in order of `field` then pk.

    Keyset paging: each query starts after the last row of the one before, on the index
    that leads with the agency, the client (or sender) and `field`.
    """
    last: tuple[Any, int] | None = None
    while True:
        chunk = list(queryset.filter(_after(field, last)).order_by(field, "pk")[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        last = (getattr(chunk[-1], field), chunk[-1].pk)


def _visit_rows(client: Client) -> Iterator[list[VisitRow]]:
    """Yield the client's visits a chunk at a time, in order, as plain rows."""
    visits = Visit.objects.filter(agency_id=client.agency_id, client_id=client.pk)
    columns = ("pk", "start", "end", "service", "status", "caregiver__first_name")
    last: tuple[Any, int] | None = None
    while True:
        rows = list(
            visits.filter(_after("start", last))
            .order_by("start", "pk")
            .values_list(*columns)[:CHUNK]
        )
        if rows:
            yield [
                VisitRow(pk, start, end, service, status, first_name or "")
                for pk, start, end, service, status, first_name in rows
            ]
        if len(rows) < CHUNK:
            return
        last = (rows[-1][1], rows[-1][0])


def gather(client: Client, progress: Progress = _no_progress) -> Record:
    """Return the client's whole record, read in chunks; `progress` hears 0 to 60 percent."""
    agency = client.agency
    record = Record(agency=agency, client=client, made_at=timezone.now())
    scope = {"agency_id": agency.pk, "client_id": client.pk}
    record.contacts = list(EmergencyContact.objects.filter(**scope).order_by("name", "pk"))
    # Drafts never reach the client, here as on the Care Plan page.
    record.plans = list(
        ServicePlan.objects.filter(**scope)
        .exclude(status=PlanStatus.DRAFT)
        .prefetch_related(
            Prefetch("goals", queryset=Goal.objects.order_by("pk")),
            Prefetch("tasks", queryset=PlanTask.objects.order_by("pk")),
        )
        .order_by("-start_date", "-pk")
    )
    progress(10)

    visit_count = Visit.objects.filter(**scope).count()
    for chunk in _visit_rows(client):
        record.visits.extend(chunk)
        progress(10 + 30 * len(record.visits) // max(visit_count, 1))
    progress(40)

    # The invoices for the client's care, whoever they were billed to; drafts never show.
    invoices = (
        Invoice.objects.filter(**scope)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("bill_to_client", "bill_to_payer", "bill_to_community")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.select_related("caregiver")),
            Prefetch("payments", queryset=Payment.objects.order_by("date", "pk")),
        )
    )
    invoice_count = invoices.count()
    for invoice_chunk in _chunks(invoices, "issue_date", INVOICE_CHUNK):
        record.invoices.extend(invoice_chunk)
        progress(40 + 15 * len(record.invoices) // max(invoice_count, 1))

    if client.user_id is not None:
        sent = Message.objects.filter(agency_id=agency.pk, sender_id=client.user_id)
        for message_chunk in _chunks(sent, "created_at", CHUNK):
            record.messages.extend(message_chunk)
    progress(60)
    return record


def build_files(client: Client, progress: Progress = _no_progress) -> RecordFiles:
    """Return the client's record as a PDF, a FHIR bundle and zipped CSV files.

    Written in the client's language (English by default) and the agency's time zone.
    """
    language = getattr(client.user, "language", "") or None
    with translation.override(language or "en"):
        record = gather(client, progress)
        pdf = write_pdf(record)
        progress(85)
        fhir = write_fhir(record)
        progress(92)
        csv_zip = write_csv_zip(record)
        progress(99)
    return RecordFiles(pdf=pdf, fhir=fhir, csv_zip=csv_zip)


# Words and figures, shared by the PDF and the CSV files.


def _date(value: datetime.date | None) -> str:
    return formats.date_format(value) if value else ""


def _time(value: datetime.time | datetime.datetime) -> str:
    return formats.time_format(value)


def _plan_status(plan: ServicePlan) -> str:
    return _("Current plan") if plan.status == PlanStatus.ACTIVE else _("Past plan")


def _client_status(client: Client) -> str:
    return str(ClientStatus(client.status).label) if client.status in ClientStatus else ""


def _bill_to_name(invoice: Invoice) -> str:
    party = invoice.bill_to
    return str(getattr(party, "full_name", None) or party or "")


def _details(record: Record) -> list[tuple[str, str]]:
    client = record.client
    return [
        (_("Name"), client.full_name),
        (_("Preferred name"), client.preferred_name),
        (_("Date of birth"), _date(client.date_of_birth)),
        (_("Email"), client.email),
        (_("Phone"), client.phone),
        (_("Address"), client.address),
        (_("Status"), _client_status(client)),
        (_("Agency"), record.agency.name),
    ]


# The PDF: large text, headings, tables (drawn as the invoice PDF draws them).

BODY = 12


class _Writer:
    """Text and tables down the pages of one PDF."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf

    def line(self, text: str, size: int = BODY, style: str = "") -> None:
        self.pdf.set_font(FONT, style=style, size=size)
        _row(self.pdf, ["\n".join(str(text).splitlines())], [self.pdf.epw], ("L",))

    def heading(self, text: str, size: int = 18) -> None:
        self.pdf.ln(6)
        self.line(text, size=size, style="B")
        self.pdf.ln(1)

    def facts(self, facts: Iterable[tuple[str, str]]) -> None:
        self.pdf.set_font(FONT, size=BODY)
        widths = _widths(self.pdf, (30, 70))
        for label, value in facts:
            if value:
                _row(self.pdf, [label, value], widths, ("L", "L"))

    def table(
        self,
        titles: Sequence[str],
        rows: Iterable[Sequence[str]],
        shares: tuple[int, ...],
        aligns: tuple[str, ...] | None = None,
    ) -> None:
        aligns = aligns or ("L",) * len(titles)
        widths = _widths(self.pdf, shares)
        self.pdf.set_font(FONT, style="B", size=BODY)
        _row(self.pdf, list(titles), widths, aligns, rule_below=True)
        self.pdf.set_font(FONT, size=BODY)
        for cells in rows:
            _row(self.pdf, list(cells), widths, aligns, rule_below=True)


def write_pdf(record: Record) -> bytes:
    """Return the record as a PDF a person can read and print."""
    agency = record.agency
    client = record.client

    def money(value: Any) -> str:
        return format_money(value, agency.currency)

    pdf = FPDF(format="Letter")
    title = _("The record of %(name)s") % {"name": client.full_name}
    pdf.set_title(latin1(title))
    pdf.set_author(latin1(agency.name))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    out = _Writer(pdf)

    out.line(agency.name, size=16, style="B")
    out.line(title, size=22, style="B")
    made = record.local(record.made_at)
    out.line(_("Made on %(date)s at %(time)s") % {"date": _date(made.date()), "time": _time(made)})

    out.heading(_("My details"))
    out.facts(_details(record))
    out.heading(_("My emergency contacts"), size=15)
    if record.contacts:
        out.table(
            (_("Name"), _("Relationship"), _("Phone"), _("Email")),
            (
                (contact.name, contact.relationship_name, contact.phone, contact.email)
                for contact in record.contacts
            ),
            (30, 20, 20, 30),
        )
    else:
        out.line(_("None."))

    out.heading(_("My care plans"))
    if not record.plans:
        out.line(_("None."))
    for plan in record.plans:
        out.heading(f"{plan.title} ({_plan_status(plan)})", size=15)
        dates = (
            _("%(start)s to %(end)s")
            % {"start": _date(plan.start_date), "end": _date(plan.end_date)}
            if plan.end_date
            else _("From %(start)s") % {"start": _date(plan.start_date)}
        )
        out.facts(
            [
                (_("Dates"), dates),
                (_("Hours of care a week"), f"{plan.authorized_hours_per_week}"),
                (_("Who to ask"), " ".join([plan.coordinator_name, plan.coordinator_phone])),
                (_("Notes"), plan.notes),
            ]
        )
        out.line(_("Goals"), size=13, style="B")
        goals = list(plan.goals.all())
        if goals:
            out.table(
                (_("Goal"), _("Target date")),
                ((goal.description, _date(goal.target_date)) for goal in goals),
                (75, 25),
            )
        else:
            out.line(_("No goals written yet."))
        out.line(_("Help with daily activities"), size=13, style="B")
        tasks = list(plan.tasks.all())
        if tasks:
            out.table(
                (_("Activity"), _("How often"), _("Instructions")),
                (
                    (task.get_activity_display(), task.frequency, task.instructions)
                    for task in tasks
                ),
                (25, 25, 50),
            )
        else:
            out.line(_("No tasks written yet."))

    out.heading(_("My visits"))
    if record.visits:
        out.table(
            (_("Date"), _("Time"), _("Service"), _("Caregiver"), _("Status")),
            _visit_cells(record),
            (22, 20, 26, 16, 16),
        )
    else:
        out.line(_("None."))

    out.heading(_("My invoices"))
    if not record.invoices:
        out.line(_("None."))
    for invoice in record.invoices:
        out.heading(
            _("Invoice %(number)s") % {"number": invoice.number}
            + f" ({invoice.get_shown_status_display()})",
            size=15,
        )
        out.facts(
            [
                (_("Bill to"), _bill_to_name(invoice)),
                (_("Issue date"), _date(invoice.issue_date)),
                (_("Due date"), _date(invoice.due_date)),
                (
                    _("Service period"),
                    _("%(start)s to %(end)s")
                    % {"start": _date(invoice.period_start), "end": _date(invoice.period_end)},
                ),
            ]
        )
        out.table(
            (_("Date"), _("Service"), _("Caregiver"), _("Hours"), _("Rate"), _("Amount")),
            (
                (
                    _date(line.date),
                    line.service,
                    line.caregiver.family_name_shown if line.caregiver else "",
                    f"{line.hours:.2f}",
                    money(line.rate),
                    money(line.amount),
                )
                for line in invoice.lines.all()
            ),
            (18, 30, 16, 10, 14, 16),
            ("L", "L", "L", "R", "R", "R"),
        )
        totals = [
            (_("Subtotal"), invoice.subtotal),
            (_("Tax"), invoice.tax),
            (_("Adjustments"), invoice.adjustments),
            (_("Total"), invoice.total),
        ]
        totals += [
            (_("Payment on %(date)s") % {"date": _date(payment.date)}, payment.amount)
            for payment in invoice.payments.all()
        ]
        totals.append((_("Amount due"), invoice.balance))
        pdf.set_font(FONT, size=BODY)
        widths = _widths(pdf, (70, 30))
        for label, value in totals:
            _row(pdf, [label, money(value)], widths, ("R", "R"))

    out.heading(_("Messages I sent"))
    if not record.messages:
        out.line(_("None."))
    for message in record.messages:
        sent = record.local(message.created_at)
        out.line(
            _("%(date)s at %(time)s: %(subject)s")
            % {"date": _date(sent.date()), "time": _time(sent), "subject": message.subject},
            size=13,
            style="B",
        )
        out.line(message.body)
        pdf.ln(3)
    return bytes(pdf.output())


def _visit_cells(record: Record) -> Iterator[tuple[str, ...]]:
    for visit in record.visits:
        start, end = record.local(visit.start), record.local(visit.end)
        yield (
            _date(start.date()),
            f"{_time(start)} - {_time(end)}",
            visit.service,
            visit.caregiver,
            visit.status_label,
        )


# FHIR R4: plain dictionaries, one bundle of type "collection".

FHIR_RELATIONSHIPS = {
    "spouse": "SPS",
    "daughter": "DAUC",
    "son": "SONC",
    "daughter_in_law": "DAUINLAW",
    "son_in_law": "SONINLAW",
    "sister": "SIS",
    "brother": "BRO",
    "granddaughter": "GRNDDAU",
    "grandson": "GRNDSON",
    "niece": "NIECE",
    "nephew": "NEPHEW",
    "other_family": "FAMMEMB",
    "friend": "FRND",
    "neighbor": "NBOR",
    "guardian": "GUARD",
}
ROLE_CODES = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CONTACT_ROLES = "http://terminology.hl7.org/CodeSystem/v2-0131"
APPOINTMENT_STATUS = {
    VisitStatus.SCHEDULED: "booked",
    VisitStatus.IN_PROGRESS: "arrived",
    VisitStatus.COMPLETED: "fulfilled",
    VisitStatus.CANCELLED: "cancelled",
    VisitStatus.MISSED: "noshow",
}
# Stable ids: the same record gives the same references in every copy.
_NAMESPACE = uuid.UUID("6f1c1f52-5d0c-4a53-9a55-3c0f2b8c7e41")


def _url(record: Record, kind: str, pk: Any) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{record.agency.pk}/{kind}/{pk}')}"


def _instant(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds")


def _telecom(phone: str, email: str) -> list[dict[str, str]]:
    telecom = []
    if phone:
        telecom.append({"system": "phone", "value": phone})
    if email:
        telecom.append({"system": "email", "value": email})
    return telecom


def _clean(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop the empty elements: FHIR allows no empty strings, lists or objects."""
    return {key: value for key, value in resource.items() if value not in ("", None, [], {})}


def _fhir_resources(record: Record) -> Iterator[tuple[str, dict[str, Any]]]:
    agency, client = record.agency, record.client
    currency = agency.currency
    patient = {"reference": _url(record, "client", client.pk), "display": client.full_name}
    organization = {"reference": _url(record, "agency", agency.pk), "display": agency.name}

    def money(value: Decimal) -> dict[str, Any]:
        return {"value": value, "currency": currency}

    yield (
        organization["reference"],
        _clean(
            {
                "resourceType": "Organization",
                "id": f"agency-{agency.pk}",
                "name": agency.name,
                "telecom": _telecom(agency.phone, agency.portal_message_email),
                "address": [{"text": agency.address}] if agency.address else [],
            }
        ),
    )
    names: list[dict[str, Any]] = [
        {"use": "official", "family": client.last_name, "given": [client.first_name]}
    ]
    if client.preferred_name:
        names.append({"use": "usual", "family": client.last_name, "given": [client.preferred_name]})
    yield (
        patient["reference"],
        _clean(
            {
                "resourceType": "Patient",
                "id": f"client-{client.pk}",
                "active": client.status != ClientStatus.DISCHARGED,
                "name": names,
                "telecom": _telecom(client.phone, client.email),
                "birthDate": client.date_of_birth.isoformat() if client.date_of_birth else None,
                "address": [{"text": client.address}] if client.address else [],
                "managingOrganization": organization,
            }
        ),
    )
    for contact in record.contacts:
        codings = [{"system": CONTACT_ROLES, "code": "C", "display": "Emergency Contact"}]
        if contact.relationship in FHIR_RELATIONSHIPS:
            codings.append({"system": ROLE_CODES, "code": FHIR_RELATIONSHIPS[contact.relationship]})
        yield (
            _url(record, "contact", contact.pk),
            _clean(
                {
                    "resourceType": "RelatedPerson",
                    "id": f"contact-{contact.pk}",
                    "patient": patient,
                    "relationship": [{"coding": codings, "text": contact.relationship_name}],
                    "name": [{"text": contact.name}],
                    "telecom": _telecom(contact.phone, contact.email),
                }
            ),
        )
    for plan in record.plans:
        active = plan.status == PlanStatus.ACTIVE
        goal_refs = []
        for goal in plan.goals.all():
            goal_url = _url(record, "goal", goal.pk)
            goal_refs.append({"reference": goal_url})
            target = [{"dueDate": goal.target_date.isoformat()}] if goal.target_date else []
            yield (
                goal_url,
                _clean(
                    {
                        "resourceType": "Goal",
                        "id": f"goal-{goal.pk}",
                        "lifecycleStatus": "active" if active else "completed",
                        "description": {"text": goal.description},
                        "subject": patient,
                        "target": target,
                    }
                ),
            )
        activities = [
            {
                "detail": _clean(
                    {
                        "status": "in-progress" if active else "completed",
                        "code": {"text": task.get_activity_display()},
                        "scheduledString": task.frequency,
                        "description": task.instructions,
                    }
                )
            }
            for task in plan.tasks.all()
        ]
        notes = [
            {
                "text": _("Hours of care a week: %(hours)s")
                % {"hours": plan.authorized_hours_per_week}
            }
        ]
        if plan.coordinator_name:
            notes.append(
                {
                    "text": _("Who to ask: %(name)s %(phone)s")
                    % {"name": plan.coordinator_name, "phone": plan.coordinator_phone}
                }
            )
        yield (
            _url(record, "plan", plan.pk),
            _clean(
                {
                    "resourceType": "CarePlan",
                    "id": f"plan-{plan.pk}",
                    "status": "active" if active else "completed",
                    "intent": "plan",
                    "title": plan.title,
                    "description": plan.notes,
                    "subject": patient,
                    "period": _clean(
                        {
                            "start": plan.start_date.isoformat(),
                            "end": plan.end_date.isoformat() if plan.end_date else None,
                        }
                    ),
                    "goal": goal_refs,
                    "activity": activities,
                    "note": notes,
                }
            ),
        )
    for visit in record.visits:
        participants: list[dict[str, Any]] = [{"actor": patient, "status": "accepted"}]
        if visit.caregiver:
            participants.append(
                {
                    "type": [{"text": _("Caregiver")}],
                    "actor": {"display": visit.caregiver},
                    "status": "accepted",
                }
            )
        yield (
            _url(record, "visit", visit.pk),
            {
                "resourceType": "Appointment",
                "id": f"visit-{visit.pk}",
                "status": APPOINTMENT_STATUS.get(VisitStatus(visit.status), "booked"),
                "serviceType": [{"text": visit.service}],
                "start": _instant(visit.start),
                "end": _instant(visit.end),
                "participant": participants,
            },
        )
    for invoice in record.invoices:
        lines = [
            {
                "sequence": number,
                "chargeItemCodeableConcept": {
                    "text": " ".join(
                        part
                        for part in (
                            line.date.isoformat(),
                            line.service,
                            line.caregiver.family_name_shown if line.caregiver else "",
                            _("%(hours)s hours") % {"hours": f"{line.hours:.2f}"},
                        )
                        if part
                    )
                },
                "priceComponent": [{"type": "base", "amount": money(line.amount)}],
            }
            for number, line in enumerate(invoice.lines.all(), start=1)
        ]
        payments = [
            {
                "text": _("Payment on %(date)s: %(amount)s")
                % {
                    "date": payment.date.isoformat(),
                    "amount": format_money(payment.amount, currency),
                }
            }
            for payment in invoice.payments.all()
        ]
        components = [{"type": "tax", "amount": money(invoice.tax)}] if invoice.tax else []
        if invoice.status == InvoiceStatus.VOID:
            status = "cancelled"
        elif invoice.balance <= 0:
            status = "balanced"
        else:
            status = "issued"
        bill_to = invoice.bill_to
        recipient = (
            patient
            if invoice.bill_to_client_id == client.pk
            else {"display": _bill_to_name(invoice)}
            if bill_to is not None
            else None
        )
        yield (
            _url(record, "invoice", invoice.pk),
            _clean(
                {
                    "resourceType": "Invoice",
                    "id": f"invoice-{invoice.pk}",
                    "identifier": [{"value": invoice.number}],
                    "status": status,
                    "subject": patient,
                    "recipient": recipient,
                    "date": invoice.issue_date.isoformat(),
                    "issuer": organization,
                    "lineItem": lines,
                    "totalPriceComponent": components,
                    "totalNet": money(invoice.subtotal),
                    "totalGross": money(invoice.total),
                    "paymentTerms": _("Due %(date)s; amount due %(amount)s")
                    % {
                        "date": invoice.due_date.isoformat(),
                        "amount": format_money(invoice.balance, currency),
                    },
                    "note": payments,
                }
            ),
        )
    for message in record.messages:
        yield (
            _url(record, "message", message.pk),
            _clean(
                {
                    "resourceType": "Communication",
                    "id": f"message-{message.pk}",
                    "status": "completed",
                    "subject": patient,
                    "sender": patient,
                    "recipient": [organization],
                    "sent": _instant(message.created_at),
                    "topic": {"text": message.subject},
                    "payload": [{"contentString": message.body}],
                }
            ),
        )


def _json_number(value: Any) -> Any:
    # JSON has one kind of number: a Decimal amount of two places is written as the float
    # whose shortest form is that amount (77.5 for 77.50).
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def fhir_bundle(record: Record) -> dict[str, Any]:
    """Return the record as a FHIR R4 Bundle of type "collection", as plain dicts."""
    return {
        "resourceType": "Bundle",
        "id": f"record-{record.client.pk}",
        "type": "collection",
        "timestamp": _instant(record.made_at),
        "entry": [
            {"fullUrl": url, "resource": resource} for url, resource in _fhir_resources(record)
        ],
    }


def write_fhir(record: Record) -> bytes:
    """Return the record as FHIR R4 JSON."""
    bundle = fhir_bundle(record)
    return json.dumps(bundle, ensure_ascii=False, indent=1, default=_json_number).encode()


# CSV: one file per kind of row, zipped. Spreadsheets run a cell that starts with one of
# these as a formula: such a cell gets a leading apostrophe.

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """Return a cell's text, with an apostrophe before text a spreadsheet would run."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        # Our own figures, never a formula ("-5.00" is an amount).
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv(titles: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(title) for title in titles])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    # A byte-order mark, so that spreadsheets read the accents right.
    return buffer.getvalue().encode("utf-8-sig")


def _csv_files(record: Record) -> Iterator[tuple[str, bytes]]:
    yield "details.csv", _csv((_("Field"), _("Value")), _details(record))
    yield (
        "emergency_contacts.csv",
        _csv(
            (_("Name"), _("Relationship"), _("Phone"), _("Email")),
            ((c.name, c.relationship_name, c.phone, c.email) for c in record.contacts),
        ),
    )
    yield (
        "care_plans.csv",
        _csv(
            (
                _("Care plan"),
                _("Status"),
                _("Start date"),
                _("End date"),
                _("Hours of care a week"),
                _("Care coordinator"),
                _("Care coordinator's phone"),
                _("Notes"),
            ),
            (
                (
                    plan.title,
                    _plan_status(plan),
                    plan.start_date,
                    plan.end_date,
                    plan.authorized_hours_per_week,
                    plan.coordinator_name,
                    plan.coordinator_phone,
                    plan.notes,
                )
                for plan in record.plans
            ),
        ),
    )
    yield (
        "goals.csv",
        _csv(
            (_("Care plan"), _("Goal"), _("Target date")),
            (
                (plan.title, goal.description, goal.target_date)
                for plan in record.plans
                for goal in plan.goals.all()
            ),
        ),
    )
    yield (
        "tasks.csv",
        _csv(
            (_("Care plan"), _("Activity"), _("How often"), _("Instructions")),
            (
                (plan.title, task.get_activity_display(), task.frequency, task.instructions)
                for plan in record.plans
                for task in plan.tasks.all()
            ),
        ),
    )
    yield (
        "visits.csv",
        _csv(
            (_("Start"), _("End"), _("Service"), _("Caregiver"), _("Status")),
            (
                (
                    record.local(visit.start).isoformat(timespec="minutes"),
                    record.local(visit.end).isoformat(timespec="minutes"),
                    visit.service,
                    visit.caregiver,
                    visit.status_label,
                )
                for visit in record.visits
            ),
        ),
    )
    yield (
        "invoices.csv",
        _csv(
            (
                _("Invoice number"),
                _("Status"),
                _("Bill to"),
                _("Issue date"),
                _("Due date"),
                _("Service period from"),
                _("Service period to"),
                _("Subtotal"),
                _("Tax"),
                _("Adjustments"),
                _("Total"),
                _("Amount paid"),
                _("Amount due"),
                _("Currency"),
            ),
            (
                (
                    invoice.number,
                    invoice.get_shown_status_display(),
                    _bill_to_name(invoice),
                    invoice.issue_date,
                    invoice.due_date,
                    invoice.period_start,
                    invoice.period_end,
                    invoice.subtotal,
                    invoice.tax,
                    invoice.adjustments,
                    invoice.total,
                    invoice.amount_paid,
                    invoice.balance,
                    record.agency.currency,
                )
                for invoice in record.invoices
            ),
        ),
    )
    yield (
        "invoice_lines.csv",
        _csv(
            (
                _("Invoice number"),
                _("Date"),
                _("Service"),
                _("Caregiver"),
                _("Hours"),
                _("Rate"),
                _("Amount"),
            ),
            (
                (
                    invoice.number,
                    line.date,
                    line.service,
                    line.caregiver.family_name_shown if line.caregiver else "",
                    line.hours,
                    line.rate,
                    line.amount,
                )
                for invoice in record.invoices
                for line in invoice.lines.all()
            ),
        ),
    )
    yield (
        "payments.csv",
        _csv(
            (_("Invoice number"), _("Date"), _("Amount"), _("Method"), _("Reference")),
            (
                (invoice.number, payment.date, payment.amount, payment.method, payment.reference)
                for invoice in record.invoices
                for payment in invoice.payments.all()
            ),
        ),
    )
    yield (
        "messages.csv",
        _csv(
            (_("Sent"), _("Subject"), _("Message")),
            (
                (
                    record.local(message.created_at).isoformat(timespec="minutes"),
                    message.subject,
                    message.body,
                )
                for message in record.messages
            ),
        ),
    )


def write_csv_zip(record: Record) -> bytes:
    """Return the record as CSV files, one per kind of row, in one zip file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in _csv_files(record):
            archive.writestr(f"my-record/{name}", content)
    return buffer.getvalue()
