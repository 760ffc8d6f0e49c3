"""Writes on service plans: the one door for a plan with its goals and tasks.

`save_service_plan` is the only way a plan, its goals and its tasks are created, changed or
removed: the back office's plan page with its inline rows, its goal and task pages, the API
with nested goals and tasks, and `seed_demo` all call it. It checks everything first (a bad
value raises ValidationError naming the field, and nothing is written), then saves the plan
and its rows in the agency, with one audit event, in one transaction. A plan is never
deleted through it (issue 13: no hard delete of health records; end the plan instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from careportal.agencies.writes import agency_of, changed_fields, full_clean, stored_row
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.careplans.models import Goal, PlanTask, ServicePlan

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency

PlanRow = Goal | PlanTask


@transaction.atomic
def save_service_plan(
    *,
    plan: ServicePlan,
    goals: Sequence[Goal] | None = None,
    tasks: Sequence[PlanTask] | None = None,
    removed: Iterable[PlanRow] = (),
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> ServicePlan:
    """Create or change a plan of the agency with its goals and tasks; return it, saved.

    `goals` and `tasks` are the rows to create or change (new ones without a pk; the plan
    is set on each); None or empty leaves the others as they are. `removed` are rows of
    this plan to delete (the back office's inline rows ticked for deletion; an API that
    replaces the whole list passes the ones it no longer sends). A bad row raises
    ValidationError with its field named as `goals.<index>.<field>` or
    `tasks.<index>.<field>`. The plan's client must be the agency's.

    One audit event: `service_plan.created`, or `service_plan.changed` naming the plan's
    fields that changed and how many goals and tasks were added, changed and removed
    (nothing is recorded when nothing changed).
    """
    agency = agency_of(actor=actor, agency=agency)
    stored = stored_row(plan, agency)
    plan.agency = agency
    rows: dict[str, list[PlanRow]] = {"goals": list(goals or ()), "tasks": list(tasks or ())}
    removed = list(removed)
    # Every check before any write: a bad goal leaves the plan unsaved too.
    full_clean(plan)
    stored_rows = _check_rows(rows, plan=plan, agency=agency)
    for row in removed:
        before = stored_row(row, agency)
        if before is None or plan.pk is None or before.plan_id != plan.pk:
            raise ValidationError({"removed": _("Remove only the goals and tasks of this plan.")})
    plan.save()
    counts: dict[str, Any] = {}  # audit detail
    for name, items in rows.items():
        for row in items:
            row.plan = plan
            before = stored_rows.get((type(row), row.pk))
            # A row moved here from another plan counts as added to this one.
            if before is None or before.plan_id != plan.pk:
                counts[f"{name}_added"] = counts.get(f"{name}_added", 0) + 1
            elif changed_fields(before, row):
                counts[f"{name}_changed"] = counts.get(f"{name}_changed", 0) + 1
            row.save()
    for row in removed:
        name = "goals" if isinstance(row, Goal) else "tasks"
        counts[f"{name}_removed"] = counts.get(f"{name}_removed", 0) + 1
        row.delete()
    if stored is None:
        record(
            Action.SERVICE_PLAN_CREATED,
            request=request,
            actor=actor,
            obj=plan,
            agency=agency,
            **counts,
        )
        return plan
    fields = changed_fields(stored, plan)
    if fields or counts:
        record(
            Action.SERVICE_PLAN_CHANGED,
            request=request,
            actor=actor,
            obj=plan,
            agency=agency,
            fields=fields,
            **counts,
        )
    return plan


def _check_rows(
    rows: dict[str, list[PlanRow]], *, plan: ServicePlan, agency: Agency
) -> dict[tuple[type, int], PlanRow]:
    """Check each goal and task as its own `full_clean` would; return the stored rows.

    The plan may be new (no pk yet), so the rows are checked without it and get it when
    saved. A row of another agency raises its DoesNotExist, as a missing one would.
    """
    stored: dict[tuple[type, int], PlanRow] = {}
    errors: dict[str, Any] = {}
    for name, items in rows.items():
        for index, row in enumerate(items):
            before = stored_row(row, agency)
            if before is not None:
                stored[(type(row), row.pk)] = before
            row.agency = agency
            try:
                full_clean(row, exclude=["plan"])
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    errors[f"{name}.{index}.{field}"] = messages
    if errors:
        raise ValidationError(errors)
    return stored
