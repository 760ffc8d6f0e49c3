"""Family messages in the back office: the owner's and administrators' alone, each opening
audited (issue 11, item 10)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.messaging.models import Message


def _urls(message: Message) -> list[str]:
    return [
        reverse("backoffice:messaging_message_changelist"),
        reverse("backoffice:messaging_message_change", args=[message.pk]),
        reverse("backoffice:messaging_message_delete", args=[message.pk]),
        reverse("backoffice:messaging_message_history", args=[message.pk]),
    ]


@pytest.mark.parametrize("role", ["scheduler", "billing"])
def test_it_answers_schedulers_and_billing_as_if_messages_did_not_exist(client, world, role):
    message = world.sunrise(Message)
    sign_in(client, getattr(world.cast, role))

    for url in _urls(message):
        assert client.get(url).status_code == 404, url
    assert client.post(_urls(message)[2], {"post": "yes"}).status_code == 404
    index = client.get(reverse("backoffice:index")).content.decode()
    assert _urls(message)[0] not in index
    assert Message.objects.filter(pk=message.pk).exists()
    assert not AuditEvent.objects.filter(action="message.viewed").exists()


@pytest.mark.parametrize("role", ["owner", "administrator"])
def test_it_records_each_message_the_owner_or_an_administrator_opens(client, world, role):
    message = world.sunrise(Message)
    reader = getattr(world.cast, role)
    sign_in(client, reader)

    response = client.get(_urls(message)[1])

    assert response.status_code == 200
    assert "Sunbeam question" in response.content.decode()
    event = AuditEvent.objects.get(action="message.viewed")
    assert (event.actor, event.agency, event.object_type, event.object_id) == (
        reader,
        world.cast.sunrise,
        "messaging.message",
        str(message.pk),
    )
    assert event.detail == {"place": "backoffice"}


def test_it_records_nothing_for_another_agencys_message(client, world):
    sign_in(client, world.cast.owner)

    response = client.get(_urls(world.harbor(Message))[1])

    assert response.status_code in (302, 404)
    assert not AuditEvent.objects.filter(action="message.viewed").exists()
