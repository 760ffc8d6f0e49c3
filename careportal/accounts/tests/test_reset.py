import datetime
import re
from urllib.parse import urlsplit

import time_machine
from django.contrib.sessions.models import Session
from post_office.models import Email

from careportal.accounts.lockout import is_locked
from careportal.accounts.models import PasswordResetRequest
from careportal.accounts.security import set_security_answer
from careportal.audit.models import AuditEvent
from careportal.testing import PASSWORD

FORGOT = "/accounts/password/forgot/"
NEW = "Brand new Password 42!"


def _with_question(user):
    set_security_answer(user, "first_pet", "Rex the Dog")
    user.save()
    return user


def _ask(client, typed):
    return client.post(FORGOT, {"username": typed})


def _link(email):
    """Return the path of the emailed reset link."""
    url = re.search(r"https?://\S+/accounts/password/reset/\S+/", email.message).group(0)
    return urlsplit(url).path


def _open(client, link):
    response = client.get(link)
    assert response.status_code == 302
    return response["Location"]


def _submit(client, url, answer="rex  THE dog", password=NEW, confirm=None):
    return client.post(
        url, {"answer": answer, "new_password": password, "confirm_password": confirm or password}
    )


def test_it_answers_the_same_whether_or_not_the_account_exists(client, cast):
    known = _ask(client, "TOM.HALE")
    unknown = _ask(client, "nobody.here")
    assert known.status_code == unknown.status_code == 200
    assert "If that username or email address belongs" in known.content.decode()
    assert known.content.decode().count("junk mail") == unknown.content.decode().count("junk mail")
    assert Email.objects.filter(to=cast.tom.email).count() == 1
    assert Email.objects.count() == 1


def test_it_rate_limits_reset_emails_per_account(client, cast):
    for _ in range(5):
        assert _ask(client, "tom.hale").status_code == 200
    assert Email.objects.filter(to=cast.tom.email).count() == 3
    assert PasswordResetRequest.objects.filter(user=cast.tom).count() == 3
    assert AuditEvent.objects.filter(action="password_reset.rate_limited").count() == 2


def test_it_resets_with_the_link_and_the_answer(client, cast):
    tom = _with_question(cast.tom)
    other = client.__class__()
    other.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
    assert Session.objects.count() == 1
    for _ in range(3):
        client.post("/accounts/login/", {"username": "tom.hale", "password": "bad"})
    assert is_locked(tom)
    _ask(client, "tom.hale@mail.example")
    url = _open(client, _link(Email.objects.get(to=tom.email)))
    page = client.get(url)
    assert "What was the name of your first pet?" in page.content.decode()
    assert "New Password" in page.content.decode()
    assert "Confirm Password" in page.content.decode()
    response = _submit(client, url)
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.check_password(NEW)
    # Every other session ended, the lock lifted, the user told, the reset audited.
    assert not Session.objects.filter(session_key=other.session.session_key).exists()
    assert not is_locked(tom)
    assert Email.objects.filter(to=tom.email, subject__contains="password was changed").exists()
    assert AuditEvent.objects.filter(action="password.reset", object_id=str(tom.pk)).exists()
    # The link was good once.
    first_link = _link(Email.objects.get(to=tom.email, subject__contains="choose"))
    assert client.get(first_link).status_code == 404


def test_it_needs_the_right_answer(client, cast):
    tom = _with_question(cast.tom)
    _ask(client, "tom.hale")
    url = _open(client, _link(Email.objects.get(to=tom.email)))
    response = _submit(client, url, answer="Fido")
    assert response.status_code == 400
    assert "That answer is not the one we have" in response.content.decode()
    tom.refresh_from_db()
    assert tom.check_password(PASSWORD)


def test_it_needs_the_link(client, cast):
    tom = _with_question(cast.tom)
    _ask(client, "tom.hale")
    link = _link(Email.objects.get(to=tom.email))
    uid = link.rstrip("/").split("/")[-2]
    response = client.get(f"/accounts/password/reset/{uid}/set-password/")
    assert response.status_code == 404
    response = client.post(
        f"/accounts/password/reset/{uid}/set-password/",
        {"answer": "rex the dog", "new_password": NEW, "confirm_password": NEW},
    )
    assert response.status_code == 404
    tom.refresh_from_db()
    assert tom.check_password(PASSWORD)


def test_it_locks_the_reset_after_five_wrong_answers(client, cast):
    tom = _with_question(cast.tom)
    _ask(client, "tom.hale")
    url = _open(client, _link(Email.objects.get(to=tom.email)))
    for _ in range(4):
        assert _submit(client, url, answer="Fido").status_code == 400
    assert _submit(client, url, answer="Fido").status_code == 403
    response = _submit(client, url)
    assert response.status_code == 403
    tom.refresh_from_db()
    assert tom.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="password_reset.locked").count() == 1


def test_it_ends_the_link_after_one_hour(client, cast):
    tom = _with_question(cast.tom)
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        _ask(client, "tom.hale")
        link = _link(Email.objects.get(to=tom.email))
        clock.shift(datetime.timedelta(minutes=61))
        assert client.get(link).status_code == 404


def test_it_checks_the_new_password_against_the_policy(client, cast):
    tom = _with_question(cast.tom)
    _ask(client, "tom.hale")
    url = _open(client, _link(Email.objects.get(to=tom.email)))
    response = _submit(client, url, password="short")
    assert response.status_code == 400
    response = _submit(client, url, password=NEW, confirm=NEW + "x")
    assert "not the same" in response.content.decode()
    tom.refresh_from_db()
    assert tom.check_password(PASSWORD)
