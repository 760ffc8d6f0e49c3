"""A confirmed email change reaches every party record of the login."""

from __future__ import annotations

from django.urls import reverse

from careportal.accounts.models import User
from careportal.accounts.tokens import email_change_token
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from careportal.invitations.models import Invitation
from careportal.people.models import EmergencyContact, PayerPerson

NEW_EMAIL = "ellen@new.example"


def _confirm_new_email(browser, user, new_email=NEW_EMAIL):
    browser.force_login(user)
    token = email_change_token(user, new_email)
    response = browser.post(reverse("accounts:email_confirm", args=[token]))
    assert response.status_code == 302
    browser.logout()


def test_it_gives_every_party_record_of_the_login_the_new_email(client, cast):
    _confirm_new_email(client, cast.ellen)

    cast.ellen.refresh_from_db()
    assert cast.ellen.email == NEW_EMAIL
    contacts = EmergencyContact.objects.filter(user=cast.ellen)
    assert sorted(contacts.values_list("client__first_name", flat=True)) == ["Margaret", "Walter"]
    assert set(contacts.values_list("email", flat=True)) == {NEW_EMAIL}
    assert PayerPerson.objects.get(user=cast.ellen).email == NEW_EMAIL
    # Tom's record, another login's, is left alone.
    assert EmergencyContact.objects.get(user=cast.tom).email == cast.tom.email
    assert AuditEvent.objects.filter(action="party.email_changed", actor=cast.ellen).count() == 3


def test_it_gives_a_clients_record_the_new_email_of_their_login(client, cast):
    _confirm_new_email(client, cast.margaret.user, "maggie@new.example")

    cast.margaret.refresh_from_db()
    assert cast.margaret.email == "maggie@new.example"
    assert AuditEvent.objects.filter(
        action="party.email_changed", object_id=str(cast.margaret.pk)
    ).exists()


def test_it_makes_no_new_login_when_staff_later_save_the_record(client, cast):
    _confirm_new_email(client, cast.ellen)
    contact = EmergencyContact.objects.get(user=cast.ellen, client=cast.margaret)
    logins = User.objects.count()
    sign_in(client, cast.owner)

    response = client.post(
        reverse("backoffice:people_emergencycontact_change", args=[contact.pk]),
        {
            "client": contact.client_id,
            "name": contact.name,
            "relationship": contact.relationship,
            "email": contact.email,
            "phone": "555-0100",
        },
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.phone == "555-0100"
    assert contact.user == cast.ellen
    assert User.objects.count() == logins
    assert not Invitation.objects.exists()


def test_it_asks_for_a_whole_email_address_in_plain_words(client, cast):
    from tests.cast import PASSWORD

    client.force_login(cast.ellen)

    response = client.post(
        reverse("accounts:email_change"),
        {"email": "ellen-at-home", "current_password": PASSWORD},
        headers={"accept-language": "es"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    # Not Django's Spain-style "Introduzca una dirección de correo electrónico válida."
    assert "Introduzca" not in body
    assert "Escriba un correo electrónico completo" in body
    cast.ellen.refresh_from_db()
    assert cast.ellen.email != "ellen-at-home"
