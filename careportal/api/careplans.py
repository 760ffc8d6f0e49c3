"""The care plans area of the API: service plans with their goals and tasks.

Written through `careplans.services.save_service_plan`, the one door the back office uses
too: the plan and its rows are checked first (a bad goal is named `goals.<i>.<field>`) and
saved together, or not at all. `goals` and `tasks`, when sent, are the plan's whole lists: a
row with its `id` (or the `external_id` of one of the plan's rows) is changed, a row
without either is added, and the plan's rows left out are removed. A plan is never deleted:
it ends by its status and end date.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from careportal.agencies.models import Agency
from careportal.api.resources import Resource, add_resource, nested_rows
from careportal.api.values import (
    ExternalId,
    HoursOut,
    IsoDate,
    RecordId,
    Text40,
    Text100,
    Text200,
    Text300,
    Text2000,
    WeeklyHours,
)
from careportal.careplans.models import Activity, Goal, PlanStatus, PlanTask, ServicePlan
from careportal.careplans.services import save_service_plan

router = Router()

ROW_ID = "Send the id of one of the plan's rows to change it; leave it out to add a row."


def _plan(
    obj: ServicePlan, agency: Agency, request: HttpRequest, children: dict[str, Any]
) -> ServicePlan:
    goals, old_goals = nested_rows(obj, "plan", Goal, "goals", children.get("goals"))
    tasks, old_tasks = nested_rows(obj, "plan", PlanTask, "tasks", children.get("tasks"))
    return save_service_plan(
        plan=obj,
        goals=goals,
        tasks=tasks,
        removed=[*old_goals, *old_tasks],
        actor=None,
        request=request,
        agency=agency,
    )


class GoalIn(Schema):
    id: RecordId | None = Field(None, description=ROW_ID)
    description: Text300
    target_date: IsoDate | None = None
    external_id: ExternalId = ""


class GoalOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    description: str
    target_date: datetime.date | None


class PlanTaskIn(Schema):
    id: RecordId | None = Field(None, description=ROW_ID)
    activity: Activity
    frequency: Text100 = Field(description="How often: “Every morning”.")
    instructions: Text2000 = ""
    external_id: ExternalId = ""


class PlanTaskOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    activity: Activity
    frequency: str
    instructions: str


class ServicePlanIn(Schema):
    client_id: RecordId
    title: Text200
    start_date: IsoDate
    end_date: IsoDate | None = Field(None, description="End a plan by its end date.")
    status: PlanStatus = Field(
        PlanStatus.DRAFT, description="A draft is not shown to the client; end a plan by `ended`."
    )
    authorized_hours_per_week: WeeklyHours = Field(
        Decimal("0.00"), description='Text, like "20.00".'
    )
    coordinator_name: Text200 = ""
    coordinator_phone: Text40 = ""
    notes: Text2000 = ""
    external_id: ExternalId = ""
    goals: list[GoalIn] = Field(
        default_factory=list, description="The plan's whole list: goals left out are removed."
    )
    tasks: list[PlanTaskIn] = Field(
        default_factory=list, description="The plan's whole list: tasks left out are removed."
    )


class ServicePlanOut(Schema):
    id: int
    external_id: str
    updated_at: datetime.datetime
    client_id: int
    title: str
    start_date: datetime.date
    end_date: datetime.date | None
    status: PlanStatus
    authorized_hours_per_week: HoursOut
    coordinator_name: str
    coordinator_phone: str
    notes: str
    goals: list[GoalOut]
    tasks: list[PlanTaskOut]


RESOURCES = (
    Resource(
        ServicePlan, "service_plan", "service-plans", "careplans", ServicePlanOut, ServicePlanIn,
        _plan, ("client",), nested=("goals", "tasks"),
    ),
)  # fmt: skip

for resource in RESOURCES:
    add_resource(router, resource)
