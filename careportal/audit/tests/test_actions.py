"""The audit trail's actions: one fixed list, each value stored as it always was."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from careportal.api import billing, careplans, people, scheduling
from careportal.api.resources import _actions_of
from careportal.audit.actions import FOR_CLIENT, Action
from careportal.audit.events import audit_event, record, record_for_clients
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.imports.models import ImportKind
from careportal.imports.services import EXPORTED

# `area.verb`, or `api.record.verb`: lowercase words joined by underscores.
FORM = re.compile(r"[a-z]+(_[a-z]+)*(\.[a-z]+(_[a-z]+)*){1,2}")


def test_it_gives_every_action_one_value_of_the_form_area_verb():
    values = [member.value for member in Action]

    # A repeated value would make its second name an alias of the first, silently.
    assert len(Action.__members__) == len(values) == len(set(values))
    assert [v for v in values if not FORM.fullmatch(v)] == []
    assert max(len(v) for v in values) <= AuditEvent._meta.get_field("action").max_length


def test_it_refuses_an_event_whose_action_is_not_one_of_the_list():
    # mypy refuses a plain string here; at run time, audit_event does.
    with pytest.raises(ValueError):
        audit_event("invoice.peeked_at")


def test_it_stores_a_member_as_its_value():
    event = audit_event(Action.INVOICE_VIEWED)

    assert event.action == "invoice.viewed"
    assert event.action is Action.INVOICE_VIEWED


def test_it_names_each_client_of_a_view_with_the_actions_for_client_variant():
    for action, for_client in FOR_CLIENT.items():
        assert for_client == f"{action}_for_client"


def test_it_refuses_a_view_of_clients_whose_action_has_no_for_client_variant(db):
    # Refused even for one client, who needs no such event: the mistake shows in any test.
    with pytest.raises(KeyError):
        record_for_clients(Action.INVOICE_VIEWED, client_ids=[1])

    assert not AuditEvent.objects.exists()


def test_it_has_the_actions_of_every_record_of_the_api():
    resources = [*people.RESOURCES, *scheduling.RESOURCES, *careplans.RESOURCES, *billing.RESOURCES]

    assert {action for res in resources for action in _actions_of(res)} == {
        action for action in Action if action.startswith("api.") and action.count(".") == 2
    } - {Action.API_INVOICE_ISSUED, Action.API_INVOICE_VOIDED}


def test_it_has_the_export_action_of_every_kind_of_file():
    assert {kind: EXPORTED[kind] for kind in ImportKind} == {
        kind: Action(f"{kind}.exported") for kind in ImportKind
    }


def test_it_shows_the_owner_one_action_of_the_trail_in_plain_words(client, cast):
    viewed = record(Action.INVOICE_VIEWED, actor=cast.owner, agency=cast.sunrise)
    record(Action.CLIENT_VIEWED, actor=cast.owner, agency=cast.sunrise)
    sign_in(client, cast.owner)

    response = client.get(
        reverse("backoffice:audit_auditevent_changelist"), {"action": "invoice.viewed"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [viewed]
    assert '<td class="field-what">Invoice viewed</td>' in response.content.decode()
