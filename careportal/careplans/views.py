"""Care Plan: the client's own service plans, active first. Nobody else reaches this page."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import render

from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.careplans.models import Goal, PlanStatus, PlanTask, ServicePlan
from careportal.people import access
from careportal.portal.middleware import portal_login

if TYPE_CHECKING:
    from careportal.accounts.http import AuthenticatedHttpRequest

# What the page shows of a plan, in the order of its columns (`Model.from_db`).
PLAN_FIELDS = (
    "id",
    "agency_id",
    "client_id",
    "title",
    "start_date",
    "end_date",
    "status",
    "authorized_hours_per_week",
    "coordinator_name",
    "coordinator_phone",
)
HOURS = Decimal("0.01")


@dataclass
class ShownPlan:
    """A plan with its goals and tasks, in the order the page lists them."""

    plan: ServicePlan
    goals: list[Goal] = field(default_factory=list)
    tasks: list[PlanTask] = field(default_factory=list)


@functools.cache
def _plans_sql(clients: int) -> str:
    """Return the query of `_plans`: the clients' plans that are not drafts, active first
    then newest, each with one row per goal then per task (or one row without either).

    Written out once per shape, like people.access's queries: the ORM's three queries
    (plans, goals, tasks) cost several times what the database takes to answer this one.
    The conditions are `ServicePlan.objects.visible_to`'s; plans are read on their
    (agency, client, status) index, goals and tasks on their (agency, plan) ones.
    """
    plan = ServicePlan._meta.db_table
    ids = ", ".join(f"%(client{i})s" for i in range(clients))
    shown = (
        f"SELECT s.id FROM {plan} s WHERE s.agency_id = %(agency)s "  # noqa: S608 - names from the models
        f"AND s.client_id IN ({ids}) AND s.status <> '{PlanStatus.DRAFT}'"
    )
    items = (
        "SELECT 'goal' AS kind, g.plan_id, g.id, g.description AS text, NULL AS frequency, "  # noqa: S608
        f"NULL AS instructions, g.target_date FROM {Goal._meta.db_table} g "
        f"WHERE g.agency_id = %(agency)s AND g.plan_id IN ({shown}) "
        "UNION ALL SELECT 'task', t.plan_id, t.id, t.activity, t.frequency, t.instructions, "
        f"NULL FROM {PlanTask._meta.db_table} t "
        f"WHERE t.agency_id = %(agency)s AND t.plan_id IN ({shown})"
    )
    columns = ", ".join(f"p.{name}" for name in PLAN_FIELDS)
    return (
        f"SELECT {columns}, x.kind, x.id, x.text, x.frequency, x.instructions, "  # noqa: S608
        f"x.target_date FROM {plan} p LEFT JOIN ({items}) x ON x.plan_id = p.id "
        f"WHERE p.agency_id = %(agency)s AND p.client_id IN ({ids}) "
        f"AND p.status <> '{PlanStatus.DRAFT}' "
        f"ORDER BY CASE WHEN p.status = '{PlanStatus.ACTIVE}' THEN 0 ELSE 1 END, "
        "p.start_date DESC, p.id DESC, x.kind, x.id"
    )


def _as_date(value: Any) -> datetime.date | None:
    # SQLite answers a date as its text.
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(value)


def _plans(agency_id: int, client_ids: tuple[int, ...]) -> list[ShownPlan]:
    """Return the plans of these clients (the login's own, from people.access) that are
    not drafts, active first then by start date, newest first, with goals and tasks."""
    params: dict[str, Any] = {"agency": agency_id}
    params.update({f"client{i}": pk for i, pk in enumerate(client_ids)})
    with connection.cursor() as cursor:
        cursor.execute(_plans_sql(len(client_ids)), params)
        rows = cursor.fetchall()
    plans: dict[int, ShownPlan] = {}
    named = len(PLAN_FIELDS)
    for row in rows:
        pk = row[0]
        if pk not in plans:
            values = list(row[:named])
            values[4], values[5] = _as_date(values[4]), _as_date(values[5])
            # SQLite answers a float: two decimals, as the ORM gives them.
            values[7] = Decimal(str(values[7])).quantize(HOURS)
            plans[pk] = ShownPlan(ServicePlan.from_db(connection.alias, PLAN_FIELDS, values))
        kind, item, text, frequency, instructions, target = row[named:]
        if kind == "goal":
            plans[pk].goals.append(
                Goal(id=item, plan_id=pk, description=text, target_date=_as_date(target))
            )
        elif kind == "task":
            plans[pk].tasks.append(
                PlanTask(
                    id=item,
                    plan_id=pk,
                    activity=text,
                    frequency=frequency,
                    instructions=instructions,
                )
            )
    return list(plans.values())


def care_plan(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Service plans are the client's alone: any other login gets the page it never has, 404
    # (the login's relationships, read once per request, say whether it is a client).
    if not access.has_care_plan(request.user):
        raise Http404
    user = portal_login(request)
    agency = user.agency
    rels = access.relationship_ids(user)
    plans = _plans(user.agency_id, rels.own_client_ids)
    # The login's own client, with its names, came with its relationships.
    own = {client.pk: client for client in rels.care_clients if client.pk in rels.own_client_ids}
    client = own.get(plans[0].plan.client_id) if plans else next(iter(own.values()), None)
    if client is None:
        raise Http404
    record(
        Action.SERVICE_PLAN_VIEWED,
        request=request,
        agency=agency,
        obj=plans[0].plan if plans else client,
        client=client,
        plans=[shown.plan.pk for shown in plans],
    )
    return render(
        request,
        "careplans/care_plan.html",
        {"client": client, "agency": agency, "plans": plans},
    )
