import datetime
import re
from urllib.parse import urlsplit

import time_machine
from django.contrib.sessions.models import Session
from post_office.models import Email

from careportal.accounts.lockout import is_locked
from careportal.accounts.models import ForgotPasswordRequest, PasswordResetRequest
from careportal.accounts.recovery import process_reset_requests
from careportal.accounts.security import set_security_answer
from careportal.audit.models import AuditEvent
from tests.cast import PASSWORD

FORGOT = "/accounts/password/forgot/"
NEW = "Brand new Password 42!"


def _with_question(user):
    set_security_answer(user, "first_pet", "Rex the Dog")
    user.save()
    return user


def _ask(client, typed):
    """Ask on the page, then run the worker's step that resolves the name and sends."""
    response = client.post(FORGOT, {"username": typed})
    process_reset_requests()
    return response


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


def test_it_leaves_the_lookup_and_the_email_to_the_worker(client, cast):
    response = client.post(FORGOT, {"username": "tom.hale"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert not Email.objects.exists()
    row = ForgotPasswordRequest.objects.get()
    assert (row.typed, row.ip_address) == ("tom.hale", "203.0.113.9")

    assert process_reset_requests() == 1

    assert Email.objects.filter(to=cast.tom.email).count() == 1
    assert not ForgotPasswordRequest.objects.exists()
    event = AuditEvent.objects.get(action="password_reset.requested")
    assert (event.object_id, event.ip_address) == (str(cast.tom.pk), "203.0.113.9")
    # An unknown name is handled the same way and sends nothing.
    client.post(FORGOT, {"username": "nobody.here"})
    assert process_reset_requests() == 0
    assert Email.objects.count() == 1 and not ForgotPasswordRequest.objects.exists()


def test_it_answers_a_known_and_an_unknown_name_in_the_same_time(client, cast):
    import statistics
    import time

    def elapsed_ms(typed, n):
        # An address per try, so the per-address limit stays out of the measure.
        start = time.perf_counter()
        response = client.post(FORGOT, {"username": typed}, REMOTE_ADDR=f"203.0.113.{n}")
        took = (time.perf_counter() - start) * 1000
        assert response.status_code == 200
        return took

    for n in range(5):  # warm up: templates, translations, the first queries
        elapsed_ms("tom.hale", n), elapsed_ms("nobody.here", n)
    # 30 interleaved samples each, so a busy moment of the machine falls on both alike. The
    # machine is shared: a round disturbed by others is measured again, up to three times;
    # a real difference (a lookup, an email rendered for known names) shows in every round.
    medians = []
    for _round in range(3):
        known, unknown = [], []
        for n in range(30):
            known.append(elapsed_ms("tom.hale", n))
            unknown.append(elapsed_ms("nobody.here", n))
        medians.append((statistics.median(known), statistics.median(unknown)))
        if abs(medians[-1][0] - medians[-1][1]) < 4:
            break
    assert abs(medians[-1][0] - medians[-1][1]) < 4, medians


def test_it_kills_a_link_issued_before_a_sign_in(client, cast):
    tom = _with_question(cast.tom)
    _ask(client, "tom.hale")
    link = _link(Email.objects.get(to=tom.email))
    other = client.__class__()
    assert other.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})[
        "Location"
    ]
    assert client.get(link).status_code == 404


def test_it_pauses_forgot_password_for_an_address_past_its_limit(client, cast, monkeypatch):
    from careportal.accounts import throttle

    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 3)
    for _ in range(3):
        assert client.post(FORGOT, {"username": "tom.hale"}).status_code == 200
    response = client.post(FORGOT, {"username": "tom.hale"})
    assert response.status_code == 429
    assert "too many tries from your network" in response.content.decode()
    assert ForgotPasswordRequest.objects.count() == 3
    # Another address is not held back by this one.
    assert (
        client.post(FORGOT, {"username": "tom.hale"}, REMOTE_ADDR="198.51.100.7").status_code == 200
    )
