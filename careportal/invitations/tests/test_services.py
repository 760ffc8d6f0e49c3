import pytest
from django.core import mail
from django.db import transaction
from post_office.models import Email

from careportal.accounts.models import User
from careportal.agencies.models import StaffMembership, StaffRole
from careportal.audit.models import AuditEvent
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.outbox import deliver_invitations
from careportal.invitations.services import (
    invite_staff,
    resend_invitation,
    sync_portal_account,
)
from careportal.people.models import (
    Client,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
)


def _new_client(cast, email="june@mail.example", first="June", last="Park"):
    client = Client.objects.create(
        agency=cast.sunrise, first_name=first, last_name=last, email=email
    )
    sync_portal_account(party=client, previous_email=None, actor=cast.owner)
    client.refresh_from_db()
    return client


def test_it_creates_a_login_and_queues_the_invitation(cast):
    client = _new_client(cast)

    user = client.user
    assert user.username == "june.park"
    assert user.kind == "portal" and user.agency == cast.sunrise
    assert user.must_change_password and not user.has_usable_password()
    invitation = Invitation.objects.get(user=user)
    assert invitation.state == InvitationState.QUEUED
    assert invitation.email == "june@mail.example"
    assert invitation.otp_hash == ""  # made by the worker, at send time
    assert invitation.created_by == cast.owner
    assert AuditEvent.objects.filter(action="invitation.queued", object_id=str(invitation.pk))


def test_it_makes_usernames_unique_across_agencies(cast):
    # margaret.hale exists in Sunrise; Harbor's Margaret Hale needs another name.
    client = Client.objects.create(
        agency=cast.harbor, first_name="Margaret", last_name="Hale", email="mh@mail.example"
    )
    sync_portal_account(party=client, previous_email=None)
    client.refresh_from_db()

    assert client.user.username == "margaret.hale2"


def test_it_gives_a_client_their_own_login_even_when_the_email_is_shared(cast):
    client = _new_client(cast, email=cast.ellen.email, first="Ada", last="Hale")

    assert client.user != cast.ellen
    assert client.user.email == cast.ellen.email
    assert Invitation.objects.filter(user=client.user).count() == 1


def test_it_links_a_contact_to_an_existing_login_without_new_credentials(cast):
    contact = EmergencyContact.objects.create(
        agency=cast.sunrise,
        client=cast.rosa,
        name="Ellen Hale",
        relationship="friend",
        email=cast.ellen.email.upper(),
    )
    sync_portal_account(party=contact, previous_email=None)
    contact.refresh_from_db()

    assert contact.user == cast.ellen
    assert not Invitation.objects.filter(user=cast.ellen).exists()
    notice = Email.objects.get(to=cast.ellen.email)
    assert "You can now also see Rosa Diaz's information on the portal" in notice.message
    assert "One-time password" not in notice.message


def test_it_never_links_a_contact_to_a_clients_login(cast):
    contact = EmergencyContact.objects.create(
        agency=cast.sunrise,
        client=cast.walter,
        name="Margaret Hale",
        relationship="spouse",
        email=cast.margaret.user.email,
    )
    sync_portal_account(party=contact, previous_email=None)
    contact.refresh_from_db()

    assert contact.user != cast.margaret.user
    assert Invitation.objects.filter(user=contact.user).exists()


def test_it_invites_the_new_address_and_tells_the_old_one(cast):
    client = _new_client(cast)
    old_invitation = Invitation.objects.get(user=client.user)
    client.email = "june.new@mail.example"
    client.save()
    sync_portal_account(party=client, previous_email="june@mail.example")

    client.user.refresh_from_db()
    assert client.user.email == "june.new@mail.example"
    old_invitation.refresh_from_db()
    assert old_invitation.state == InvitationState.SUPERSEDED
    new = Invitation.objects.get(user=client.user, state=InvitationState.QUEUED)
    assert new.email == "june.new@mail.example"
    told = Email.objects.get(to="june@mail.example")
    assert "changed the email address" in told.message


def test_it_moves_a_contacts_own_login_to_the_new_address(cast):
    contact = EmergencyContact.objects.create(
        agency=cast.sunrise,
        client=cast.sam,
        name="Lia Lee",
        relationship="niece",
        email="lia@mail.example",
    )
    sync_portal_account(party=contact, previous_email=None)
    contact.refresh_from_db()
    login = contact.user
    contact.email = "lia.lee@mail.example"
    contact.save()
    sync_portal_account(party=contact, previous_email="lia@mail.example")

    contact.refresh_from_db()
    assert contact.user == login
    assert login.__class__.objects.get(pk=login.pk).email == "lia.lee@mail.example"
    assert Invitation.objects.get(user=login, state=InvitationState.QUEUED).email == (
        "lia.lee@mail.example"
    )
    assert Email.objects.filter(to="lia@mail.example").exists()


