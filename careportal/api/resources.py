"""The operations every record of the API has, built once for each kind of record.

For a resource (clients, emergency contacts, ...) under `/api/v1/<path>`:

- `GET <path>`: a page of the agency's records, oldest change first, `updated_since` and
  an opaque `next` cursor on (updated_at, id); at most 200 a page;
- `POST <path>`: create, safe to retry with an `Idempotency-Key` header;
- `GET <path>/{id}` and `PATCH <path>/{id}`: one record, and a change to some of its fields;
- `GET` and `PUT <path>/by-external-id/{external_id}`: the same by the agency's own id,
  PUT creating the record when there is none (an upsert).

No DELETE: a client is discharged, a link ended, by an update. Another agency's record
answers 404 like a missing one. Each call is one audit event (`api.<name>.<verb>`).

A record may carry lists of its own rows (a plan's goals, an invoice's lines: `nested`),
sent whole and matched to the stored rows by `nested_rows`, saved by the same service.
"""

import base64
import binascii
import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field, create_model

from careportal.api.auth import KeyAuth, key_of
from careportal.api.models import IDEMPOTENCY_WINDOW, IdempotentRequest
from careportal.api.problems import ApiProblem, Problem
from careportal.api.values import ExternalIdInPath, IsoDateTime, PathId, storable
from careportal.audit.actions import Action
from careportal.audit.events import record

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class PageBase(Schema):
    next: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


@dataclass(frozen=True)
class Resource:
    model: type[models.Model]
    # The record's name in operation ids and audit actions ("client"): `api.<name>.listed`,
    # `.viewed`, `.created` and `.changed` must be members of Action.
    name: str
    path: str  # "clients"
    area: str  # the scope's area: "people"
    out: type[Schema]
    create: type[Schema]
    # Saves the record in the agency through its app's service (one transaction):
    # write(obj, agency, request), and the nested rows' lists too when `nested` is set.
    write: Callable[..., Any]
    # Foreign keys given by id, each `<name>_id` in the schemas.
    foreign_keys: tuple[str, ...] = ()
    # Lists of rows saved with the record ("goals", "tasks"): left out of the record's own
    # fields and passed to `write` as a fourth argument, {name: [row, ...]} (only the lists
    # the request sent); read back through the relation of the same name, prefetched.
    nested: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return str(self.model._meta.verbose_name)


def partial(schema: type[Schema]) -> type[Schema]:
    """Return the schema with every field optional: the body of a PATCH.

    A field left out keeps its value; null is taken only where the record takes it.
    """
    fields: dict[str, Any] = {}
    for name, field in schema.model_fields.items():
        annotation = field.annotation
        nullable = annotation is None or type(None) in getattr(annotation, "__args__", ())
        kept: Any = Annotated[annotation, *field.metadata] if field.metadata else annotation
        fields[name] = (
            kept,
            Field(None, description=field.description, json_schema_extra=_no_default)
            if not nullable
            else Field(None, description=field.description),
        )
    made: type[Schema] = create_model(f"{schema.__name__}Patch", __base__=Schema, **fields)
    return made


