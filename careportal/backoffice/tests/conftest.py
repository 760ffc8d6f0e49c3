"""Fixtures of the back-office tests: one record of every registered model in each agency."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as BrowserClient
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from post_office.models import STATUS, Email

from careportal.agencies.models import Agency, StaffMembership
from careportal.api.models import ApiKey
from careportal.api.services import create_api_key
from careportal.audit.models import AuditEvent
from careportal.billing.models import Invoice, InvoiceLine, Payment
from careportal.builders import make_invoice, make_login, make_plan, make_visit
from careportal.careplans.models import Goal, PlanTask, ServicePlan
from careportal.imports.models import ClientImport
from careportal.invitations.models import Invitation
from careportal.messaging.models import Message
from careportal.people.models import (
    Client,
    ClientPayer,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Residence,
)
from careportal.scheduling.models import CalendarFeed, Caregiver, Visit, VisitSchedule
from tests.cast import PASSWORD, Cast
from tests.cast import sign_in as sign_in_without_two_factor

# Words that appear only in Sunrise's records, and only in Harbor's.
SUNRISE_WORDS = ("Margaret", "Carla", "Atlas", "Maple", "Paula", "Sunbeam")
HARBOR_WORDS = ("Hank", "Henry", "Hazel", "Mutual", "Heights", "Seashell")


def sign_in(browser: BrowserClient, user: Any) -> BrowserClient:
    """Sign a staff login in with a verified two-factor device, as the back office needs."""
    sign_in_without_two_factor(browser, user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="Test authenticator", defaults={"confirmed": True}
    )
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return browser


@dataclass
class World:
    """For every model of the back office: Sunrise's record and Harbor's."""

    cast: Cast
    records: dict[type, tuple[Any, Any]]

    def sunrise(self, model: type) -> Any:
        return self.records[model][0]

    def harbor(self, model: type) -> Any:
        return self.records[model][1]


def _agency_records(agency: Agency, client: Client, caregiver: Caregiver, owner: Any, word: str):
    contact = EmergencyContact.objects.filter(client=client).first() or (
        EmergencyContact.objects.create(
            agency=agency, client=client, name="Hazel Harbor", relationship="sister"
        )
    )
    payer = Payer.objects.filter(agency=agency).first() or Payer.objects.create(
        agency=agency, name="Harbor Mutual", kind="ltc_insurer"
    )
    payer_person = PayerPerson.objects.filter(payer=payer).first() or PayerPerson.objects.create(
        agency=agency, payer=payer, name="Mutual Manager", email="mutual@mail.example"
    )
    community = Community.objects.filter(agency=agency).first() or Community.objects.create(
        agency=agency, name="Harbor Heights"
    )
    community_person = CommunityPerson.objects.filter(community=community).first() or (
        CommunityPerson.objects.create(
            agency=agency, community=community, name="Heights Nurse", email="heights@mail.example"
        )
    )
    link = ClientPayer.objects.filter(payer=payer).first() or ClientPayer.objects.create(
        agency=agency, client=client, payer=payer
    )
    residence = Residence.objects.filter(community=community).first() or (
        Residence.objects.create(agency=agency, client=client, community=community)
    )
    visit = make_visit(client, caregiver, timezone.now() + datetime.timedelta(days=2))
    schedule = VisitSchedule.objects.create(
        agency=agency,
        client=client,
        caregiver=caregiver,
        service=f"{word} care",
        monday=True,
        start_time=datetime.time(9, 0),
        duration_minutes=120,
        start_date=timezone.localdate(),
    )
    feed_user = client.user or make_login(agency, f"feed.{word.lower()}", password=PASSWORD)
    feed = CalendarFeed.objects.create(agency=agency, user=feed_user, token_hash=word * 4)
    plan = make_plan(client, title=f"{word} plan")
    invoice = make_invoice(client, paid=Decimal("10.00"), caregiver=caregiver)
    message = Message.objects.create(
        agency=agency,
        sender=client.user,
        sender_name=client.full_name,
        sender_email="sender@mail.example",
        subject=f"{word} question",
        body="Hello",
        recipient=agency.owner_email,
    )
    event = AuditEvent.objects.create(
        agency=agency, actor=owner, actor_label=owner.username, action=f"{word.lower()}.test"
    )
    records = {
        Agency: agency,
        StaffMembership: owner.staff_membership,
        Client: client,
        EmergencyContact: contact,
        Payer: payer,
        PayerPerson: payer_person,
        Community: community,
        CommunityPerson: community_person,
        ClientPayer: link,
        Residence: residence,
        Caregiver: caregiver,
        Visit: visit,
        VisitSchedule: schedule,
        CalendarFeed: feed,
        ServicePlan: plan,
        Goal: plan.goals.first(),
        PlanTask: plan.tasks.first(),
        Invoice: invoice,
        InvoiceLine: invoice.lines.first(),
        Payment: invoice.payments.first(),
        Message: message,
        AuditEvent: event,
        # The integration API's keys (careportal/api): the owner's alone.
        ApiKey: create_api_key(agency=agency, name=f"{word} system", scopes=["people:read"])[0],
        # The CSV imports of clients (careportal/imports): the owner's and administrators'.
        ClientImport: ClientImport.objects.create(
            agency=agency, uploaded_by=owner, file_name=f"{word.lower()}-clients.csv"
        ),
    }
    records[Invitation] = Invitation.objects.create(
        agency=agency, user=client.user, email=client.user.email
    )
    from careportal.emails.models import AgencyEmail

    email = Email.objects.create(
        from_email="portal@mail.example",
        to=[f"{word.lower()}@mail.example"],
        subject=f"{word} notice",
        status=STATUS.queued,
    )
    records[AgencyEmail] = AgencyEmail.objects.create(
        agency=agency,
        email=email,
        recipient=f"{word.lower()}@mail.example",
        subject=f"{word} notice",
        kind="notice",
    )
    return records


@pytest.fixture
def world(cast: Cast) -> World:
    sunrise = _agency_records(cast.sunrise, cast.margaret, cast.caregiver, cast.owner, "Sunbeam")
    harbor = _agency_records(
        cast.harbor, cast.hank, cast.harbor_caregiver, cast.harriet, "Seashell"
    )
    return World(cast=cast, records={model: (sunrise[model], harbor[model]) for model in sunrise})
