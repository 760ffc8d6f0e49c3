"""A portal login left with no relationship is deactivated (DESIGN.md section 4)."""

from __future__ import annotations

import datetime

from django.contrib.sessions.models import Session
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import ClientPayer, ClientStatus, EmergencyContact, PayerPerson
from careportal.people.services import review_portal_login
from tests.cast import sign_in as sign_in_without_two_factor


def _signed_in(user) -> Browser:
    return sign_in_without_two_factor(Browser(), user)


def _client_form(client_obj, **extra):
    data = {
        "first_name": client_obj.first_name,
        "last_name": client_obj.last_name,
        "status": client_obj.status,
        "email": client_obj.email,
    }
    for prefix in ("emergency_contacts", "payer_links", "residences"):
        data[f"{prefix}-TOTAL_FORMS"] = 0
        data[f"{prefix}-INITIAL_FORMS"] = 0
    data.update(extra)
    return data


def _refresh(*users):
    for user in users:
        user.refresh_from_db()


def test_it_deactivates_a_contact_removed_from_their_only_client(client, cast):
    tom = cast.tom
    toms_browser = _signed_in(tom)
    contact = EmergencyContact.objects.get(user=tom)
    sign_in(client, cast.administrator)

    url = reverse("backoffice:people_emergencycontact_delete", args=[contact.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302

    _refresh(tom)
    assert not tom.is_active
    assert not tom.session_records.exists()
    assert not Session.objects.filter(session_key=toms_browser.session.session_key).exists()
    assert toms_browser.get(reverse("portal:dashboard")).status_code == 302
    event = AuditEvent.objects.get(action="portal_account.deactivated")
    assert (event.actor, event.object_id, event.agency) == (
        cast.administrator,
        str(tom.pk),
        cast.sunrise,
    )


def test_it_keeps_a_login_that_still_has_a_relationship(client, cast):
    ellen = cast.ellen
    sign_in(client, cast.administrator)
    contact = EmergencyContact.objects.get(user=ellen, client=cast.margaret)

    client.post(
        reverse("backoffice:people_emergencycontact_delete", args=[contact.pk]), {"post": "yes"}
    )

    _refresh(ellen)
    assert ellen.is_active
    assert not AuditEvent.objects.filter(action="portal_account.deactivated").exists()


def test_it_deactivates_a_discharged_client_and_her_only_contacts(client, cast):
    margaret = cast.margaret
    sign_in(client, cast.owner)

    response = client.post(
        reverse("backoffice:people_client_change", args=[margaret.pk]),
        _client_form(margaret, status=ClientStatus.DISCHARGED),
    )

    assert response.status_code == 302
    _refresh(margaret.user, cast.tom, cast.ellen, cast.walter.user)
    assert not margaret.user.is_active
    assert not cast.tom.is_active  # a contact of Margaret alone
    assert cast.ellen.is_active and cast.walter.user.is_active
    assert AuditEvent.objects.filter(action="portal_account.deactivated").count() == 2


def test_it_gives_a_readmitted_client_her_login_back(client, cast):
    margaret = cast.margaret
    sign_in(client, cast.owner)
    url = reverse("backoffice:people_client_change", args=[margaret.pk])
    client.post(url, _client_form(margaret, status=ClientStatus.DISCHARGED))

    client.post(url, _client_form(margaret, status=ClientStatus.ACTIVE))

    _refresh(margaret.user, cast.tom)
    assert margaret.user.is_active and cast.tom.is_active
    assert AuditEvent.objects.filter(action="portal_account.reactivated").count() == 2


def test_it_deactivates_the_logins_of_a_deleted_client_and_kills_open_invitations(client, cast):
    rosa = cast.rosa
    Invitation.objects.create(agency=cast.sunrise, user=rosa.user, email=rosa.user.email)
    sign_in(client, cast.owner)

    response = client.post(
        reverse("backoffice:people_client_changelist"),
        {"action": "delete_selected", "_selected_action": [rosa.pk], "post": "yes"},
    )

    assert response.status_code == 302
    _refresh(rosa.user)
    assert not rosa.user.is_active
    assert Invitation.objects.get(user=rosa.user).state == InvitationState.EXPIRED


def test_it_keeps_a_payer_person_whose_links_all_ended(client, cast):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    sign_in(client, cast.administrator)
    for link in ClientPayer.objects.filter(payer=cast.atlas):
        client.post(
            reverse("backoffice:people_clientpayer_change", args=[link.pk]),
            {
                "client": link.client_id,
                "payer": link.payer_id,
                "start_date": link.start_date.isoformat(),
                "end_date": yesterday.isoformat(),
            },
        )
    assert not ClientPayer.objects.filter(payer=cast.atlas).active().exists()

    assert review_portal_login(user=cast.paula) is False
    _refresh(cast.paula)
    assert cast.paula.is_active


def test_it_deactivates_a_payer_person_removed_in_the_payers_form(client, cast):
    atlas, paula = cast.atlas, cast.paula
    person = PayerPerson.objects.get(user=paula)
    sign_in(client, cast.administrator)

    response = client.post(
        reverse("backoffice:people_payer_change", args=[atlas.pk]),
        {
            "name": atlas.name,
            "kind": atlas.kind,
            "people-TOTAL_FORMS": 1,
            "people-INITIAL_FORMS": 1,
            "people-0-id": person.pk,
            "people-0-payer": atlas.pk,
            "people-0-name": person.name,
            "people-0-email": person.email,
            "people-0-DELETE": "on",
            "client_links-TOTAL_FORMS": 0,
            "client_links-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert not PayerPerson.objects.filter(pk=person.pk).exists()
    _refresh(paula)
    assert not paula.is_active


def test_it_never_touches_staff_logins(cast):
    assert review_portal_login(user=cast.owner) is False
    _refresh(cast.owner)
    assert cast.owner.is_active