def _encode_cursor(row: Any) -> str:
    raw = json.dumps([row.updated_at.isoformat(), row.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, pk = json.loads(raw)
        when = datetime.datetime.fromisoformat(moment)
        if when.tzinfo is None or not isinstance(pk, int):
            raise ValueError
        return when, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(
            422,
            _("The cursor is not one this API gave."),
            errors=[{"field": "cursor", "message": _("Use the `next` value of a page.")}],
        ) from None


def _require_object(request: HttpRequest) -> None:
    """Refuse a body that is JSON but not an object (a PATCH of nothing but `5`)."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return  # not JSON at all: ninja answers that itself
    if not isinstance(data, dict):
        raise ApiProblem(
            422,
            _("Some values are not valid; nothing was saved."),
            errors=[{"field": None, "message": _("Send a JSON object.")}],
        )


def _audit(request: HttpRequest, action: Action, obj: Any = None, **detail: Any) -> None:
    api_key = key_of(request)
    record(action, request=request, agency=api_key.agency, obj=obj, api_key=api_key.pk, **detail)


def _actions_of(res: Resource) -> tuple[Action, Action, Action, Action]:
    """Return the resource's audit actions: listed, viewed, created, changed.

    Looked up once, as the API's routes are built: a resource whose actions are not
    members of Action stops the API from starting (ValueError), not one call later.
    """
    listed, viewed, created, changed = (
        Action(f"api.{res.name}.{verb}") for verb in ("listed", "viewed", "created", "changed")
    )
    return listed, viewed, created, changed


def _request_hash(request: HttpRequest, data: dict[str, Any]) -> str:
    payload = json.dumps([request.method, request.path, data], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def add_resource(router: Router, res: Resource) -> None:
    """Add the six operations of the resource to the router."""
    patch_schema = partial(res.create)
    items: Any = list[res.out]  # type: ignore[name-defined]
    page_schema: type[Schema] = create_model(
        f"{res.out.__name__}Page", __base__=PageBase, items=(items, ...)
    )
    read = KeyAuth(res.area, "read")
    write = KeyAuth(res.area, "write")
    tags = [res.path.replace("-", " ").capitalize()]
    listed, viewed, created_action, changed_action = _actions_of(res)

    def owned(request: HttpRequest, **lookup: Any) -> Any:
        """Return the agency's record; another agency's answers 404 like a missing one."""
        agency = key_of(request).agency
        obj = res.model._default_manager.filter(agency=agency, **lookup).first()
        if obj is None:
            raise Http404
        return obj

    def body(obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = res.out.from_orm(obj).model_dump(mode="json")
        return data

    def save(request: HttpRequest, obj: Any, data: dict[str, Any]) -> Any:
        """Check the foreign keys against the agency, set the values, save through the app."""
        agency = key_of(request).agency
        data = dict(data)
        children = {name: data.pop(name) for name in res.nested if name in data}
        errors: dict[str, list[str]] = {}
        for name in res.foreign_keys:
            value = data.get(f"{name}_id")
            related = res.model._meta.get_field(name).related_model
            if value is not None and not (
                related._default_manager.filter(agency=agency, pk=value).exists()  # type: ignore[union-attr]
            ):
                # A missing record and another agency's read the same.
                errors[f"{name}_id"] = [_("Choose a record of this agency.")]
        external_id = data.get("external_id")
        if external_id and (
            res.model._default_manager.filter(agency=agency, external_id=external_id)
            .exclude(pk=obj.pk)
            .exists()
        ):
            errors["external_id"] = [_("Another record of this agency has this external id.")]
        if errors:
            raise ValidationError(errors)
        for name, value in data.items():
            setattr(obj, name, value)
        try:
            if res.nested:
                return res.write(obj, agency, request, children)
            return res.write(obj, agency, request)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                raise
            raise ValidationError(
                {
                    (f"{field}_id" if field in res.foreign_keys else field): messages
                    for field, messages in error.error_dict.items()
                }
            ) from None

    def list_records(
        request: HttpRequest,
        updated_since: Annotated[
            IsoDateTime | None,
            Query(description="Only records changed at or after this time (RFC 3339)."),
        ] = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    ) -> dict[str, Any]:
        agency = key_of(request).agency
        records = res.model._default_manager.filter(agency=agency).prefetch_related(*res.nested)
        if updated_since is not None:
            records = records.filter(updated_at__gte=updated_since)
        if cursor:
            moment, pk = _decode_cursor(cursor)
            records = records.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=pk))
        rows = list(records.order_by("updated_at", "pk")[: limit + 1])
        page, more = rows[:limit], len(rows) > limit
        _audit(request, listed, ids=[row.pk for row in page])
        return {
            "items": [body(row) for row in page],
            "next": _encode_cursor(page[-1]) if more else None,
        }

    def get_record(request: HttpRequest, id: PathId) -> dict[str, Any]:
        obj = owned(request, pk=id)
        _audit(request, viewed, obj)
        return body(obj)

    def get_by_external_id(request: HttpRequest, external_id: ExternalIdInPath) -> dict[str, Any]:
        if not _valid_external_id(external_id):
            raise Http404
        obj = owned(request, external_id=external_id)
        _audit(request, viewed, obj)
        return body(obj)

    def create_record(
        request: HttpRequest,
        payload: Schema,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                max_length=255,
                description="Any unique string: a retry with the same key and body answers "
                "the first answer again (kept 24 hours).",
            ),
        ] = None,
    ) -> Status[dict[str, Any]]:
        api_key = key_of(request)
        _require_object(request)
        data = payload.model_dump(exclude_unset=True)

        def create() -> Status[dict[str, Any]]:
            obj = save(request, res.model(), data)
            _audit(request, created_action, obj)
            return Status(201, body(obj))

        if not idempotency_key:
            with transaction.atomic():
                return create()
        digest = _request_hash(request, data)
        since = timezone.now() - IDEMPOTENCY_WINDOW
        kept = IdempotentRequest.objects.filter(api_key=api_key, key=idempotency_key)
        stored = kept.filter(created_at__gte=since).first()
        if stored is not None:
            if stored.request_hash != digest:
                raise ApiProblem(
                    422,
                    _("This Idempotency-Key was used with another request body."),
                    errors=[{"field": "Idempotency-Key", "message": _("Use a new key.")}],
                )
            return Status(stored.status_code, stored.response_body)
        try:
            with transaction.atomic():
                kept.filter(created_at__lt=since).delete()
                answer = create()
                IdempotentRequest.objects.create(
                    agency=api_key.agency,
                    api_key=api_key,
                    key=idempotency_key,
                    request_hash=digest,
                    status_code=answer.status_code,
                    response_body=answer.value,
                )
        except IntegrityError:
            raise ApiProblem(
                409, _("A request with this Idempotency-Key is under way; retry it shortly.")
            ) from None
        return answer

    def update_record(request: HttpRequest, id: PathId, payload: Schema) -> dict[str, Any]:
        _require_object(request)
        with transaction.atomic():
            obj = owned(request, pk=id)
            obj = save(request, obj, payload.model_dump(exclude_unset=True))
            _audit(request, changed_action, obj)
        return body(obj)

    def upsert_by_external_id(
        request: HttpRequest, external_id: ExternalIdInPath, payload: Schema
    ) -> Status[dict[str, Any]]:
        agency = key_of(request).agency
        if not _valid_external_id(external_id):
            raise ApiProblem(
                422,
                _("Some values are not valid; nothing was saved."),
                errors=[{"field": "external_id", "message": _("Enter at most 100 characters.")}],
            )
        _require_object(request)
        data = {**payload.model_dump(exclude_unset=True), "external_id": external_id}
        try:
            with transaction.atomic():
                obj = res.model._default_manager.filter(
                    agency=agency, external_id=external_id
                ).first()
                created = obj is None
                obj = save(request, obj if obj is not None else res.model(), data)
                _audit(request, created_action if created else changed_action, obj)
        except IntegrityError:
            raise ApiProblem(
                409, _("Another request changed this record at the same time; retry it.")
            ) from None
        return Status(201 if created else 200, body(obj))

    # The schemas are the resource's: set on the functions before ninja reads them.
    create_record.__annotations__["payload"] = res.create
    update_record.__annotations__["payload"] = patch_schema
    upsert_by_external_id.__annotations__["payload"] = res.create
    title = res.title
    plural = str(res.model._meta.verbose_name_plural)
    one = {200: res.out, **ERRORS}
    route = f"/{res.path}"
    router.get(
        route, response={200: page_schema, **ERRORS}, auth=read, tags=tags,
        operation_id=f"list_{res.path.replace('-', '_')}", url_name=f"{res.name}_list",
        summary=f"List {plural}",
    )(list_records)  # fmt: skip
    router.post(
        route, response={201: res.out, 409: Problem, **ERRORS}, auth=write, tags=tags,
        operation_id=f"create_{res.name}", url_name=f"{res.name}_create",
        summary=f"Create a {title}",
    )(create_record)  # fmt: skip
    router.get(
        f"{route}/{{id}}", response=one, auth=read, tags=tags,
        operation_id=f"get_{res.name}", url_name=f"{res.name}_detail",
        summary=f"Get a {title}",
    )(get_record)  # fmt: skip
    router.patch(
        f"{route}/{{id}}", response=one, auth=write, tags=tags,
        operation_id=f"update_{res.name}", url_name=f"{res.name}_update",
        summary=f"Change a {title}",
    )(update_record)  # fmt: skip
    router.get(
        f"{route}/by-external-id/{{external_id}}", response=one, auth=read, tags=tags,
        operation_id=f"get_{res.name}_by_external_id", url_name=f"{res.name}_by_external_id",
        summary=f"Get a {title} by its external id",
    )(get_by_external_id)  # fmt: skip
    router.put(
        f"{route}/by-external-id/{{external_id}}",
        response={200: res.out, 201: res.out, 409: Problem, **ERRORS}, auth=write, tags=tags,
        operation_id=f"upsert_{res.name}_by_external_id",
        url_name=f"{res.name}_upsert_by_external_id",
        summary=f"Create or change a {title} by its external id",
    )(upsert_by_external_id)  # fmt: skip


def nested_rows(
    parent: Any, parent_field: str, model: Any, name: str, items: list[dict[str, Any]] | None
) -> tuple[list[Any], list[Any]]:
    """Return the rows to save and the rows to remove for a list the request sent whole.

    A row is the parent's row with its `id`, else the parent's row with its `external_id`,
    else a new one; the parent's rows not sent are removed. None (the list not sent) keeps
    every row as it is. An id of no row of the parent, or an external id sent twice,
    raises ValidationError naming `<name>.<index>.<field>`.
    """
    if items is None:
        return [], []
    stored = (
        {row.pk: row for row in model._default_manager.filter(**{parent_field: parent.pk})}
        if parent.pk is not None
        else {}
    )
    by_external_id = {row.external_id: row for row in stored.values() if row.external_id}
    errors: dict[str, list[str]] = {}
    rows: list[Any] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        values = dict(item)
        pk = values.pop("id", None)
        external_id = values.get("external_id", "")
        if pk is not None:
            row = stored.get(pk)
            if row is None:
                errors[f"{name}.{index}.id"] = [_("Choose a row of this record, or leave it out.")]
                continue
        else:
            row = by_external_id.get(external_id) or model()
        if row.pk is not None and any(row is other for other in rows):
            errors[f"{name}.{index}.id"] = [_("This row is sent twice.")]
            continue
        external_id = values.get("external_id", row.external_id)
        if external_id and external_id in seen:
            errors[f"{name}.{index}.external_id"] = [_("Another row here has this external id.")]
        seen.add(external_id)
        for field, value in values.items():
            setattr(row, field, value)
        rows.append(row)
    if errors:
        raise ValidationError(errors)
    kept = {row.pk for row in rows if row.pk is not None}
    return rows, [row for pk, row in stored.items() if pk not in kept]


def _valid_external_id(value: str) -> bool:
    try:
        storable(value)
    except ValueError:
        return False
    return 0 < len(value) <= 100
