"""Bulk invitations: many parties at once, in one transaction, a fixed number of queries."""

import pytest
from django.db.models.functions import Lower

from careportal.accounts.models import User
from careportal.audit.models import AuditEvent
from careportal.builders import make_login
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.outbox import deliver_invitations
from careportal.invitations.services import (
    SkipReason,
    choose_usernames,
    invite_parties,
    preview_invitations,
)
from careportal.people.models import (
    Client,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
)
from tests.cast import PASSWORD


def _clients(cast, count, *, first="James", last="Smith", email=True):
    return Client.objects.bulk_create(
        [
            Client(
                agency=cast.sunrise,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}{n}@mail.example" if email else "",
            )
            for n in range(count)
        ]
    )


def test_it_chooses_free_usernames_for_the_whole_batch(cast):
    make_login(cast.sunrise, "James.Smith", password=PASSWORD)
    make_login(cast.sunrise, "james.smith3", password=PASSWORD)

    names = choose_usernames(["james.smith", "june.park", "james.smith", "james.smith"])

    assert names == ["james.smith2", "june.park", "james.smith4", "james.smith5"]


def test_it_never_gives_one_name_to_two_bases(cast):
    names = choose_usernames(["zed.q1"] * 12 + ["zed.q11"] * 2)

    assert len(set(names)) == 14
    assert names[11] == "zed.q112"  # the twelfth of "zed.q1"
    assert names[12] == "zed.q11"


def test_it_looks_usernames_up_on_the_lowercase_index(cast, django_assert_max_num_queries):
    for n in range(1, 30):
        make_login(cast.sunrise, "ann.lee" if n == 1 else f"ann.lee{n}", password=PASSWORD)

    with django_assert_max_num_queries(4) as queries:
        names = choose_usernames(["ann.lee"] * 3)

    assert names == ["ann.lee30", "ann.lee31", "ann.lee32"]
    assert all("LOWER" in q["sql"] and "UPPER" not in q["sql"] for q in queries.captured_queries)


def test_it_invites_many_clients_in_a_fixed_number_of_queries(cast, django_assert_max_num_queries):
    small = _clients(cast, 3, first="Ann")
    with django_assert_max_num_queries(12) as few:
        invite_parties(agency=cast.sunrise, parties=small, actor=cast.owner)
    # 40: SQLite caps the parameters of one statement; PostgreSQL takes thousands.
    many = _clients(cast, 40, first="Bea")
    with django_assert_max_num_queries(len(few.captured_queries)):
        summary = invite_parties(agency=cast.sunrise, parties=many, actor=cast.owner)

    assert len(summary.invited) == 40
    users = User.objects.filter(client_record__in=many)
    assert users.count() == 40
    assert sorted(users.values_list("username", flat=True))[:3] == [
        "bea.smith",
        "bea.smith10",
        "bea.smith11",
    ]
    assert all(u.must_change_password and not u.has_usable_password() for u in users)
    invitations = Invitation.objects.filter(user__in=users)
    assert invitations.count() == 40
    assert set(invitations.values_list("state", flat=True)) == {InvitationState.QUEUED}
    assert set(invitations.values_list("created_by", flat=True)) == {cast.owner.pk}
    event = AuditEvent.objects.filter(action="invitation.bulk_queued").latest("pk")
    assert event.detail["invited"] == 40 and event.actor == cast.owner


def test_it_skips_no_email_already_invited_and_signed_up(cast):
    no_email = _clients(cast, 1, first="Noe", email=False)
    invited = _clients(cast, 1, first="Ivy")
    invite_parties(agency=cast.sunrise, parties=invited)
    new = _clients(cast, 1, first="Nia")
    parties = [cast.margaret, *no_email, *invited, *new]

    preview = preview_invitations(agency=cast.sunrise, parties=parties)
    summary = invite_parties(agency=cast.sunrise, parties=parties)

    for result in (preview, summary):
        assert result.invited == new
        assert result.skipped[SkipReason.NO_EMAIL] == no_email
        assert result.skipped[SkipReason.INVITED] == invited
        assert result.skipped[SkipReason.SIGNED_UP] == [cast.margaret]
    assert dict(summary.skipped_counts()) == {
        "no email": 1,
        "already invited": 1,
        "already signed up": 1,
    }
    assert Invitation.objects.filter(user__client_record__in=invited).count() == 1


def test_it_writes_nothing_on_preview(cast):
    parties = _clients(cast, 2)
    before = (User.objects.count(), Invitation.objects.count())

    preview_invitations(agency=cast.sunrise, parties=parties)

    assert (User.objects.count(), Invitation.objects.count()) == before


def test_it_invites_again_a_login_whose_invitation_died(cast):
    client = _clients(cast, 1, first="Eve")[0]
    invite_parties(agency=cast.sunrise, parties=[client])
    Invitation.objects.filter(user__client_record=client).update(state=InvitationState.EXPIRED)

    summary = invite_parties(agency=cast.sunrise, parties=[client])

    assert summary.invited == [client]
    states = Invitation.objects.filter(user__client_record=client).values_list("state", flat=True)
    assert sorted(states) == [InvitationState.EXPIRED, InvitationState.QUEUED]


def test_it_invites_a_community_through_a_new_person_from_its_email(cast):
    community = Community.objects.create(
        agency=cast.sunrise, name="Oak Court", contact_person="Olive Oak", email="desk@oak.example"
    )

    summary = invite_parties(agency=cast.sunrise, parties=[community])

    person = CommunityPerson.objects.get(community=community)
    assert summary.invited == [person]
    assert person.email == "desk@oak.example" and person.user.username == "olive.oak"
    assert Invitation.objects.filter(user=person.user, state=InvitationState.QUEUED).exists()


def test_it_links_a_person_to_the_login_their_email_already_has(cast):
    contact = EmergencyContact.objects.create(
        agency=cast.sunrise, client=cast.rosa, name="Ellen Hale", email=cast.ellen.email.upper()
    )
    same_twice = [
        EmergencyContact.objects.create(
            agency=cast.sunrise, client=client, name="Kim Ray", email="kim@mail.example"
        )
        for client in (cast.rosa, cast.sam)
    ]
    invitations_before = Invitation.objects.count()

    summary = invite_parties(agency=cast.sunrise, parties=[contact, *same_twice])

    contact.refresh_from_db()
    assert contact.user == cast.ellen
    assert summary.linked == [contact, same_twice[1]]
    assert summary.invited == [same_twice[0]]
    kim = EmergencyContact.objects.filter(pk__in=[c.pk for c in same_twice])
    assert len(set(kim.values_list("user", flat=True))) == 1
    assert Invitation.objects.count() == invitations_before + 1


def test_it_refuses_another_agencys_party_and_writes_nothing(cast):
    before = Invitation.objects.count()

    with pytest.raises(ValueError, match="is not of the agency"):
        invite_parties(agency=cast.sunrise, parties=[*_clients(cast, 1), cast.hank])

    assert Invitation.objects.count() == before


def test_it_delivers_the_bulk_invitations(cast, sent_invitation):
    payer = Payer.objects.create(agency=cast.sunrise, name="Pine Health", email="a@pine.example")
    invite_parties(agency=cast.sunrise, parties=[payer])

    _link, username, otp = sent_invitation()

    user = User.objects.alias(lower=Lower("username")).get(lower=username)
    invitation = Invitation.objects.get(user=user)
    assert invitation.state == InvitationState.SENT
    assert invitation.check_one_time_password(otp)
    assert deliver_invitations() == 0
