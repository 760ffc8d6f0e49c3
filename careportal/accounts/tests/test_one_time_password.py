import re

from django.core import mail

from careportal.audit.models import AuditEvent
from careportal.invitations.models import Invitation
from careportal.invitations.outbox import deliver_invitations
from careportal.invitations.services import sync_portal_account
from careportal.people.models import Client

LOGIN = "/accounts/login/"


def _invite(cast, settings):
    settings.DELIVERY_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.POST_OFFICE = {
        **settings.POST_OFFICE,
        "BACKENDS": {"default": "django.core.mail.backends.locmem.EmailBackend"},
    }
    client = Client.objects.create(
        agency=cast.sunrise, first_name="June", last_name="New", email="june@mail.example"
    )
    sync_portal_account(party=client, previous_email=None)
    deliver_invitations()
    body = mail.outbox[-1].body
    link = re.search(r"^https?://\S+?(/accounts/setup/\S+/)$", body, re.M).group(1)
    username = re.search(r"^Username: (\S+)$", body, re.M).group(1)
    otp = re.search(r"^One-time password: (\S+)$", body, re.M).group(1)
    return link, username, otp


def test_it_sends_a_one_time_password_to_change_password(client, cast, settings):
    link, username, otp = _invite(cast, settings)
    response = client.post(LOGIN, {"username": username.upper(), "password": otp})
    assert response.status_code == 302
    # The link's signed token carries a timestamp: compare the invitation it names.
    assert Invitation.pk_from_token(response["Location"].split("/")[-2]) == (
        Invitation.pk_from_token(link.split("/")[-2])
    )
    # Not signed in: no other page opens until Change Password is done.
    assert "_auth_user_id" not in client.session
    assert client.get("/")["Location"].startswith(LOGIN)
    assert AuditEvent.objects.filter(action="signin.one_time_password").exists()


def test_it_refuses_a_one_time_password_while_locked(client, cast, settings):
    link, username, otp = _invite(cast, settings)
    for _ in range(3):
        client.post(LOGIN, {"username": username, "password": "wrong wrong"})
    response = client.post(LOGIN, {"username": username, "password": otp})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
