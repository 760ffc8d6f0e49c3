"""The README's "Integrating" examples work against seed_demo's data and its printed key."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from careportal.agencies.management.commands.seed_demo import DEMO_API_KEY
from careportal.api.models import ApiKey
from careportal.api.tests.conftest import Caller
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import Client


def test_it_prints_a_demo_key_that_lists_and_creates_clients(db, settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # a second run adds no second key

    assert DEMO_API_KEY in out.getvalue()
    assert ApiKey.objects.count() == 1
    api = Caller(DEMO_API_KEY)
    listed = api("GET", "clients?limit=5")
    assert listed.status_code == 200 and len(listed.json()["items"]) == 5
    body = {"first_name": "Rita", "last_name": "Moreno", "email": "rita@example.com",
            "external_id": "EHR-1001"}  # fmt: skip
    created = api("POST", "clients", body, **{"Idempotency-Key": "first-import-rita"})
    retried = api("POST", "clients", body, **{"Idempotency-Key": "first-import-rita"})
    assert created.status_code == retried.status_code == 201
    rita = Client.objects.get(external_id="EHR-1001")
    assert rita.agency.name == "Sunrise Home Care"
    assert Invitation.objects.get(user=rita.user).state == InvitationState.QUEUED
    assert api("GET", "clients/by-external-id/EHR-1001").json()["id"] == rita.pk
