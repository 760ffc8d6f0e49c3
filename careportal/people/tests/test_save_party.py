"""`save_party` and `delete_party`: the one door for every party record."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from careportal.accounts.models import User
from careportal.audit.models import AuditEvent
from careportal.invitations.models import Invitation, InvitationState
from careportal.people.models import (
    Client,
    ClientStatus,
    EmergencyContact,
    PayerPerson,
    Relationship,
)
from careportal.people.services import delete_party, save_party


def test_it_creates_a_client_with_a_portal_login_and_a_queued_invitation(cast):
    iris = Client(first_name="Iris", last_name="North", email="iris@mail.example")

    save_party(party=iris, agency=cast.sunrise, actor=cast.administrator)

    iris.refresh_from_db()
    assert iris.agency == cast.sunrise
    assert iris.user.username == "iris.north" and iris.user.email == "iris@mail.example"
    assert Invitation.objects.get(user=iris.user).state == InvitationState.QUEUED
    event = AuditEvent.objects.get(action="party.created")
    assert (event.actor, event.object_id, event.agency) == (
        cast.administrator,
        str(iris.pk),
        cast.sunrise,
    )


def test_it_writes_nothing_for_a_bad_record(cast):
    nameless = EmergencyContact(client=cast.margaret, name="", relationship=Relationship.OTHER)

    with pytest.raises(ValidationError) as raised:
        save_party(party=nameless, agency=cast.sunrise, actor=cast.administrator)

    assert {"name", "relationship_other"} <= set(raised.value.message_dict)
    assert not EmergencyContact.objects.filter(name="").exists()
    assert not AuditEvent.objects.filter(action="party.created").exists()


def test_it_refuses_a_contact_of_another_agencys_client(cast):
    contact = EmergencyContact(
        client=cast.hank, name="Ida", relationship=Relationship.FRIEND, email="ida@mail.example"
    )

    with pytest.raises(ValidationError):
        save_party(party=contact, agency=cast.sunrise, actor=cast.administrator)

    assert not User.objects.filter(email="ida@mail.example").exists()


def test_it_moves_the_login_to_a_changed_email_and_names_the_changed_field(cast):
    tom = EmergencyContact.objects.get(user=cast.tom)
    tom.email = "tom@new.example"
    tom.phone = tom.phone  # unchanged fields are not named

    save_party(party=tom, agency=cast.sunrise, actor=cast.administrator)

    cast.tom.refresh_from_db()
    assert cast.tom.email == "tom@new.example"
    event = AuditEvent.objects.get(action="party.changed")
    assert event.detail["fields"] == ["email"]


def test_it_records_nothing_changed_for_a_save_without_changes(cast):
    save_party(party=cast.margaret, agency=cast.sunrise, actor=cast.administrator)

    assert not AuditEvent.objects.filter(action__startswith="party.").exists()


def test_it_ends_the_access_of_a_discharged_clients_only_contact(cast):
    margaret = Client.objects.get(pk=cast.margaret.pk)
    margaret.status = ClientStatus.DISCHARGED

    save_party(party=margaret, agency=cast.sunrise, actor=cast.administrator)

    cast.tom.refresh_from_db()
    cast.ellen.refresh_from_db()
    assert not cast.tom.is_active  # Tom is only Margaret's contact
    assert cast.ellen.is_active  # Ellen is Walter's contact and a payer's person too


def test_it_deletes_a_party_and_deactivates_a_login_left_alone(cast):
    paula_row = PayerPerson.objects.get(user=cast.paula)

    delete_party(party=paula_row, actor=cast.administrator)

    cast.paula.refresh_from_db()
    assert not cast.paula.is_active
    assert not PayerPerson.objects.filter(pk=paula_row.pk).exists()
    assert AuditEvent.objects.filter(action="party.deleted", actor=cast.administrator).exists()


def test_it_refuses_what_is_not_a_party(cast):
    with pytest.raises(TypeError):
        save_party(party=cast.caregiver, agency=cast.sunrise)
