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
