"""Builders of records: agencies, logins, staff, clients, caregivers, visits, plans, invoices.

One set for everything that makes records outside a person's own actions: `seed_demo`, the
tests (their cast is `tests/cast.py`) and the browser journeys (`tests/journeys/records.py`).
They live in the product package because `seed_demo` is product code.

Most builders write plain rows, so a test gets the bare record it asks for and no audit
event it did not make. Service plans and invoices can instead go through the one door of
their app (`audited=True`), as the back office makes them: that is how `seed_demo` gives
the owner an audit trail to read. Parties that need a login and an invitation are made
by `people.services.save_party` itself, never here.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from django.contrib.auth.password_validation import validate_password
from django.utils import timezone

from careportal.accounts.models import User, UserKind
from careportal.accounts.services import set_password
from careportal.agencies.models import Agency, StaffMembership
from careportal.billing.models import Invoice, InvoiceLine, InvoiceStatus, Payment
from careportal.billing.services import (
    bill_to_problem,
    create_invoice,
    issue_invoice,
    recompute_invoice_money,
    record_payment,
    void_invoice,
)
from careportal.careplans.models import Goal, PlanStatus, PlanTask, ServicePlan
from careportal.careplans.services import save_service_plan
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import Client, Community, Payer
from careportal.scheduling.models import Caregiver, Visit, VisitStatus

# The field of an invoice that names each kind of bill-to party.
BILL_TO_FIELD = {Client: "bill_to_client", Payer: "bill_to_payer", Community: "bill_to_community"}


def make_agency(name: str = "Sunrise Home Care", **fields: Any) -> Agency:
    """Make an agency; its owner is Olivia Owner at the agency's own domain unless given."""
    fields.setdefault("owner_name", "Olivia Owner")
    fields.setdefault("owner_email", f"owner@{name.split()[0].lower()}.example")
    fields.setdefault("time_zone", "America/New_York")
    return Agency.objects.create(name=name, **fields)


def make_login(
    agency: Agency | None,
    username: str,
    *,
    password: str,
    kind: str = UserKind.PORTAL,
    email: str | None = None,
    first_name: str | None = None,
    **fields: Any,
) -> User:
    """Make a login with `password` set, as after its first sign-in.

    The email is `<username>@mail.example` and the first name the username's first part,
    unless given; other `fields` are the User's (`last_name`, `is_staff`, ...).
    """
    user = User(
        agency=agency,
        username=username,
        email=email if email is not None else f"{username}@mail.example",
        kind=kind,
        first_name=first_name if first_name is not None else username.split(".")[0].capitalize(),
        **fields,
    )
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save()
    return user


def make_staff(
    agency: Agency,
    username: str,
    role: str,
    *,
    password: str,
    name: str | None = None,
    email: str | None = None,
) -> User:
    """Make a staff member of the agency in `role`, with a back-office login.

    `name` ("Adam Alvarez") is the membership's name and the login's first and last name;
    without it, the username in title case is the membership's name.
    """
    first, _sep, last = name.partition(" ") if name else ("", "", "")
    user = make_login(
        agency,
        username,
        password=password,
        kind=UserKind.STAFF,
        email=email,
        is_staff=True,
        **({"first_name": first, "last_name": last} if name else {}),
    )
    StaffMembership.objects.create(
        agency=agency, user=user, role=role, name=name or username.title()
    )
    return user


def make_client(
    agency: Agency, first: str, last: str, *, password: str | None = None, **fields: Any
) -> Client:
    """Make a client; with `password`, she has a portal login `first.last` using it.

    A plain record: no invitation is queued (`people.services.save_party` does that).
    """
    user = None
    if password is not None:
        user = make_login(agency, f"{first}.{last}".lower(), password=password, first_name=first)
    return Client.objects.create(
        agency=agency,
        first_name=first,
        last_name=last,
        user=user,
        email=user.email if user else "",
        **fields,
    )


def login_of(client: Client) -> User:
    """Return the client's portal login, for a client made with one."""
    if client.user is None:
        raise ValueError(f"{client} was made without a login")
    return client.user


def set_up_login(user: User, *, password: str) -> None:
    """Put a login made by an invitation where it is after the first sign-in.

    `password` is checked against the agency's rules and set, and the open invitations
    are accepted, so none is ever sent. A login set up already is left as it is.
    """
    if not user.must_change_password:
        return
    validate_password(password, user)
    set_password(user=user, raw_password=password, reason="set")
    Invitation.objects.filter(user=user).open().update(
        state=InvitationState.ACCEPTED,
        accepted_at=timezone.now(),
        otp_hash="",
        next_attempt_at=None,
    )


def make_caregiver(agency: Agency, first: str, last: str) -> Caregiver:
    return Caregiver.objects.create(agency=agency, first_name=first, last_name=last)


def new_visit(
    client: Client,
    caregiver: Caregiver | None,
    start: datetime.datetime,
    *,
    hours: int = 2,
    status: str = VisitStatus.SCHEDULED,
    service: str = "Personal care",
) -> Visit:
    """Return an unsaved visit of `hours` from `start`, for `bulk_create` of many."""
    return Visit(
        agency=client.agency,
        client=client,
        caregiver=caregiver,
        service=service,
        start=start,
        end=start + datetime.timedelta(hours=hours),
        status=status,
    )


def make_visit(
    client: Client,
    caregiver: Caregiver | None,
    start: datetime.datetime,
    *,
    hours: int = 2,
    status: str = VisitStatus.SCHEDULED,
    service: str = "Personal care",
) -> Visit:
    visit = new_visit(client, caregiver, start, hours=hours, status=status, service=service)
    visit.save()
    return visit


