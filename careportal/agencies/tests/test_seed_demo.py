"""seed_demo: the demo agencies, every role's sign-in, idempotent, development only."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command

from careportal.accounts.models import User
from careportal.agencies.management.commands.seed_demo import DEMO_PASSWORD, SIGN_INS
from careportal.agencies.models import Agency, StaffRole
from careportal.billing.models import Invoice, ShownStatus
from careportal.careplans.models import PlanStatus, ServicePlan
from careportal.people.models import Client
from careportal.scheduling.models import Visit


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label not in ("sessions", "axes", "contenttypes", "auth")
    }


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_it_refuses_to_run_when_debug_is_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())
    assert not Agency.objects.exists()


def test_it_adds_nothing_the_second_time(db, debug):
    first = _seed()
    assert "demo.owner" in first
    before = _counts()
    second = _seed()
    assert "nothing added" in second
    assert "demo.owner" in second
    assert _counts() == before


def test_it_loads_every_role_with_the_documented_password(db, debug):
    output = _seed()
    assert DEMO_PASSWORD in output
    for _role, username, _shows in SIGN_INS:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD), username
        assert not user.must_change_password
        validate_password(DEMO_PASSWORD, user)
    roles = set(
        User.objects.filter(agency__name="Sunrise Home Care", kind="staff").values_list(
            "staff_membership__role", flat=True
        )
    )
    assert roles == set(StaffRole.values)


def test_it_gives_margaret_her_care_and_invoices_in_every_state(db, debug):
    _seed()
    margaret = Client.objects.get(user__username="margaret.hale")
    assert margaret.emergency_contacts.count() == 2
    plans = ServicePlan.objects.filter(client=margaret)
    assert {p.status for p in plans} == {PlanStatus.ACTIVE, PlanStatus.ENDED}
    assert all(p.goals.exists() and p.tasks.exists() for p in plans)
    invoices = Invoice.objects.filter(bill_to_client=margaret).with_money()
    assert {i.shown_status for i in invoices} == set(ShownStatus.values)
    visits = Visit.objects.filter(client=margaret)
    assert {v.status for v in visits} >= {"completed", "scheduled", "missed", "cancelled"}
    assert visits.exclude(caregiver=None).exists()


def test_it_links_a_payer_to_three_clients_and_a_community_to_four(db, debug):
    _seed()
    paula = User.objects.get(username="paula.price")
    payer = paula.payer_person_records.get().payer
    assert payer.client_links.count() == 3
    assert Invoice.objects.filter(bill_to_payer=payer).exists()
    nora = User.objects.get(username="nora.nurse")
    community = nora.community_person_records.get().community
    assert community.residences.count() == 4
    assert Invoice.objects.filter(bill_to_community=community).exists()
    ellen = User.objects.get(username="ellen.hale")
    assert ellen.emergency_contact_records.count() == 2
    assert ellen.payer_person_records.exists()
    harbor = Agency.objects.get(name="Harbor Care")
    assert Invoice.objects.filter(agency=harbor).exists()
    assert not Invoice.objects.filter(agency=harbor).exclude(client__agency=harbor).exists()
