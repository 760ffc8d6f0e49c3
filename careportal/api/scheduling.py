"""The scheduling area of the API: caregivers, and visits with their status changes.

Written through `scheduling.services` (`save_caregiver`, `save_visit`), the one door the
back office uses too: a visit's status moves only as the services allow (scheduled to in
progress, completed, missed or cancelled; in progress to completed or missed), and a visit
is cancelled, never deleted.
"""

import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from careportal.agencies.models import Agency
from careportal.api.resources import Resource, add_resource
from careportal.api.values import ExternalId, IsoDateTime, RecordId, Text100
from careportal.scheduling.models import Caregiver, Visit, VisitStatus
from careportal.scheduling.services import save_caregiver, save_visit

router = Router()

# What the visit is for ("Personal care"); the column takes 120 characters.
Service = Text100


def _caregiver(obj: Caregiver, agency: Agency, request: HttpRequest) -> Caregiver:
    return save_caregiver(caregiver=obj, actor=None, request=request, agency=agency)


def _visit(obj: Visit, agency: Agency, request: HttpRequest) -> Visit:
    return save_visit(visit=obj, actor=None, request=request, agency=agency)


class CaregiverIn(Schema):
    first_name: Text100
    last_name: Text100
    is_active: bool = True
    external_id: ExternalId = ""


class CaregiverOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    first_name: str
    last_name: str
    is_active: bool


class VisitIn(Schema):
    client_id: RecordId
    caregiver_id: RecordId | None = Field(None, description="Empty: not yet assigned.")
    service: Service
    start: IsoDateTime
    end: IsoDateTime
    status: VisitStatus = Field(
        VisitStatus.SCHEDULED,
        description="Scheduled moves to in progress, completed, missed or cancelled; "
        "in progress to completed or missed; the others are final.",
    )
    external_id: ExternalId = ""


class VisitOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    client_id: int
    caregiver_id: int | None
    service: str
    start: datetime.datetime
    end: datetime.datetime
    status: VisitStatus


RESOURCES = (
    Resource(
        Caregiver, "caregiver", "caregivers", "scheduling", CaregiverOut, CaregiverIn, _caregiver
    ),
    Resource(
        Visit, "visit", "visits", "scheduling", VisitOut, VisitIn, _visit, ("client", "caregiver")
    ),
)

for resource in RESOURCES:
    add_resource(router, resource)
