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
from careportal.audit.models import AuditEvent
from careportal.billing.models import Invoice, ShownStatus, validate_invoice_number
from careportal.billing.services import bill_to_problem
from careportal.careplans.models import PlanStatus, ServicePlan
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.services import (
    accept_invitation,
    authenticate_one_time_password,
    current_invitation,
)
from careportal.people.models import Client
from careportal.scheduling.models import Visit
from tests.cast import sign_in


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


def _printed_invitation(output: str) -> tuple[str, str]:
    """Return the (link, one-time password) that seed_demo printed for Nina Newman."""
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if "(Nina Newman):" in line)
    link = lines[at].split("(Nina Newman):", 1)[1].strip()
    otp = lines[at + 1].split("one-time password:", 1)[1].strip()
    return link, otp


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
    events_before = set(AuditEvent.objects.values_list("pk", flat=True))
    second = _seed()
    assert "nothing added" in second
    assert "demo.owner" in second
    after = _counts()
    # Nina's invitation is issued afresh: it replaces the first one, so no table grows
    # but the append-only audit trail, which notes the new invitation and nothing else.
    invitation = Invitation.objects.get(user__username="nina.newman")
    new_events = AuditEvent.objects.exclude(pk__in=events_before)
    assert set(new_events.values_list("action", "object_id")) == {
        ("invitation.queued", str(invitation.pk)),
        ("invitation.sent", str(invitation.pk)),
    }
    assert after.pop("audit.AuditEvent") == before.pop("audit.AuditEvent") + 2
    assert after == before
    _seed()
    # Nina's is the one open invitation; the demo logins' were accepted as they were set up.
    assert list(Invitation.objects.open().values_list("user__username", flat=True)) == [
        "nina.newman"
    ]
    assert set(
        Invitation.objects.exclude(user__username="nina.newman").values_list("state", flat=True)
    ) == {InvitationState.ACCEPTED}


def test_it_issues_ninas_invitation_afresh_on_every_run(client, db, debug):
    first_link, first_otp = _printed_invitation(_seed())
    link, otp = _printed_invitation(_seed())

    assert link != first_link and otp != first_otp
    assert (
        authenticate_one_time_password(username_or_user="nina.newman", password=first_otp) is None
    )
    assert client.get(first_link[first_link.index("/accounts/") :]).status_code == 404
    invitation = authenticate_one_time_password(username_or_user="nina.newman", password=otp)
    assert invitation is not None and invitation.is_usable
    page = client.get(link[link.index("/accounts/") :])
    assert page.status_code == 200 and "Current Password" in page.content.decode()


def test_it_puts_nina_back_to_her_first_sign_in_once_she_has_set_up(client, db, debug):
    _link, otp = _printed_invitation(_seed())
    nina = User.objects.get(username="nina.newman")
    invitation = authenticate_one_time_password(username_or_user=nina, password=otp)
    accept_invitation(
        invitation=invitation,
        new_password="Nina's new garden 7 gate!",
        question="first_pet",
        answer="Rex",
    )
    sign_in(client, nina)
    nina.refresh_from_db()
    assert not nina.must_change_password and nina.has_usable_password()

    link, otp = _printed_invitation(_seed())

    nina.refresh_from_db()
    assert nina.must_change_password and not nina.has_usable_password()
    assert (nina.security_question, nina.security_answer_hash) == ("", "")
    assert not nina.password_history.exists() and not nina.session_records.exists()
    assert "_auth_user_id" not in client.session
    assert current_invitation(nina) is not None
    assert authenticate_one_time_password(username_or_user=nina, password=otp) is not None
    assert AuditEvent.objects.filter(action="portal_account.demo_reset").count() == 1


def test_it_loads_every_role_with_the_documented_password(db, debug):
    output = _seed()
    assert DEMO_PASSWORD in output
    for _role, username, _shows in SIGN_INS:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD), username
        assert not user.must_change_password
        # The documented password meets the agency's rules (a login without its history).
        probe = User(
            agency=user.agency,
            username=user.username,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
        )
        validate_password(DEMO_PASSWORD, probe)
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


def test_it_bills_each_invoice_to_a_party_related_to_its_client(db, debug):
    _seed()
    invoices = Invoice.objects.select_related(
        "client", "bill_to_client", "bill_to_payer", "bill_to_community"
    )
    assert invoices.count() >= 10
    for invoice in invoices:
        assert bill_to_problem(client=invoice.client, party=invoice.bill_to) is None, invoice
        validate_invoice_number(invoice.number)


def test_it_lists_the_same_sign_ins_as_the_readme(settings):
    readme = (settings.BASE_DIR / "README.md").read_text()
    section = readme.split("## Demo sign-ins", 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| role ")
    ]
    assert rows == [
        [f"{role} — {shows}", f"`{username}`", f"`{DEMO_PASSWORD}`"]
        for role, username, shows in SIGN_INS
    ]
