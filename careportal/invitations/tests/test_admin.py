from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from careportal.backoffice.site import backoffice_site
from careportal.invitations.admin import InvitationAdmin
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.services import queue_invitation


def _request(user):
    request = RequestFactory().post("/backoffice/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_it_resends_only_the_staff_members_agencys_invitations(cast):
    mine = queue_invitation(user=cast.margaret.user)
    theirs = queue_invitation(user=cast.hank.user)
    for user in (cast.margaret.user, cast.hank.user):
        user.must_change_password = True
        user.save()
    model_admin = InvitationAdmin(Invitation, backoffice_site)
    request = _request(cast.owner)

    model_admin.resend_selected(request, Invitation.objects.all())

    assert [str(m) for m in request._messages] == [
        "1 invitation queued with a new one-time password."
    ]
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.state == InvitationState.SUPERSEDED
    assert theirs.state == InvitationState.QUEUED
    assert Invitation.objects.filter(user=cast.margaret.user, created_by=cast.owner).count() == 1


def test_it_shows_invitations_read_only_to_those_who_manage_people(cast):
    model_admin = InvitationAdmin(Invitation, backoffice_site)
    owner, billing = _request(cast.owner), _request(cast.billing)

    assert model_admin.has_view_permission(owner) and model_admin.has_change_permission(owner)
    assert not model_admin.has_add_permission(owner)
    assert not model_admin.has_delete_permission(owner)
    assert not model_admin.has_module_permission(billing)
    queue_invitation(user=cast.hank.user)
    assert not model_admin.get_queryset(owner).exists()


def test_it_lists_invitations_and_their_state_in_the_back_office(client, cast):
    from django.urls import reverse

    from careportal.backoffice.tests.conftest import sign_in

    invitation = queue_invitation(user=cast.margaret.user)
    Invitation.objects.filter(pk=invitation.pk).update(
        state=InvitationState.RETRYING, last_error="SMTPServerDisconnected: down"
    )
    queue_invitation(user=cast.hank.user)
    url = reverse("backoffice:invitations_invitation_changelist")

    response = sign_in(client, cast.owner).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Failed, retrying" in html and "Margaret" in html and "Hank" not in html
    assert "Resend invitation" in html

    client.logout()
    assert sign_in(client, cast.billing).get(url).status_code == 404


def test_it_shows_staff_why_an_invitation_is_retrying(client, cast):
    from django.urls import reverse

    from careportal.backoffice.tests.conftest import sign_in

    invitation = queue_invitation(user=cast.margaret.user)
    Invitation.objects.filter(pk=invitation.pk).update(
        state=InvitationState.RETRYING,
        last_error="SMTPRecipientsRefused: 550 5.1.1 No such mailbox here",
    )

    response = sign_in(client, cast.owner).get(
        reverse("backoffice:invitations_invitation_changelist")
    )

    assert "550 5.1.1 No such mailbox here" in response.content.decode()


def test_it_sends_portal_invitations_from_the_clients_list_after_a_confirmation(client, cast):
    from django.urls import reverse

    from careportal.backoffice.tests.conftest import sign_in
    from careportal.people.models import Client

    june = Client.objects.create(
        agency=cast.sunrise, first_name="June", last_name="Park", email="june@mail.example"
    )
    nomail = Client.objects.create(agency=cast.sunrise, first_name="No", last_name="Mail")
    url = reverse("backoffice:people_client_changelist")
    chosen = [june.pk, nomail.pk, cast.margaret.pk, cast.hank.pk]
    form = {"action": "send_portal_invitations", "_selected_action": chosen}
    sign_in(client, cast.owner)

    assert "Send portal invitations" in client.get(url).content.decode()
    page = client.post(url, form)

    assert page.status_code == 200
    html = page.content.decode()
    assert "1 will get a portal login" in html
    assert "No email: 1" in html and "Already signed up: 1" in html
    assert not Invitation.objects.filter(user__client_record=june).exists()

    done = client.post(url, {**form, "confirm": "yes"}, follow=True)

    june.refresh_from_db()
    assert june.user is not None and june.user.username == "june.park"
    assert Invitation.objects.filter(user=june.user, state=InvitationState.QUEUED).exists()
    assert cast.hank.user.invitations.count() == 0
    messages = [str(m) for m in done.context["messages"]]
    assert "1 portal invitation queued." in messages
    assert "Skipped, no email: 1." in messages


def test_it_offers_the_invitations_only_to_staff_who_may_change_people(client, cast):
    from django.urls import reverse

    from careportal.backoffice.tests.conftest import sign_in

    url = reverse("backoffice:people_client_changelist")
    sign_in(client, cast.scheduler)
    response = client.get(url)

    assert response.status_code in (200, 404)
    assert "Send portal invitations" not in response.content.decode()
