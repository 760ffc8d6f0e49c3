"""record(...): the one way to write to the audit trail."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import connection, models
from django.http import HttpRequest

from careportal.audit.actions import FOR_CLIENT, Action
from careportal.audit.models import AuditEvent

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency
    from careportal.people.models import Client


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's address, read past the trusted proxies in front of us."""
    if request is None:
        return None
    count: int = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= count:
            return hops[-count]
    remote: str | None = request.META.get("REMOTE_ADDR")
    return remote or None


def record(
    action: Action,
    *,
    request: HttpRequest | None = None,
    actor: User | None = None,
    agency: Agency | None = None,
    obj: models.Model | None = None,
    client: Client | ClientRef | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit event. The actor defaults to the request's signed-in user."""
    event = audit_event(
        action, request=request, actor=actor, agency=agency, obj=obj, client=client, **detail
    )
    event.save(force_insert=True)
    return event


# Events written by one INSERT: 11 values each, well inside SQLite's and PostgreSQL's limits.
ONE_INSERT = 500


def record_many(events: list[AuditEvent]) -> None:
    """Append events made by `audit_event` in one INSERT (a page's views of several
    clients, the worker's sent batch).

    `bulk_create` wraps even a single INSERT in a transaction of its own: two more round
    trips (BEGIN, COMMIT) on every page view of several clients. One INSERT is atomic by
    itself, so up to ONE_INSERT events go in one, through the queryset's `_insert` (what
    `bulk_create` runs inside its transaction); more take `bulk_create`'s batches.
    """
    if len(events) == 1:
        _insert_one(events[0])
    elif len(events) <= ONE_INSERT:
        fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
        AuditEvent.objects._insert(events, fields=fields)  # type: ignore[attr-defined] # in the stubs as private
    elif events:
        AuditEvent.objects.bulk_create(events, batch_size=ONE_INSERT)


@functools.cache
def _insert_one_sql(vendor: str) -> str:
    """Return the INSERT of one event, written out once: a page view's event is the one
    write of most portal pages, and the ORM's save cost more to build than the database
    takes to store it."""
    quote = connection.ops.quote_name
    fields = _saved_fields()
    columns = ", ".join(quote(cast(str, f.column)) for f in fields)
    table = quote(AuditEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608 (the model's names)


def _saved_fields() -> list[models.Field[Any, Any]]:
    return [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def _insert_one(event: AuditEvent) -> None:
    """Append one event made by `audit_event` (its id is not read back)."""
    params = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in _saved_fields()]
    with connection.cursor() as cursor:
        cursor.execute(_insert_one_sql(connection.vendor), params)


def audit_event(
    action: Action,
    *,
    request: HttpRequest | None = None,
    actor: User | None = None,
    agency: Agency | None = None,
    obj: models.Model | None = None,
    client: Client | ClientRef | None = None,
    **detail: Any,
) -> AuditEvent:
    """Return the event `record` would append, unsaved.

    ValueError for an action that is not one of `Action`'s (a plain string from an
    untyped caller): the trail holds only actions the back office and My privacy know.
    """
    action = Action(action)  # a member is returned as it is: one dictionary lookup
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if agency is None:
        agency = getattr(obj, "agency", None) or getattr(actor, "agency", None)
    if client is None and obj is not None:
        client = getattr(obj, "client", None)
        if client is None and obj.__class__.__name__ == "Client":
            client = cast("Client", obj)
    client_id = getattr(client, "pk", None)
    return AuditEvent(
        agency=agency,
        actor=actor,
        actor_label=(getattr(actor, "username", "") or "")[:200],
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=str(obj)[:200] if obj is not None else "",
        client_id=client_id,
        by_client=client_id is not None and client_id in own_client_ids(actor),
        ip_address=client_ip(request),
        detail=detail,
    )


def own_client_ids(actor: User | None) -> tuple[int, ...]:
    """Return the clients the actor is (a client's own portal login), as people.access
    knows them: remembered for the request, no query for staff or the system."""
    if actor is None or getattr(actor, "kind", None) != "portal":
        return ()
    from careportal.people.access import relationship_ids

    return relationship_ids(actor).own_client_ids


@dataclass(frozen=True)
class ClientRef:
    """A client named by its id alone: the trail keeps the id, and loading the client
    to name it would cost a query."""

    pk: int


def record_for_clients(
    action: Action,
    *,
    client_ids: list[int],
    request: HttpRequest | None = None,
    actor: User | None = None,
    agency: Agency | None = None,
    obj: models.Model | None = None,
    **detail: Any,
) -> None:
    """Append one event about a view of these clients' data, in one INSERT.

    The event names the client when there is exactly one; with several, one more event
    `<action>_for_client` (FOR_CLIENT) per client names each of them (My privacy lists a
    client's events by their client id), with the detail's single values (the lists, of
    every client's invoices or ids, stay on the first event alone). KeyError for an
    action that has no such event, whatever the number of clients.
    """
    for_client = FOR_CLIENT[action]
    one = ClientRef(client_ids[0]) if len(client_ids) == 1 else None
    events = [
        audit_event(
            action, client=one, request=request, actor=actor, agency=agency, obj=obj, **detail
        )
    ]
    if len(client_ids) > 1:
        single = {k: v for k, v in detail.items() if not isinstance(v, (list, tuple, set))}
        if connection.vendor == "postgresql":
            _record_with_each_client(events[0], Action(for_client), single, client_ids)
            return
        events += [
            audit_event(
                for_client,
                client=ClientRef(pk),
                request=request,
                actor=actor,
                agency=agency,
                obj=obj,
                **single,
            )
            for pk in client_ids
        ]
    record_many(events)


def _record_with_each_client(
    event: AuditEvent, action: Action, detail: dict[str, Any], client_ids: list[int]
) -> None:
    """Append the event and one `action` row per client, in one statement (PostgreSQL).

    The clients' rows copy the event's columns from its INSERT's RETURNING, each with its
    client id (from one array parameter), `action` and `detail`: no row of theirs is built
    in Python, and a payer's page of twenty-five clients costs one INSERT as a single event
    does. What `record_many` would write, column for column.
    """
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(AuditEvent._meta.db_table)
    columns = ", ".join(quote(cast(str, f.column)) for f in fields)
    copied = []
    params: list[Any] = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    tail: list[Any] = []
    for f in fields:
        if f.name == "action":
            copied.append("%s")
            tail.append(str(action))
        elif f.name == "detail":
            copied.append("%s")
            tail.append(f.get_db_prep_save(detail, connection))
        elif f.name == "client_id":
            copied.append("client")
        elif f.name == "by_client":
            # Each client's row: whether the actor is that client's own login.
            copied.append("client = ANY(%s::bigint[])")
            tail.append(list(own_client_ids(event.actor)))
        else:
            copied.append(f"event.{quote(cast(str, f.column))}")
    sql = (
        f"WITH event AS (INSERT INTO {table} ({columns}) "  # noqa: S608 (the model's names)
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {columns}) "
        f"INSERT INTO {table} ({columns}) SELECT {', '.join(copied)} "
        "FROM event, unnest(%s::bigint[]) AS client"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *tail, client_ids])
