"""The shared cast of the test suite, built with plain `create` calls.

Sunrise Home Care:
- Margaret Hale, a client, with emergency contacts Ellen (daughter) and Tom (son).
- Walter Hale, Margaret's husband, also a client; Ellen is his contact too.
- Atlas Long-Term Care, a payer linked to Margaret, Walter and Rosa, used by Paula.
  Ellen also uses the portal for the Hale Family Trust payer: several relationships.
- Maple Grove, a community where Rosa and Sam live, used by Nora.
- Stan, a portal user of Sunrise with a client record of his own (the stranger).
- Staff: Olivia (owner), Adam (administrator), Sue (scheduler), Bill (billing).
Harbor Care, the other agency: client Hank, staff Harriet (owner).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.test import Client as Browser
from django.test import RequestFactory
from django.utils import timezone

from careportal.accounts.models import User, UserKind
from careportal.accounts.signin import sign_in as sign_in_request
from careportal.agencies.models import Agency, StaffMembership, StaffRole
from careportal.billing.models import Invoice, InvoiceLine, InvoiceStatus, Payment
from careportal.billing.services import bill_to_problem, recompute_invoice_money
from careportal.careplans.models import Goal, PlanStatus, PlanTask, ServicePlan
from careportal.people.models import (
    Client,
    ClientPayer,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Relationship,
    Residence,
)
from careportal.scheduling.models import Caregiver, Visit, VisitStatus

PASSWORD = "Correct horse 7 battery!"


def sign_in(browser: Browser, user: User) -> Browser:
    """Sign `user` in on the test browser as the sign-in page does, without the password.

    `accounts.signin.sign_in` runs on a request carrying the browser's session, so the
    session has its clocks and its `SessionRecord`, as after a real sign-in. Django's
    `force_login` skips all that.
    """
    request = RequestFactory().get("/")
    request.session = browser.session
    sign_in_request(request, user, backend=settings.AUTHENTICATION_BACKENDS[-1])
    request.session.save()
    # Saving gave the session its key.
    browser.cookies[settings.SESSION_COOKIE_NAME] = cast(str, request.session.session_key)
    return browser


def make_agency(name: str = "Sunrise Home Care", **kwargs: Any) -> Agency:
    kwargs.setdefault("owner_name", "Olivia Owner")
    kwargs.setdefault("owner_email", f"owner@{name.split()[0].lower()}.example")
    kwargs.setdefault("time_zone", "America/New_York")
    return Agency.objects.create(name=name, **kwargs)


def make_login(
    agency: Agency | None,
    username: str,
    *,
    kind: str = UserKind.PORTAL,
    email: str | None = None,
    **kwargs: Any,
) -> User:
    user = User(
        agency=agency,
        username=username,
        email=email if email is not None else f"{username}@mail.example",
        kind=kind,
        first_name=kwargs.pop("first_name", username.split(".")[0].capitalize()),
        **kwargs,
    )
    user.set_password(PASSWORD)
    user.password_changed_at = timezone.now()
    user.save()
    return user


def make_staff(agency: Agency, username: str, role: str) -> User:
    user = make_login(agency, username, kind=UserKind.STAFF, is_staff=True)
    StaffMembership.objects.create(agency=agency, user=user, role=role, name=username.title())
    return user


def make_client(
    agency: Agency, first: str, last: str, *, login: bool = True, **kwargs: Any
) -> Client:
    user = make_login(agency, f"{first}.{last}".lower(), first_name=first) if login else None
    return Client.objects.create(
        agency=agency,
        first_name=first,
        last_name=last,
        user=user,
        email=user.email if user else "",
        **kwargs,
    )


def login_of(client: Client) -> User:
    """Return the client's portal login; the cast's clients are made with one."""
    if client.user is None:
        raise ValueError(f"{client} was made without a login")
    return client.user


def make_visit(
    client: Client,
    caregiver: Caregiver | None,
    start: datetime.datetime,
    *,
    hours: int = 2,
    status: str = VisitStatus.SCHEDULED,
    service: str = "Personal care",
) -> Visit:
    return Visit.objects.create(
        agency=client.agency,
        client=client,
        caregiver=caregiver,
        service=service,
        start=start,
        end=start + datetime.timedelta(hours=hours),
        status=status,
    )


_numbers: dict[int, int] = {}


def make_invoice(
    client: Client,
    *,
    bill_to: Client | Payer | Community | None = None,
    status: str = InvoiceStatus.ISSUED,
    lines: int = 1,
    paid: Decimal | None = None,
    number: str | None = None,
    due_in_days: int = 30,
    caregiver: Caregiver | None = None,
) -> Invoice:
    agency = client.agency
    bill_to = bill_to or client
    field = {
        "Client": "bill_to_client",
        "Payer": "bill_to_payer",
        "Community": "bill_to_community",
    }[type(bill_to).__name__]
    # Like the back office and issue_invoice: the bill-to party is related to the client.
    problem = bill_to_problem(client=client, party=bill_to)
    if problem:
        raise ValueError(problem)
    _numbers[agency.pk] = _numbers.get(agency.pk, 0) + 1
    today = timezone.localdate()
    invoice = Invoice.objects.create(
        agency=agency,
        client=client,
        number=number or f"INV-{agency.pk}-{_numbers[agency.pk]:05d}",
        issue_date=today - datetime.timedelta(days=5),
        due_date=today + datetime.timedelta(days=due_in_days),
        period_start=today - datetime.timedelta(days=35),
        period_end=today - datetime.timedelta(days=6),
        status=status,
        **{field: bill_to},
    )
    for i in range(lines):
        InvoiceLine.objects.create(
            agency=agency,
            invoice=invoice,
            date=today - datetime.timedelta(days=10 + i),
            service="Personal care",
            caregiver=caregiver,
            hours=Decimal("2.50"),
            rate=Decimal("31.00"),
        )
    if paid:
        Payment.objects.create(agency=agency, invoice=invoice, amount=paid, method="Check")
    # Like every write path: the invoice stores the money its lines and payments give.
    return recompute_invoice_money(invoice=invoice)


def make_plan(
    client: Client,
    *,
    title: str = "Care at home",
    status: str = PlanStatus.ACTIVE,
    start: datetime.date | None = None,
) -> ServicePlan:
    plan = ServicePlan.objects.create(
        agency=client.agency,
        client=client,
        title=title,
        status=status,
        start_date=start or timezone.localdate() - datetime.timedelta(days=60),
        authorized_hours_per_week=Decimal("20.00"),
        coordinator_name="Adam Administrator",
    )
    Goal.objects.create(agency=client.agency, plan=plan, description="Stay safely at home")
    PlanTask.objects.create(
        agency=client.agency,
        plan=plan,
        activity="bathing",
        frequency="Three times a week",
        instructions="Use the shower chair.",
    )
    return plan


@dataclass
class Cast:
    sunrise: Agency
    harbor: Agency
    margaret: Client
    walter: Client
    rosa: Client
    sam: Client
    stan_client: Client
    ellen: User  # contact of Margaret and Walter, and payer person of the family trust
    tom: User  # contact of Margaret
    paula: User  # payer person of Atlas
    nora: User  # community person of Maple Grove
    stan: User  # stranger of the same agency (a client of his own)
    owner: User
    administrator: User
    scheduler: User
    billing: User
    hank: Client  # client of Harbor
    harriet: User  # owner of Harbor
    atlas: Payer
    trust: Payer
    maple: Community
    caregiver: Caregiver
    harbor_caregiver: Caregiver

    @property
    def portal_users(self) -> dict[str, User]:
        return {
            "client": login_of(self.margaret),
            "contact_ellen": self.ellen,
            "contact_tom": self.tom,
            "payer": self.paula,
            "community": self.nora,
            "stranger": self.stan,
            "other_agency_client": login_of(self.hank),
        }


def build_cast() -> Cast:
    sunrise = make_agency("Sunrise Home Care")
    harbor = make_agency("Harbor Care", owner_name="Harriet Harbor")
    margaret = make_client(sunrise, "Margaret", "Hale", preferred_name="Maggie")
    walter = make_client(sunrise, "Walter", "Hale")
    rosa = make_client(sunrise, "Rosa", "Diaz")
    sam = make_client(sunrise, "Sam", "Lee")
    stan_client = make_client(sunrise, "Stan", "Stranger")
    ellen = make_login(sunrise, "ellen.hale", first_name="Ellen")
    tom = make_login(sunrise, "tom.hale", first_name="Tom")
    EmergencyContact.objects.create(
        agency=sunrise,
        client=margaret,
        name="Ellen Hale",
        relationship=Relationship.DAUGHTER,
        email=ellen.email,
        user=ellen,
    )
    EmergencyContact.objects.create(
        agency=sunrise,
        client=walter,
        name="Ellen Hale",
        relationship=Relationship.DAUGHTER,
        email=ellen.email,
        user=ellen,
    )
    EmergencyContact.objects.create(
        agency=sunrise,
        client=margaret,
        name="Tom Hale",
        relationship=Relationship.SON,
        email=tom.email,
        user=tom,
    )
    atlas = Payer.objects.create(agency=sunrise, name="Atlas Long-Term Care", kind="ltc_insurer")
    paula = make_login(sunrise, "paula.payer", first_name="Paula")
    PayerPerson.objects.create(
        agency=sunrise, payer=atlas, name="Paula Payer", email=paula.email, user=paula
    )
    start = timezone.localdate() - datetime.timedelta(days=365)
    for client in (margaret, walter, rosa):
        ClientPayer.objects.create(agency=sunrise, client=client, payer=atlas, start_date=start)
    trust = Payer.objects.create(agency=sunrise, name="Hale Family Trust", kind="family")
    PayerPerson.objects.create(
        agency=sunrise, payer=trust, name="Ellen Hale", email=ellen.email, user=ellen
    )
    ClientPayer.objects.create(agency=sunrise, client=walter, payer=trust, start_date=start)
    maple = Community.objects.create(agency=sunrise, name="Maple Grove")
    nora = make_login(sunrise, "nora.nurse", first_name="Nora")
    CommunityPerson.objects.create(
        agency=sunrise, community=maple, name="Nora Nurse", email=nora.email, user=nora
    )
    for client in (rosa, sam):
        Residence.objects.create(agency=sunrise, client=client, community=maple, start_date=start)
    stan = login_of(stan_client)
    caregiver = Caregiver.objects.create(agency=sunrise, first_name="Carla", last_name="Giver")
    harbor_caregiver = Caregiver.objects.create(
        agency=harbor, first_name="Henry", last_name="Helper"
    )
    hank = make_client(harbor, "Hank", "Harbor")
    return Cast(
        sunrise=sunrise,
        harbor=harbor,
        margaret=margaret,
        walter=walter,
        rosa=rosa,
        sam=sam,
        stan_client=stan_client,
        ellen=ellen,
        tom=tom,
        paula=paula,
        nora=nora,
        stan=stan,
        owner=make_staff(sunrise, "olivia.owner", StaffRole.OWNER),
        administrator=make_staff(sunrise, "adam.admin", StaffRole.ADMINISTRATOR),
        scheduler=make_staff(sunrise, "sue.scheduler", StaffRole.SCHEDULER),
        billing=make_staff(sunrise, "bill.billing", StaffRole.BILLING),
        hank=hank,
        harriet=make_staff(harbor, "harriet.owner", StaffRole.OWNER),
        atlas=atlas,
        trust=trust,
        maple=maple,
        caregiver=caregiver,
        harbor_caregiver=harbor_caregiver,
    )


# A valid 1x1 PNG, for logo and photo uploads in tests (with a temporary MEDIA_ROOT).
TINY_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc8\x11\xa0\x01\x00\x03$\x01A\x1d\x19\x9f\xc4\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