# (activity, frequency, instructions) of a plan's task.
Task = tuple[str, str, str]


def make_plan(
    client: Client,
    *,
    title: str = "Care at home",
    status: str = PlanStatus.ACTIVE,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    hours: str = "20.00",
    coordinator_name: str = "Adam Administrator",
    coordinator_phone: str = "",
    goals: Sequence[str] = ("Stay safely at home",),
    tasks: Sequence[Task] = (("bathing", "Three times a week", "Use the shower chair."),),
    audited: bool = False,
) -> ServicePlan:
    """Make a service plan of the client with its goals and tasks, started 60 days ago
    unless `start` says otherwise.

    With `audited`, through `careplans.services.save_service_plan`, as the back office
    saves a plan: its audit event is recorded.
    """
    plan = ServicePlan(
        agency=client.agency,
        client=client,
        title=title,
        status=status,
        start_date=start or timezone.localdate() - datetime.timedelta(days=60),
        end_date=end,
        authorized_hours_per_week=Decimal(hours),
        coordinator_name=coordinator_name,
        coordinator_phone=coordinator_phone,
    )
    goal_rows = [Goal(agency=client.agency, description=goal) for goal in goals]
    task_rows = [
        PlanTask(
            agency=client.agency, activity=activity, frequency=frequency, instructions=instructions
        )
        for activity, frequency, instructions in tasks
    ]
    if audited:
        return save_service_plan(
            plan=plan, goals=goal_rows, tasks=task_rows, actor=None, agency=client.agency
        )
    plan.save()
    for goal in goal_rows:
        goal.plan = plan
        goal.save()
    for task in task_rows:
        task.plan = plan
        task.save()
    return plan


_numbers: dict[int, int] = {}


def make_invoice(
    client: Client,
    *,
    bill_to: Client | Payer | Community | None = None,
    status: str = InvoiceStatus.ISSUED,
    lines: int = 1,
    paid: Decimal | Literal["all"] | None = None,
    number: str | None = None,
    due_in_days: int = 30,
    due_date: datetime.date | None = None,
    caregiver: Caregiver | None = None,
    period: tuple[datetime.date, datetime.date] | None = None,
    issue_date: datetime.date | None = None,
    line_dates: Sequence[datetime.date] | None = None,
    hours: str = "2.50",
    rate: str = "31.00",
    paid_on: datetime.date | None = None,
    reference: str = "",
    audited: bool = False,
) -> Invoice:
    """Make an invoice of the client's care, billed to her unless `bill_to` says otherwise.

    By default: issued five days ago for the month that ended six days ago, due in
    `due_in_days`, numbered `INV-<agency>-<n>`, with `lines` lines of personal care, one a
    day from ten days ago back (or one on each of `line_dates`). `paid` ("all": the whole
    total) is paid by check on `paid_on` (today).

    With `audited`, through the billing services, as the back office makes one: a draft
    with its lines, then issued or voided, then paid, each with its audit event.
    Otherwise plain rows in their final state, their stored money computed as every write
    path does; the bill-to party must be related to the client either way.
    """
    agency = client.agency
    bill_to = bill_to or client
    today = timezone.localdate()
    period_start, period_end = period or (
        today - datetime.timedelta(days=35),
        today - datetime.timedelta(days=6),
    )
    issued = issue_date or today - datetime.timedelta(days=5)
    invoice = Invoice(
        agency=agency,
        client=client,
        number=number or _next_number(agency),
        issue_date=issued,
        due_date=due_date or today + datetime.timedelta(days=due_in_days),
        period_start=period_start,
        period_end=period_end,
        **{BILL_TO_FIELD[type(bill_to)]: bill_to},
    )
    days = line_dates or [today - datetime.timedelta(days=10 + i) for i in range(lines)]
    line_rows = [
        InvoiceLine(
            agency=agency,
            date=day,
            service="Personal care",
            caregiver=caregiver,
            hours=Decimal(hours),
            rate=Decimal(rate),
        )
        for day in days
    ]
    if audited:
        invoice = _audited_invoice(invoice, line_rows, status=status)
    else:
        invoice = _plain_invoice(invoice, line_rows, status=status)
    if paid == "all":
        paid = invoice.total
    if paid:
        payment = Payment(
            agency=agency,
            invoice=invoice,
            date=paid_on or today,
            amount=paid,
            method="Check",
            reference=reference,
        )
        if audited:
            record_payment(payment=payment, actor=None, agency=agency)
        else:
            payment.save()
    # The stored money as every write path leaves it, payment included.
    return recompute_invoice_money(invoice=invoice)


def _next_number(agency: Agency) -> str:
    _numbers[agency.pk] = _numbers.get(agency.pk, 0) + 1
    return f"INV-{agency.pk}-{_numbers[agency.pk]:05d}"


def _plain_invoice(invoice: Invoice, lines: list[InvoiceLine], *, status: str) -> Invoice:
    # Like the back office and issue_invoice: the bill-to party is related to the client.
    problem = bill_to_problem(client=invoice.client, party=invoice.bill_to)
    if problem:
        raise ValueError(problem)
    invoice.status = status
    invoice.save()
    for line in lines:
        line.invoice = invoice
        line.save()
    return invoice


def _audited_invoice(invoice: Invoice, lines: list[InvoiceLine], *, status: str) -> Invoice:
    agency = invoice.agency
    invoice = create_invoice(invoice=invoice, lines=lines, actor=None, agency=agency)
    if status == InvoiceStatus.ISSUED:
        issue_invoice(invoice=invoice, actor=None)
    elif status == InvoiceStatus.VOID:
        void_invoice(invoice=invoice, actor=None)
    return invoice
