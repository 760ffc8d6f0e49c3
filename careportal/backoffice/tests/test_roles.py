"""What each staff role may reach in the back office, and who may enter Django's /admin/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from careportal.agencies.models import Agency, StaffMembership, StaffRole
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.billing.models import Invoice
from careportal.builders import make_login
from careportal.careplans.models import ServicePlan
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import Client
from careportal.scheduling.models import Visit
from tests.cast import PASSWORD

# The operators' form for a new agency, filled in.
NEW_AGENCY = {
    "name": "Lighthouse Care",
    "owner_name": "Lena Light",
    "owner_email": "lena@lighthouse.example",
    "time_zone": "America/Chicago",
    "currency": "USD",
    "password_preset": "evv",
    "password_history": 10,
    "max_failed_sign_ins": 3,
    "session_idle_minutes": 15,
    "invitation_valid_hours": 72,
    "message_subject_template": "Message",
    "message_body_template": "Dear {owner_name}",
    "message_subject_template_es": "Mensaje",
    "message_body_template_es": "Buenos días, {owner_name}:",
}


def _url(obj, view: str = "change") -> str:
    opts = obj._meta
    args = [] if view in ("changelist", "add") else [obj.pk]
    return reverse(f"backoffice:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.mark.parametrize("view", ["changelist", "add", "change", "delete"])
def test_it_never_shows_service_plans_to_billing(client, world, view):
    plan = world.sunrise(ServicePlan)
    sign_in(client, world.cast.billing)
    response = client.get(_url(plan, view))
    assert response.status_code == 404
    index = client.get(reverse("backoffice:index"))
    assert index.status_code == 200
    assert _url(plan, "changelist") not in index.content.decode()
    assert client.get(reverse("backoffice:app_list", args=["careplans"])).status_code == 404
    assert ServicePlan.objects.filter(pk=plan.pk).exists()


def test_it_lets_billing_edit_invoices(client, world):
    invoice = world.sunrise(Invoice)
    sign_in(client, world.cast.billing)
    response = client.get(_url(invoice))
    assert response.status_code == 200
    assert b'name="_save"' in response.content


def test_it_keeps_schedulers_away_from_invoices(client, world):
    invoice = world.sunrise(Invoice)
    sign_in(client, world.cast.scheduler)
    assert client.get(_url(invoice)).status_code == 404
    response = client.post(_url(invoice), {"number": "CHANGED"})
    assert response.status_code == 404
    invoice.refresh_from_db()
    assert invoice.number != "CHANGED"


def test_it_lets_schedulers_edit_visits_and_plans_and_only_read_clients(client, world):
    sign_in(client, world.cast.scheduler)
    assert b'name="_save"' in client.get(_url(world.sunrise(Visit))).content
    assert b'name="_save"' in client.get(_url(world.sunrise(ServicePlan))).content
    margaret = world.sunrise(Client)
    response = client.get(_url(margaret))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    response = client.post(_url(margaret), {"first_name": "Changed", "last_name": "Hale"})
    assert response.status_code == 403
    margaret.refresh_from_db()
    assert margaret.first_name == "Margaret"


def test_it_keeps_administrators_out_of_the_agency_settings(client, world):
    sunrise = world.cast.sunrise
    sign_in(client, world.cast.administrator)
    assert client.get(_url(sunrise)).status_code == 404
    response = client.post(_url(sunrise), {"name": "Renamed"})
    assert response.status_code == 404
    sunrise.refresh_from_db()
    assert sunrise.name == "Sunrise Home Care"


def test_it_lets_the_owner_tighten_the_agency_settings(client, world):
    sunrise = world.cast.sunrise
    sign_in(client, world.cast.owner)
    response = client.get(_url(sunrise, "changelist"))
    assert response.status_code == 302
    assert response["Location"] == _url(sunrise)
    form = client.get(_url(sunrise)).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("logo", "id")}
    data.update(session_idle_minutes=10, password_min_length=14, message_email="")
    response = client.post(_url(sunrise), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    sunrise.refresh_from_db()
    assert (sunrise.session_idle_minutes, sunrise.password_min_length) == (10, 14)

    # Loosening is refused.
    data.update(password_min_length=8)
    response = client.post(_url(sunrise), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["password_min_length"]
    sunrise.refresh_from_db()
    assert sunrise.password_min_length == 14


def test_it_lets_the_owner_read_the_audit_trail_and_nobody_edit_it(client, world):
    event = world.sunrise(AuditEvent)
    owner = world.cast.owner
    owner.is_superuser = True
    owner.save()
    sign_in(client, owner)
    response = client.get(_url(event, "changelist"))
    assert response.status_code == 200
    assert event.action in response.content.decode()
    assert client.get(_url(event, "add")).status_code == 403
    assert client.post(_url(event), {"action": "forged"}).status_code == 403
    assert client.post(_url(event, "delete"), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "sunbeam.test"

    client.logout()
    sign_in(client, world.cast.administrator)
    assert client.get(_url(event, "changelist")).status_code == 404


def test_it_lets_the_owner_and_administrators_read_messages(client, world):
    for role in ("owner", "administrator"):
        sign_in(client, getattr(world.cast, role))
        response = client.get(reverse("backoffice:messaging_message_changelist"))
        assert response.status_code == 200
        assert "Sunbeam question" in response.content.decode()
        assert client.get(reverse("backoffice:messaging_message_add")).status_code == 403


def test_it_lets_the_owner_invite_staff(client, world):
    sign_in(client, world.cast.owner)
    response = client.post(
        reverse("backoffice:agencies_staffmembership_add"),
        {"name": "Nina New", "email": "nina@mail.example", "role": StaffRole.SCHEDULER},
    )
    assert response.status_code == 302
    membership = StaffMembership.objects.get(name="Nina New")
    assert membership.agency == world.cast.sunrise
    assert membership.user.kind == "staff"
    assert membership.user.email == "nina@mail.example"


def test_it_keeps_administrators_from_adding_an_owner(client, world):
    sign_in(client, world.cast.administrator)
    add = reverse("backoffice:agencies_staffmembership_add")
    offered = client.get(add).context["adminform"].form.fields["role"].choices
    assert StaffRole.OWNER not in [value for value, _label in offered]
    assert StaffRole.SCHEDULER in [value for value, _label in offered]
    response = client.post(
        add, {"name": "Oscar", "email": "oscar@mail.example", "role": StaffRole.OWNER}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["role"]
    assert errors == ["Only the owner can give the owner role."]
    assert not StaffMembership.objects.filter(name="Oscar").exists()
    assert not Invitation.objects.filter(email="oscar@mail.example").exists()


def test_it_turns_portal_users_away_from_the_back_office(client, world):
    client.force_login(world.cast.margaret.user)
    response = client.get(reverse("backoffice:people_client_changelist"))
    assert response.status_code == 302
    assert world.cast.margaret.first_name not in response.content.decode()


def test_it_keeps_agency_staff_out_of_djangos_admin(client, world):
    sign_in(client, world.cast.owner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert client.get(reverse("admin:agencies_agency_changelist")).status_code == 302


def _operator(client):
    operator = make_login(
        None, "otto.operator", password=PASSWORD, kind="operator", is_staff=True, is_superuser=True
    )
    sign_in(client, operator)
    return operator


def test_it_lets_platform_operators_create_agencies_in_djangos_admin(client, db):
    _operator(client)
    response = client.get(reverse("admin:agencies_agency_changelist"))
    assert response.status_code == 200
    response = client.get(reverse("admin:agencies_agency_add"))
    assert response.status_code == 200
    response = client.post(reverse("admin:agencies_agency_add"), NEW_AGENCY)
    assert response.status_code == 302
    assert Agency.objects.get().name == "Lighthouse Care"


def test_it_invites_the_owner_of_an_agency_an_operator_creates(client, db):
    operator = _operator(client)
    response = client.post(reverse("admin:agencies_agency_add"), NEW_AGENCY)

    assert response.status_code == 302
    lighthouse = Agency.objects.get(name="Lighthouse Care")
    owner = StaffMembership.objects.get(agency=lighthouse)
    assert (owner.role, owner.name) == (StaffRole.OWNER, "Lena Light")
    assert (owner.user.kind, owner.user.email) == ("staff", "lena@lighthouse.example")
    assert owner.user.must_change_password and not owner.user.has_usable_password()
    invitation = Invitation.objects.get(user=owner.user)
    assert (invitation.state, invitation.agency) == (InvitationState.QUEUED, lighthouse)
    assert AuditEvent.objects.filter(
        action="invitation.queued", actor=operator, agency=lighthouse
    ).exists()


def test_it_invites_no_second_owner(client, cast):
    _operator(client)
    changelist = reverse("admin:agencies_agency_changelist")
    assert client.get(changelist).status_code == 200
    bare = Agency.objects.create(name="Bare Care", owner_name="Bo Bare", owner_email="bo@b.example")

    client.post(
        changelist,
        {"action": "invite_owner", "_selected_action": [cast.sunrise.pk, bare.pk]},
    )

    assert StaffMembership.objects.filter(agency=cast.sunrise, role=StaffRole.OWNER).count() == 1
    assert StaffMembership.objects.get(agency=bare).user.email == "bo@b.example"
    assert Invitation.objects.filter(agency=bare).count() == 1
    assert not Invitation.objects.filter(agency=cast.sunrise).exists()


def test_it_records_each_opening_of_a_service_plan_or_invoice(client, world):
    plan = world.sunrise(ServicePlan)
    invoice = world.sunrise(Invoice)
    sign_in(client, world.cast.scheduler)
    assert client.get(_url(plan)).status_code == 200
    event = AuditEvent.objects.get(action="service_plan.viewed")
    assert (event.object_id, event.actor, event.agency) == (
        str(plan.pk),
        world.cast.scheduler,
        world.cast.sunrise,
    )
    sign_in(client, world.cast.billing)
    assert client.get(_url(invoice)).status_code == 200
    assert AuditEvent.objects.filter(action="invoice.viewed", object_id=str(invoice.pk)).exists()


def test_it_offers_unlocking_sign_in_to_the_owner_alone(client, world):
    changelist = reverse("backoffice:people_client_changelist")
    sign_in(client, world.cast.owner)
    assert b'value="unlock_sign_in"' in client.get(changelist).content
    sign_in(client, world.cast.administrator)
    response = client.get(changelist)
    assert response.status_code == 200
    assert b'value="unlock_sign_in"' not in response.content


def test_it_keeps_the_owner_from_changing_their_own_role(client, world):
    owner = world.cast.owner
    membership = owner.staff_membership
    sign_in(client, owner)
    response = client.post(_url(membership), {"name": "Olivia", "role": StaffRole.BILLING})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.name, membership.role) == ("Olivia", StaffRole.OWNER)
    assert client.post(_url(membership, "delete"), {"post": "yes"}).status_code == 403
    assert StaffMembership.objects.filter(pk=membership.pk).exists()


def test_it_answers_a_refused_autocomplete_like_a_missing_page(client, world):
    sign_in(client, world.cast.billing)
    query = {"app_label": "careplans", "model_name": "goal", "field_name": "plan", "term": ""}
    assert client.get(reverse("backoffice:autocomplete"), query).status_code == 404
    malformed = {**query, "field_name": "nothing"}
    assert client.get(reverse("backoffice:autocomplete"), malformed).status_code == 404
    sign_in(client, world.cast.scheduler)
    assert client.get(reverse("backoffice:autocomplete"), query).status_code == 200


# Issue 2: administrators manage staff, but never the owner role, an owner's row or their own
# role.


def test_it_lets_administrators_invite_a_scheduler(client, world):
    sign_in(client, world.cast.administrator)
    response = client.post(
        reverse("backoffice:agencies_staffmembership_add"),
        {"name": "Nina New", "email": "nina@mail.example", "role": StaffRole.SCHEDULER},
    )
    assert response.status_code == 302
    membership = StaffMembership.objects.get(name="Nina New")
    assert (membership.agency, membership.role) == (world.cast.sunrise, StaffRole.SCHEDULER)
    assert (membership.user.kind, membership.user.email) == ("staff", "nina@mail.example")
    assert not membership.user.has_usable_password()
    invitation = Invitation.objects.get(user=membership.user)
    assert (invitation.state, invitation.agency) == (InvitationState.QUEUED, world.cast.sunrise)


def test_it_lets_administrators_change_staff_but_never_make_an_owner(client, world):
    scheduler = world.cast.scheduler.staff_membership
    sign_in(client, world.cast.administrator)
    response = client.post(_url(scheduler), {"name": "Sam Renamed", "role": StaffRole.OWNER})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["role"]
    scheduler.refresh_from_db()
    assert scheduler.role == StaffRole.SCHEDULER

    response = client.post(_url(scheduler), {"name": "Sam Renamed", "role": StaffRole.BILLING})
    assert response.status_code == 302
    scheduler.refresh_from_db()
    assert (scheduler.name, scheduler.role) == ("Sam Renamed", StaffRole.BILLING)


def test_it_keeps_administrators_off_the_owners_row(client, world):
    owner = world.cast.owner.staff_membership
    name, role = owner.name, owner.role
    sign_in(client, world.cast.administrator)
    # Read only, as any row the role may see but not change; posting is forbidden.
    response = client.get(_url(owner))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    response = client.post(_url(owner), {"name": "Taken Over", "role": StaffRole.SCHEDULER})
    assert response.status_code == 403
    assert client.post(_url(owner, "delete"), {"post": "yes"}).status_code == 403
    owner.refresh_from_db()
    assert (owner.name, owner.role) == (name, role)


def test_it_keeps_administrators_from_changing_their_own_role(client, world):
    me = world.cast.administrator.staff_membership
    sign_in(client, world.cast.administrator)
    response = client.get(_url(me))
    assert "role" not in response.context["adminform"].form.fields
    response = client.post(_url(me), {"name": "Ada Admin", "role": StaffRole.OWNER})
    assert response.status_code == 302
    me.refresh_from_db()
    assert (me.name, me.role) == ("Ada Admin", StaffRole.ADMINISTRATOR)


def test_it_keeps_unlock_and_two_factor_reset_from_administrators(client, world):
    sign_in(client, world.cast.administrator)
    response = client.get(reverse("backoffice:agencies_staffmembership_changelist"))
    assert response.status_code == 200
    # No action is left for them at all (delete is the owner's too).
    assert response.context["action_form"] is None
    sign_in(client, world.cast.owner)
    response = client.get(reverse("backoffice:agencies_staffmembership_changelist"))
    actions = [value for value, _label in response.context["action_form"].fields["action"].choices]
    assert {"unlock_sign_in", "reset_two_factor_sign_in"} <= set(actions)


def test_it_still_lets_the_owner_manage_every_role(client, world):
    administrator = world.cast.administrator.staff_membership
    sign_in(client, world.cast.owner)
    add = reverse("backoffice:agencies_staffmembership_add")
    offered = client.get(add).context["adminform"].form.fields["role"].choices
    assert StaffRole.OWNER in [value for value, _label in offered]
    response = client.post(
        add, {"name": "Olga Owner", "email": "olga@mail.example", "role": StaffRole.OWNER}
    )
    assert response.status_code == 302
    assert StaffMembership.objects.get(name="Olga Owner").role == StaffRole.OWNER

    response = client.post(_url(administrator), {"name": "Ada", "role": StaffRole.OWNER})
    assert response.status_code == 302
    administrator.refresh_from_db()
    assert administrator.role == StaffRole.OWNER

    other_owner = StaffMembership.objects.get(name="Olga Owner")
    response = client.post(_url(other_owner), {"name": "Olga", "role": StaffRole.SCHEDULER})
    assert response.status_code == 302
    assert client.post(_url(other_owner, "delete"), {"post": "yes"}).status_code == 302
    assert not StaffMembership.objects.filter(pk=other_owner.pk).exists()

    # The owner's own role stays read only, and their own row cannot be deleted.
    me = world.cast.owner.staff_membership
    assert "role" not in client.get(_url(me)).context["adminform"].form.fields
    assert client.post(_url(me, "delete"), {"post": "yes"}).status_code == 403
