"""A view of several clients' data: one event for the view, and one naming each client."""

from __future__ import annotations

from django.test import RequestFactory

from careportal.audit.actions import Action
from careportal.audit.events import record_for_clients
from careportal.audit.models import AuditEvent


def test_it_records_the_view_and_one_event_naming_each_client(cast):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    payer = cast.paula
    # The trail keeps client ids as numbers: any three do.
    ids = [cast.margaret.pk, cast.margaret.pk + 1000, cast.margaret.pk + 2000]

    record_for_clients(
        Action.DASHBOARD_VIEWED,
        client_ids=ids,
        request=request,
        actor=payer,
        agency=cast.sunrise,
        clients=ids,
        shown=3,
    )

    view = AuditEvent.objects.get(action=Action.DASHBOARD_VIEWED)
    assert view.client_id is None
    assert view.detail == {"clients": ids, "shown": 3}
    named = list(
        AuditEvent.objects.filter(action=Action.DASHBOARD_VIEWED_FOR_CLIENT).order_by("client_id")
    )
    assert [event.client_id for event in named] == sorted(ids)
    for event in named:
        # Everything the view's event says, but one client each and the single values only.
        assert event.detail == {"shown": 3}
        assert (event.agency_id, event.actor_id, event.actor_label) == (
            cast.sunrise.pk,
            payer.pk,
            payer.username,
        )
        assert event.ip_address == "203.0.113.9"
        assert abs((event.created_at - view.created_at).total_seconds()) < 1


def test_it_names_the_one_client_of_a_view_of_one_client(cast):
    record_for_clients(
        Action.CALENDAR_VIEWED,
        client_ids=[cast.margaret.pk],
        actor=cast.margaret.user,
        agency=cast.sunrise,
    )

    assert list(AuditEvent.objects.values_list("action", "client_id")) == [
        (Action.CALENDAR_VIEWED, cast.margaret.pk)
    ]
