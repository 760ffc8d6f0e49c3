"""The people area of the API: clients, their contacts, payers, communities and the links.

Every party is written through `people.services.save_party`, the one door: a client made
here gets its portal login and invitation exactly as one saved in the back office does.
"""

import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from careportal.agencies.models import Agency
from careportal.api.resources import Resource, add_resource
from careportal.api.services import Link, save_link
from careportal.api.values import (
    EmailOrEmpty,
    ExternalId,
    IsoDate,
    RecordId,
    Text40,
    Text100,
    Text200,
    Text2000,
)
from careportal.people.models import (
    Client,
    ClientPayer,
    ClientStatus,
    Community,
    CommunityKind,
    CommunityPerson,
    EmergencyContact,
    PartyKind,
    Payer,
    PayerPerson,
    Relationship,
    Residence,
)
from careportal.people.services import Party, save_party

router = Router()

Name = Text100
LongName = Text200
Email = EmailOrEmpty
Phone = Text40
Address = Text2000


def _party(obj: Party, agency: Agency, request: HttpRequest) -> Party:
    return save_party(party=obj, agency=agency, request=request)


def _link(obj: Link, agency: Agency, request: HttpRequest) -> Link:
    return save_link(link=obj, agency=agency)


class Stored(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime


class ClientIn(Schema):
    first_name: Name
    last_name: Name
    preferred_name: Name = ""
    date_of_birth: IsoDate | None = None
    email: Email = Field("", description="With an email the client gets a portal invitation.")
    phone: Phone = ""
    address: Address = ""
    status: ClientStatus = Field(
        ClientStatus.ACTIVE, description="Discharge a client by setting `discharged`."
    )
    external_id: ExternalId = ""


class ClientOut(Stored):
    first_name: str
    last_name: str
    preferred_name: str
    date_of_birth: datetime.date | None
    email: str
    phone: str
    address: str
    status: ClientStatus
    created_at: datetime.datetime


class EmergencyContactIn(Schema):
    client_id: RecordId
    name: LongName
    relationship: Relationship
    relationship_other: Name = Field("", description="Only when the relationship is `other`.")
    email: Email = ""
    phone: Phone = ""
    external_id: ExternalId = ""


class EmergencyContactOut(Stored):
    client_id: int
    name: str
    relationship: Relationship
    relationship_other: str
    email: str
    phone: str


class PayerIn(Schema):
    name: LongName
    kind: PartyKind = PartyKind.OTHER
    contact_person: LongName = ""
    email: Email = ""
    phone: Phone = ""
    address: Address = ""
    external_id: ExternalId = ""


class PayerOut(Stored):
    name: str
    kind: PartyKind
    contact_person: str
    email: str
    phone: str
    address: str


class CommunityIn(Schema):
    name: LongName
    kind: CommunityKind = CommunityKind.ASSISTED_LIVING
    contact_person: LongName = ""
    email: Email = ""
    phone: Phone = ""
    address: Address = ""
    external_id: ExternalId = ""


class CommunityOut(Stored):
    name: str
    kind: CommunityKind
    contact_person: str
    email: str
    phone: str
    address: str


class PayerPersonIn(Schema):
    payer_id: RecordId
    name: LongName
    email: Email
    external_id: ExternalId = ""


class PayerPersonOut(Stored):
    payer_id: int
    name: str
    email: str


class CommunityPersonIn(Schema):
    community_id: RecordId
    name: LongName
    email: Email
    external_id: ExternalId = ""


class CommunityPersonOut(Stored):
    community_id: int
    name: str
    email: str


class ClientPayerIn(Schema):
    client_id: RecordId
    payer_id: RecordId
    start_date: IsoDate = Field(default_factory=datetime.date.today, description="Empty: today.")
    end_date: IsoDate | None = None
    external_id: ExternalId = ""


class ClientPayerOut(Stored):
    client_id: int
    payer_id: int
    start_date: datetime.date
    end_date: datetime.date | None


class ResidenceIn(Schema):
    client_id: RecordId
    community_id: RecordId
    start_date: IsoDate = Field(
        default_factory=datetime.date.today, description="The day the client moved in."
    )
    end_date: IsoDate | None = Field(None, description="The day the client moved out.")
    external_id: ExternalId = ""


class ResidenceOut(Stored):
    client_id: int
    community_id: int
    start_date: datetime.date
    end_date: datetime.date | None


RESOURCES = (
    Resource(Client, "client", "clients", "people", ClientOut, ClientIn, _party),
    Resource(
        EmergencyContact, "emergency_contact", "emergency-contacts", "people",
        EmergencyContactOut, EmergencyContactIn, _party, ("client",),
    ),
    Resource(Payer, "payer", "payers", "people", PayerOut, PayerIn, _party),
    Resource(
        PayerPerson, "payer_person", "payer-people", "people", PayerPersonOut, PayerPersonIn,
        _party, ("payer",),
    ),
    Resource(Community, "community", "communities", "people", CommunityOut, CommunityIn, _party),
    Resource(
        CommunityPerson, "community_person", "community-people", "people", CommunityPersonOut,
        CommunityPersonIn, _party, ("community",),
    ),
    Resource(
        ClientPayer, "client_payer", "client-payers", "people", ClientPayerOut, ClientPayerIn,
        _link, ("client", "payer"),
    ),
    Resource(
        Residence, "residence", "residences", "people", ResidenceOut, ResidenceIn, _link,
        ("client", "community"),
    ),
)  # fmt: skip

for resource in RESOURCES:
    add_resource(router, resource)
