import re
from unittest import mock

from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from careportal.accounts.models import SessionRecord
from careportal.audit.models import AuditEvent
from tests.cast import PASSWORD

LOGIN = "/accounts/login/"


def _sign_in(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def _page(response, typed):
    """Return the page without what differs by design: the name typed and the CSRF token."""
    body = response.content.decode().replace(typed, "TYPED")
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", body)


def test_it_shows_the_sign_in_form(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Username or email" in body
    assert 'name="password"' in body
    assert "Show password" in body
    assert reverse("accounts:forgot_password") in body
    assert "Forgot password?" in body


def test_it_signs_a_portal_user_in_by_username_any_case(client, cast):
    response = _sign_in(client, "MARGARET.Hale")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")
    assert client.session["_auth_user_id"] == str(cast.margaret.user.pk)
    assert AuditEvent.objects.filter(action="signin.success", actor=cast.margaret.user).exists()


def test_it_signs_in_by_an_email_with_one_login(client, cast):
    response = _sign_in(client, "Tom.Hale@Mail.Example")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(cast.tom.pk)


def test_it_refuses_an_email_shared_by_two_logins(client, cast):
    cast.walter.user.email = cast.margaret.user.email
    cast.walter.user.save()
    response = _sign_in(client, cast.margaret.user.email)
    assert response.status_code == 400
    assert "type your username" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_answers_unknown_user_and_wrong_password_alike(client, cast):
    unknown = _sign_in(client, "nobody.here", "Whatever 123!")
    wrong = _sign_in(client, "tom.hale", "Whatever 123!")
    assert unknown.status_code == wrong.status_code == 400
    assert _page(unknown, "nobody.here") == _page(wrong, "tom.hale")
    assert AuditEvent.objects.filter(action="signin.failure").count() == 2


def test_it_runs_the_hasher_for_an_unknown_user(client, cast):
    with mock.patch.object(
        MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
    ) as encode:
        _sign_in(client, "nobody.here", "Whatever 123!")
    assert encode.call_count >= 1
    with mock.patch.object(
        MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
    ) as encode_known:
        _sign_in(client, "tom.hale", "Whatever 123!")
    assert encode.call_count == encode_known.call_count


def test_it_gives_a_new_session_key_at_sign_in(client, cast):
    client.get(LOGIN)
    session = client.session
    session["before"] = 1
    session.save()
    before = session.session_key
    _sign_in(client, "tom.hale")
    after = client.session.session_key
    assert after != before
    assert SessionRecord.objects.filter(user=cast.tom, session_key=after).exists()


def test_it_sends_staff_to_two_factor_then_back_office(client, cast):
    response = _sign_in(client, "olivia.owner")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two_factor")
    # Until two-factor is done, every other page leads there.
    response = client.get(reverse("backoffice:index"))
    assert response["Location"] == reverse("accounts:two_factor")


def test_it_keeps_a_staff_login_out_of_portal_next(client, cast):
    from careportal.accounts.views import _next_or_home

    _sign_in(client, "tom.hale", next="/backoffice/")
    assert client.session.get("_auth_user_id") == str(cast.tom.pk)
    request = mock.Mock(session={"careportal_next": "/backoffice/"}, user=cast.tom)
    request.get_host.return_value = "testserver"
    request.is_secure.return_value = False
    assert _next_or_home(request) == reverse("portal:dashboard")


def test_it_follows_a_portal_next(client, cast):
    response = _sign_in(client, "tom.hale", next="/accounts/settings/")
    assert response["Location"] == "/accounts/settings/"


def test_it_refuses_an_inactive_login(client, cast):
    cast.tom.is_active = False
    cast.tom.save()
    response = _sign_in(client, "tom.hale")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_it_forces_a_change_of_an_expired_password(client, cast):
    import datetime

    from django.utils import timezone

    cast.sunrise.password_expiry_days = 60
    cast.sunrise.save()
    cast.tom.password_changed_at = timezone.now() - datetime.timedelta(days=61)
    cast.tom.save()
    response = _sign_in(client, "tom.hale")
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change")
    assert AuditEvent.objects.filter(action="password.expired", actor=cast.tom).exists()
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 200
    assert "expired" in response.content.decode()
