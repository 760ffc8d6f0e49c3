"""What every service's write shares: its agency, the stored row, the checks, the audit event.

The one-way-in services (people, scheduling, care plans, billing) save a record the same
way: in the agency passed (the API's key) or the actor's (a staff member), over the stored
row locked for the transaction, checked as `Model.full_clean` does with each error on its
field, and with one audit event that names the fields a change touched (never their values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import models
from django.http import HttpRequest

from careportal.audit.actions import Action
from careportal.audit.events import record

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency

M = TypeVar("M", bound=models.Model)


def agency_of(*, actor: User | None, agency: Agency | None) -> Agency:
    """Return the agency a write happens in: the one passed, else the actor's.

    The API passes its key's agency and no actor; the back office its staff member. An
    actor of another agency than the one passed is refused.
    """
    if agency is None:
        agency = getattr(actor, "agency", None)
    if agency is None:
        raise ValueError("Name the agency: agency=, or an actor of an agency.")
    actor_agency_id = getattr(actor, "agency_id", None)
    if actor_agency_id is not None and actor_agency_id != agency.pk:
        raise ValueError("The actor belongs to another agency.")
    return agency


def stored_row(record_: M, agency: Agency) -> M | None:
    """Return the record's row as stored, locked, or None for a new record.

    A record of another agency (or one deleted meanwhile) raises the model's DoesNotExist,
    as a missing one would: not yours and does not exist look the same.
    """
    if record_.pk is None:
        return None
    stored = (
        type(record_)
        ._default_manager.select_for_update()
        .filter(pk=record_.pk, agency=agency)
        .first()
    )
    if stored is None:
        # The model's own DoesNotExist (an ObjectDoesNotExist), which the stubs do not know.
        missing: type[ObjectDoesNotExist] = type(record_).DoesNotExist  # type: ignore[attr-defined]
        raise missing(f"No {record_._meta.model_name} {record_.pk} here.")
    return stored


def full_clean(record_: models.Model, exclude: list[str] | None = None) -> None:
    """Check the record as `Model.full_clean` does, naming the field of every error.

    Django reports a value taken within the agency (a unique constraint on the agency and
    one field: an invoice number, an external id) for the whole record: it is named on its
    field here, so the API can say which field is wrong.
    """
    try:
        record_.full_clean(exclude=exclude)
    except ValidationError as error:
        errors: dict[str, list[Any]] = error.update_error_dict({})
        for whole in errors.pop(NON_FIELD_ERRORS, []):
            field = _field_taken(whole)
            errors.setdefault(field or NON_FIELD_ERRORS, []).append(whole)
        raise ValidationError(errors) from None


def _field_taken(error: ValidationError) -> str | None:
    """Return the field a per-agency uniqueness error is about, or None for another error."""
    if getattr(error, "code", None) == "external_id_taken":
        return "external_id"
    unique_check = (getattr(error, "params", None) or {}).get("unique_check", ())
    if len(unique_check) == 2 and unique_check[0] == "agency":
        return str(unique_check[1])
    return None


def changed_fields(
    stored: models.Model, record_: models.Model, *, ignore: tuple[str, ...] = ()
) -> list[str]:
    """Return the names of the fields whose stored value the record changes (never values).

    The clock of the last change (`updated_at`, auto_now) changes on every save and is left
    out; so are the fields named in `ignore` (a party's login, which the service manages).
    """
    return [
        field.name
        for field in record_._meta.concrete_fields
        if field.name not in ignore
        and not getattr(field, "auto_now", False)
        and getattr(stored, field.attname) != getattr(record_, field.attname)
    ]


def record_saved(
    actions: tuple[Action, Action],
    record_: models.Model,
    stored: models.Model | None,
    *,
    actor: User | None,
    request: HttpRequest | None,
    agency: Agency,
    **detail: Any,
) -> None:
    """Record the first of `actions` (created) for a new record, or the second (changed)
    with the fields that changed, if any (a save that changes nothing records nothing)."""
    created, changed = actions
    if stored is None:
        record(created, request=request, actor=actor, obj=record_, agency=agency, **detail)
        return
    fields = changed_fields(stored, record_)
    if fields:
        record(
            changed,
            request=request,
            actor=actor,
            obj=record_,
            agency=agency,
            fields=fields,
            **detail,
        )
