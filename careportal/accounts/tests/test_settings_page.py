import re
from urllib.parse import urlsplit

from django.contrib.sessions.models import Session
from post_office.models import Email

from careportal.accounts.models import PasswordHistory, SessionRecord
from careportal.accounts.security import check_security_answer
from careportal.audit.models import AuditEvent
from tests.cast import PASSWORD

NEW = "Brand new Password 42!"


def _sign_in(client, username="tom.hale"):
    client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def test_it_asks_anonymous_visitors_to_sign_in(client, cast):
    response = client.get("/accounts/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_shows_the_account_settings(client, cast):
    _sign_in(client)
    response = client.get("/accounts/settings/")
    body = response.content.decode()
    assert response.status_code == 200
    for words in (
        "Change password",
        "Change security question",
        "Change email address",
        "Sign out everywhere",
        "tom.hale",
    ):
        assert words in body


def test_it_changes_the_password_and_ends_other_sessions(client, cast):
    other = client.__class__()
    _sign_in(other)
    _sign_in(client)
    response = client.post(
        "/accounts/settings/password/",
        {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    cast.tom.refresh_from_db()
    assert cast.tom.check_password(NEW)
    assert PasswordHistory.objects.filter(user=cast.tom).count() == 1
    assert SessionRecord.objects.filter(user=cast.tom).count() == 1
    assert Session.objects.filter(session_key=client.session.session_key).exists()
    assert AuditEvent.objects.filter(action="password.change", actor=cast.tom).exists()
    assert Email.objects.filter(to=cast.tom.email, subject__contains="password").exists()


def test_it_needs_the_current_password_to_change_it(client, cast):
    _sign_in(client)
    response = client.post(
        "/accounts/settings/password/",
        {"current_password": "wrong", "new_password": NEW, "confirm_password": NEW},
    )
    assert response.status_code == 400
    assert "That is not your current password." in response.content.decode()
    cast.tom.refresh_from_db()
    assert cast.tom.check_password(PASSWORD)


def test_it_keeps_a_login_that_must_change_on_change_password(client, cast):
    cast.tom.must_change_password = True
    cast.tom.save()
    _sign_in(client)
    assert client.get("/")["Location"] == "/accounts/settings/password/"
    assert client.get("/accounts/settings/")["Location"] == "/accounts/settings/password/"
    client.post(
        "/accounts/settings/password/",
        {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW},
    )
    assert client.get("/").status_code == 200


def test_it_changes_the_security_question_with_the_password(client, cast):
    _sign_in(client)
    response = client.post(
        "/accounts/settings/security-question/",
        {"current_password": "wrong", "security_question": "first_job", "answer": "Paper boy"},
    )
    assert response.status_code == 400
    response = client.post(
        "/accounts/settings/security-question/",
        {"current_password": PASSWORD, "security_question": "first_job", "answer": "Paper boy"},
    )
    assert response.status_code == 302
    cast.tom.refresh_from_db()
    assert cast.tom.security_question == "first_job"
    assert check_security_answer(cast.tom, "  paper   BOY ")
    assert AuditEvent.objects.filter(action="security_question.change", actor=cast.tom).exists()


def test_it_changes_the_email_after_the_new_address_confirms(client, cast):
    _sign_in(client)
    old = cast.tom.email
    response = client.post(
        "/accounts/settings/email/", {"current_password": PASSWORD, "email": "tom@new.example"}
    )
    assert response.status_code == 302
    cast.tom.refresh_from_db()
    assert cast.tom.email == old
    message = Email.objects.get(to="tom@new.example")
    link = urlsplit(re.search(r"https?://\S+/settings/email/confirm/\S+/", message.message)[0]).path
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    cast.tom.refresh_from_db()
    assert cast.tom.email == "tom@new.example"
    assert Email.objects.filter(to=old, subject__contains="email address was changed").exists()
    assert AuditEvent.objects.filter(action="email.changed", actor=cast.tom).exists()
    # The link works once, and never for another login.
    assert client.post(link).status_code == 404


def test_it_refuses_an_email_link_to_another_login(client, cast):
    _sign_in(client)
    client.post(
        "/accounts/settings/email/", {"current_password": PASSWORD, "email": "tom@new.example"}
    )
    message = Email.objects.get(to="tom@new.example")
    link = urlsplit(re.search(r"https?://\S+/settings/email/confirm/\S+/", message.message)[0]).path
    stranger = client.__class__()
    _sign_in(stranger, "stan.stranger")
    assert stranger.post(link).status_code == 404
    cast.stan.refresh_from_db()
    assert cast.stan.email != "tom@new.example"


def test_it_shows_the_password_rules_beside_new_password(client, cast):
    _sign_in(client)
    body = client.get("/accounts/settings/password/").content.decode()
    assert "Current Password" in body and "New Password" in body and "Confirm Password" in body
    assert 'data-for="id_new_password"' in body
    assert 'data-confirm="id_confirm_password"' in body
