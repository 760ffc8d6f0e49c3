"""record(...): the one way to write to the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from careportal.audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's address, read past the trusted proxies in front of us."""
    if request is None:
        return None
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    actor: Any = None,
    agency: Any = None,
    obj: models.Model | None = None,
    client: Any = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit event. The actor defaults to the request's signed-in user."""
    event = audit_event(
        action, request=request, actor=actor, agency=agency, obj=obj, client=client, **detail
    )
    event.save(force_insert=True)
    return event


def record_many(events: list[AuditEvent]) -> None:
    """Append events made by `audit_event` in one INSERT (the worker's sent batch).

    A single event is saved on its own: `bulk_create` would wrap its one INSERT in a
    transaction of its own, two more round trips on every page view that records one.
    """
    if len(events) == 1:
        events[0].save()
    elif events:
        AuditEvent.objects.bulk_create(events)


def audit_event(
    action: str,
    *,
    request: HttpRequest | None = None,
    actor: Any = None,
    agency: Any = None,
    obj: models.Model | None = None,
    client: Any = None,
    **detail: Any,
) -> AuditEvent:
    """Return the event `record` would append, unsaved."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if agency is None:
        agency = getattr(obj, "agency", None) or getattr(actor, "agency", None)
    if client is None and obj is not None:
        client = getattr(obj, "client", None)
        if client is None and obj.__class__.__name__ == "Client":
            client = obj
    return AuditEvent(
        agency=agency,
        actor=actor,
        actor_label=(getattr(actor, "username", "") or "")[:200],
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=str(obj)[:200] if obj is not None else "",
        client_id=getattr(client, "pk", None),
        ip_address=client_ip(request),
        detail=detail,
    )


@dataclass(frozen=True)
class _ClientRef:
    pk: int


def record_for_clients(
    action: str,
    *,
    client_ids: list[int],
    request: HttpRequest | None = None,
    actor: Any = None,
    agency: Any = None,
    obj: models.Model | None = None,
    **detail: Any,
) -> None:
    """Append one event about a view of these clients' data, in one INSERT.

    The event names the client when there is exactly one; with several, one more event
    `<action>_for_client` per client names each of them (My privacy lists a client's
    events by their client id), with the detail's single values (the lists, of every
    client's invoices or ids, stay on the first event alone).
    """
    one = _ClientRef(client_ids[0]) if len(client_ids) == 1 else None
    where = {"request": request, "actor": actor, "agency": agency, "obj": obj}
    events = [audit_event(action, client=one, **where, **detail)]
    if len(client_ids) > 1:
        single = {k: v for k, v in detail.items() if not isinstance(v, (list, tuple, set))}
        events += [
            audit_event(f"{action}_for_client", client=_ClientRef(pk), **where, **single)
            for pk in client_ids
        ]
    record_many(events)
