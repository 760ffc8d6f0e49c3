"""The shared cast of the test suite, and signing in on Django's test client.

Sunrise Home Care:
- Margaret Hale, a client, with emergency contacts Ellen (daughter) and Tom (son).
- Walter Hale, Margaret's husband, also a client; Ellen is his contact too.
- Atlas Long-Term Care, a payer linked to Margaret, Walter and Rosa, used by Paula.
  Ellen also uses the portal for the Hale Family Trust payer: several relationships.
- Maple Grove, a community where Rosa and Sam live, used by Nora.
- Stan, a portal user of Sunrise with a client record of his own (the stranger).
- Staff: Olivia (owner), Adam (administrator), Sue (scheduler), Bill (billing).
Harbor Care, the other agency: client Hank, staff Harriet (owner).

Built with plain rows by `careportal.builders`, every login with the password PASSWORD.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.test import Client as Browser
from django.test import RequestFactory
from django.utils import timezone

from careportal.accounts.models import User
from careportal.accounts.signin import sign_in as sign_in_request
from careportal.agencies.models import Agency, StaffRole
from careportal.builders import (
    login_of,
    make_agency,
    make_caregiver,
    make_client,
    make_login,
    make_staff,
)
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
from careportal.scheduling.models import Caregiver

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
    margaret = make_client(sunrise, "Margaret", "Hale", password=PASSWORD, preferred_name="Maggie")
    walter = make_client(sunrise, "Walter", "Hale", password=PASSWORD)
    rosa = make_client(sunrise, "Rosa", "Diaz", password=PASSWORD)
    sam = make_client(sunrise, "Sam", "Lee", password=PASSWORD)
    stan_client = make_client(sunrise, "Stan", "Stranger", password=PASSWORD)
    ellen = make_login(sunrise, "ellen.hale", password=PASSWORD, first_name="Ellen")
    tom = make_login(sunrise, "tom.hale", password=PASSWORD, first_name="Tom")
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
    paula = make_login(sunrise, "paula.payer", password=PASSWORD, first_name="Paula")
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
    nora = make_login(sunrise, "nora.nurse", password=PASSWORD, first_name="Nora")
    CommunityPerson.objects.create(
        agency=sunrise, community=maple, name="Nora Nurse", email=nora.email, user=nora
    )
    for client in (rosa, sam):
        Residence.objects.create(agency=sunrise, client=client, community=maple, start_date=start)
    stan = login_of(stan_client)
    caregiver = make_caregiver(sunrise, "Carla", "Giver")
    harbor_caregiver = make_caregiver(harbor, "Henry", "Helper")
    hank = make_client(harbor, "Hank", "Harbor", password=PASSWORD)
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
        owner=make_staff(sunrise, "olivia.owner", StaffRole.OWNER, password=PASSWORD),
        administrator=make_staff(sunrise, "adam.admin", StaffRole.ADMINISTRATOR, password=PASSWORD),
        scheduler=make_staff(sunrise, "sue.scheduler", StaffRole.SCHEDULER, password=PASSWORD),
        billing=make_staff(sunrise, "bill.billing", StaffRole.BILLING, password=PASSWORD),
        hank=hank,
        harriet=make_staff(harbor, "harriet.owner", StaffRole.OWNER, password=PASSWORD),
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
