"""Django's /admin/ shows operators only what they need: read-only, no secret, audited."""

from __future__ import annotations

from axes.models import AccessFailureLog
from django.contrib import admin
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from post_office.models import STATUS, Email, Log

from careportal.audit.models import AuditEvent
from careportal.backoffice.site import OPERATOR_HIDDEN_MODELS
from careportal.backoffice.tests.conftest import sign_in
from careportal.builders import make_login
from tests.cast import PASSWORD

SECRET_LINK = "https://portal.example.org/accounts/password/reset/MQ/secret-token/"


def _operator(client):
    operator = make_login(
        None, "otto.operator", password=PASSWORD, kind="operator", is_staff=True, is_superuser=True
    )
    sign_in(client, operator)
    return operator


def _email():
    email = Email.objects.create(
        from_email="no-reply@careportal.local",
        to=["tom.hale@mail.example"],
        subject="Choose a new password",
        message=f"Open {SECRET_LINK}",
        html_message=f'<a href="{SECRET_LINK}">Open</a>',
        status=STATUS.failed,
    )
    Log.objects.create(
        email=email, status=STATUS.failed, exception_type="SMTPRecipientsRefused", message="550"
    )
    return email


def test_it_takes_off_what_operators_do_not_need(client, db):
    _operator(client)
    registered = {model._meta.label for model in admin.site._registry}
    for label in ("auth.Group", "otp_totp.TOTPDevice", "otp_static.StaticDevice"):
        assert label not in registered
    assert "django_tasks_database.DBTaskResult" not in registered
    assert {"axes.AccessAttempt", "axes.AccessLog", "post_office.Log"}.isdisjoint(registered)
    assert len(OPERATOR_HIDDEN_MODELS) == 11
    for path in (
        "/admin/otp_totp/totpdevice/",
        "/admin/otp_static/staticdevice/",
        "/admin/django_tasks_database/dbtaskresult/",
        "/admin/axes/accessattempt/",
        "/admin/post_office/emailtemplate/",
        "/admin/auth/group/",
    ):
        assert client.get(path).status_code == 404, path


def test_it_shows_an_emails_state_without_its_body_and_audits_the_look(client, db):
    operator = _operator(client)
    email = _email()

    listing = client.get("/admin/post_office/email/")
    page = client.get(f"/admin/post_office/email/{email.pk}/change/")

    assert listing.status_code == page.status_code == 200
    for response in (listing, page):
        body = response.content.decode()
        assert "tom.hale@mail.example" in body and "Choose a new password" in body
        assert "secret-token" not in body
    assert "SMTPRecipientsRefused: 550" in page.content.decode()
    events = AuditEvent.objects.filter(action="operator.viewed", actor=operator)
    assert events.count() == 2
    assert events.filter(object_id=str(email.pk), detail__model="post_office.email").exists()


def test_it_lets_no_operator_change_or_delete_an_email(client, db):
    _operator(client)
    email = _email()
    response = client.post(
        f"/admin/post_office/email/{email.pk}/change/", {"message": "changed", "status": 0}
    )
    assert response.status_code == 403
    assert (
        client.post(f"/admin/post_office/email/{email.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/post_office/email/add/").status_code == 403
    email.refresh_from_db()
    assert email.message.startswith("Open ") and email.status == STATUS.failed


def test_it_shows_lockouts_without_what_was_typed(client, db):
    operator = _operator(client)
    failure = AccessFailureLog.objects.create(
        username="tom.hale",
        ip_address="203.0.113.5",
        user_agent="Browser",
        http_accept="*/*",
        path_info="/accounts/login/",
        attempt_time=timezone.now(),
        locked_out=True,
    )
    listing = client.get("/admin/axes/accessfailurelog/")
    assert listing.status_code == 200 and "tom.hale" in listing.content.decode()
    page = client.get(f"/admin/axes/accessfailurelog/{failure.pk}/change/")
    assert page.status_code == 200
    assert (
        client.post(
            f"/admin/axes/accessfailurelog/{failure.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert AccessFailureLog.objects.filter(pk=failure.pk).exists()
    assert (
        AuditEvent.objects.filter(
            action="operator.viewed", actor=operator, detail__model="axes.accessfailurelog"
        ).count()
        == 2
    )


def test_it_keeps_two_factor_keys_and_recovery_codes_away_from_operators(client, db):
    _operator(client)
    staff = make_login(None, "someone", password=PASSWORD)
    device = TOTPDevice.objects.create(user=staff, name="app", confirmed=True)
    static = StaticDevice.objects.create(user=staff, name="codes", confirmed=True)
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").status_code == 404
    assert client.get(f"/admin/otp_static/staticdevice/{static.pk}/change/").status_code == 404