def test_it_makes_a_payers_own_email_its_first_portal_user(cast):
    payer = Payer.objects.create(
        agency=cast.sunrise,
        name="Medicaid Waiver Office",
        contact_person="Carl Case",
        email="carl@medicaid.example",
    )
    sync_portal_account(party=payer, previous_email=None)

    person = PayerPerson.objects.get(payer=payer)
    assert person.name == "Carl Case"
    assert person.user.username == "carl.case"
    assert Invitation.objects.filter(user=person.user, state="queued").exists()


def test_it_makes_a_communitys_own_email_its_first_portal_user(cast):
    cast.maple.email = "desk@maple.example"
    cast.maple.save()
    sync_portal_account(party=cast.maple, previous_email=None)

    person = CommunityPerson.objects.get(community=cast.maple, email="desk@maple.example")
    assert person.name == "Maple Grove"
    assert Invitation.objects.filter(user=person.user).exists()


def test_it_invites_staff_with_a_role(cast):
    user = invite_staff(
        agency=cast.sunrise,
        name="Nina Nurse",
        email="nina@sunrise.example",
        role=StaffRole.SCHEDULER,
        actor=cast.owner,
        request=None,
    )

    assert user.kind == "staff" and user.is_staff
    assert StaffMembership.objects.get(user=user).role == StaffRole.SCHEDULER
    assert Invitation.objects.get(user=user).state == InvitationState.QUEUED
    deliver_invitations()
    assert "back office" in mail.outbox[-1].body


@pytest.mark.django_db(transaction=True)
def test_it_sends_nothing_when_the_save_is_rolled_back(cast):
    with pytest.raises(RuntimeError), transaction.atomic():
        client = Client.objects.create(
            agency=cast.sunrise, first_name="Roll", last_name="Back", email="rb@mail.example"
        )
        sync_portal_account(party=client, previous_email=None)
        contact = EmergencyContact.objects.create(
            agency=cast.sunrise,
            client=cast.rosa,
            name="Ellen Hale",
            relationship="friend",
            email=cast.ellen.email,
        )
        sync_portal_account(party=contact, previous_email=None)
        raise RuntimeError("the back office form failed after saving")

    assert deliver_invitations() == 0
    assert mail.outbox == []
    assert not Invitation.objects.exists()
    assert not Email.objects.exists()
    assert not User.objects.filter(username="roll.back").exists()


def test_it_resends_with_a_new_password_and_kills_the_old_one(cast):
    client = _new_client(cast)
    deliver_invitations()
    first = Invitation.objects.get(user=client.user)
    old_otp = mail.outbox[-1].body.split("One-time password: ")[1].split()[0]
    assert first.check_one_time_password(old_otp)

    new = resend_invitation(invitation=first, actor=cast.owner, request=None)
    deliver_invitations()

    first.refresh_from_db()
    assert first.state == InvitationState.SUPERSEDED
    assert not first.check_one_time_password(old_otp)
    new.refresh_from_db()
    new_otp = mail.outbox[-1].body.split("One-time password: ")[1].split()[0]
    assert new_otp != old_otp and new.check_one_time_password(new_otp)
    assert AuditEvent.objects.filter(action="invitation.resent", actor=cast.owner).exists()


def test_it_does_not_duplicate_a_payers_person_added_with_it(cast):
    payer = Payer.objects.create(
        agency=cast.sunrise, name="County Office", email="desk@county.example"
    )
    person = PayerPerson.objects.create(
        agency=cast.sunrise, payer=payer, name="Desk", email="desk@county.example"
    )
    sync_portal_account(party=person, previous_email=None)
    sync_portal_account(party=payer, previous_email=None)

    assert PayerPerson.objects.filter(payer=payer).count() == 1
    assert Invitation.objects.filter(email="desk@county.example").count() == 1


def test_it_tells_the_old_address_even_without_the_previous_email(cast):
    contact = EmergencyContact.objects.create(
        agency=cast.sunrise,
        client=cast.sam,
        name="Lia Lee",
        relationship="niece",
        email="lia@mail.example",
    )
    sync_portal_account(party=contact, previous_email=None)
    contact.refresh_from_db()
    contact.email = "lia.lee@mail.example"
    contact.save()
    sync_portal_account(party=contact, previous_email=None)

    assert Email.objects.filter(to="lia@mail.example").exists()
    contact.refresh_from_db()
    assert contact.user.email == "lia.lee@mail.example"


def test_it_touches_no_login_when_the_records_email_did_not_change(cast):
    # Ellen's login moved to a new address without her records following (older data):
    # saving one of those records for another field must neither invite nor relink.
    cast.ellen.email = "ellen@new.example"
    cast.ellen.save(update_fields=["email"])
    contact = EmergencyContact.objects.get(user=cast.ellen, client=cast.margaret)
    contact.phone = "555-0100"
    contact.save()
    logins = User.objects.count()

    sync_portal_account(party=contact, previous_email=f" {contact.email.upper()} ")

    contact.refresh_from_db()
    assert contact.user == cast.ellen
    assert User.objects.count() == logins
    assert not Invitation.objects.exists()
    assert not Email.objects.exists()
