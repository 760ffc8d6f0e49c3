"""Forms that ask for the current password count wrong answers with sign-in's failures."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt, AccessFailureLog

from careportal.accounts.lockout import is_locked
from careportal.accounts.twofactor import new_recovery_codes
from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in
from tests.cast import PASSWORD

WRONG = "Wrong password 1!"


def _portal_sign_in(client, cast):
    response = client.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
    assert response.status_code == 302
    return cast.tom


RECHECKS = {
    "email": ("/accounts/settings/email/", {"email": "new@mail.example"}, "current_password"),
    "security question": (
        "/accounts/settings/security-question/",
        {"security_question": "first_pet", "answer": "Rex"},
        "current_password",
    ),
    "password": (
        "/accounts/settings/password/",
        {"new_password": "Brand new Password 42!", "confirm_password": "Brand new Password 42!"},
        "current_password",
    ),
}


@pytest.mark.parametrize("form", list(RECHECKS))
def test_it_locks_and_signs_out_after_three_wrong_current_passwords(client, cast, form):
    path, data, field = RECHECKS[form]
    tom = _portal_sign_in(client, cast)
    for _ in range(2):
        response = client.post(path, {**data, field: WRONG})
        assert response.status_code == 400
        assert "That is not your current password." in response.content.decode()
    assert not is_locked(tom)

    third = client.post(path, {**data, field: WRONG})

    assert third.status_code == 403
    assert "locked" in third.content.decode()
    assert is_locked(tom)
    assert "_auth_user_id" not in client.session
    # Sign-in is locked as after three wrong passwords there.
    other = client.__class__()
    signin = other.post("/accounts/login/", {"username": "tom.hale", "password": PASSWORD})
    assert signin.status_code == 403
    assert AuditEvent.objects.filter(action="password.recheck_failure").count() == 3
    assert AuditEvent.objects.filter(action="account.locked", object_id=str(tom.pk)).count() == 1
    # What was typed is not kept by the lockout's records.
    assert not any(WRONG in attempt.post_data for attempt in AccessAttempt.objects.all())


def test_it_counts_recheck_failures_with_sign_in_failures(client, cast):
    other = client.__class__()
    assert (
        other.post("/accounts/login/", {"username": "tom.hale", "password": WRONG}).status_code
        == 400
    )
    tom = _portal_sign_in(client, cast)  # a success forgets earlier failures, as sign-in does
    client.post("/accounts/settings/email/", {"email": "n@mail.example", "current_password": WRONG})
    client.post("/accounts/settings/email/", {"email": "n@mail.example", "current_password": WRONG})
    assert (
        other.post("/accounts/login/", {"username": "tom.hale", "password": WRONG}).status_code
        == 403
    )
    assert is_locked(tom)
    assert AccessFailureLog.objects.filter(username="tom.hale").count() == 3


def test_it_ends_another_session_of_a_locked_login_that_rechecks(client, cast):
    tom = _portal_sign_in(client, cast)
    second = client.__class__()
    _portal_sign_in(second, cast)
    for _ in range(3):
        client.post(
            "/accounts/settings/email/", {"email": "n@mail.example", "current_password": WRONG}
        )
    assert is_locked(tom)

    # The second session's right password does not get through the lock either.
    response = second.post(
        "/accounts/settings/email/", {"email": "n@mail.example", "current_password": PASSWORD}
    )

    assert response.status_code == 403
    assert "_auth_user_id" not in second.session
    tom.refresh_from_db()
    assert tom.email == "tom.hale@mail.example"


def test_it_counts_wrong_passwords_on_two_step_sign_in_off_and_new_codes(client, cast):
    sign_in(client, cast.owner)
    new_recovery_codes(cast.owner)
    assert (
        client.post(
            "/accounts/two-factor/recovery-codes/", {"renew-current_password": WRONG}
        ).status_code
        == 400
    )
    # Staff cannot turn it off (required), so the turn-off form is proved on a portal login.
    assert (
        client.post(
            "/accounts/two-factor/recovery-codes/", {"renew-current_password": WRONG}
        ).status_code
        == 400
    )
    third = client.post("/accounts/two-factor/recovery-codes/", {"renew-current_password": WRONG})
    assert third.status_code == 403
    assert is_locked(cast.owner)


def test_it_counts_wrong_passwords_on_turning_two_step_sign_in_off(client, cast):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    tom = _portal_sign_in(client, cast)
    TOTPDevice.objects.create(user=tom, name="app", confirmed=True)
    for _ in range(2):
        assert (
            client.post("/accounts/two-factor/turn-off/", {"current_password": WRONG}).status_code
            == 400
        )
    third = client.post("/accounts/two-factor/turn-off/", {"current_password": WRONG})
    assert third.status_code == 403
    assert is_locked(tom)
    assert TOTPDevice.objects.filter(user=tom).exists()
