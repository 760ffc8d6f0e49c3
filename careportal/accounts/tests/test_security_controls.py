"""Controls of the accounts pages that no other test covered (security review, issue 11)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client as BrowserClient
from django.urls import URLPattern, reverse

from careportal.accounts import throttle
from careportal.accounts import urls as account_urls
from careportal.audit.log_redaction import RedactFeedTokens, redact_feed_tokens
from careportal.audit.models import AuditEvent
from tests.cast import PASSWORD

LOGIN = "/accounts/login/"
WRONG = "Wrong password 1!"


def _path(pattern: URLPattern) -> str:
    args = ["x" for _ in pattern.pattern.converters]
    return reverse(f"accounts:{pattern.name}", args=args)


def test_it_refuses_every_accounts_post_without_the_csrf_token(cast):
    browser = BrowserClient(enforce_csrf_checks=True)
    browser.force_login(cast.tom)
    for pattern in account_urls.urlpatterns:
        response = browser.post(_path(pattern), {"username": "tom.hale", "password": PASSWORD})
        assert response.status_code == 403, pattern.name
        assert "CSRF" in response.content.decode(), pattern.name
    anonymous = BrowserClient(enforce_csrf_checks=True)
    assert anonymous.post(LOGIN, {"username": "tom.hale", "password": PASSWORD}).status_code == 403
    assert "_auth_user_id" not in anonymous.session


def test_it_takes_a_post_with_the_csrf_token(client, cast):
    browser = BrowserClient(enforce_csrf_checks=True)
    page = browser.get(LOGIN)
    token = page.cookies["csrftoken"].value
    response = browser.post(
        LOGIN, {"username": "tom.hale", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_it_refuses_a_forged_host_header(client, cast):
    assert client.get(LOGIN, HTTP_HOST="evil.example").status_code == 400
    response = client.post(
        "/accounts/password/forgot/", {"username": "tom.hale"}, HTTP_HOST="evil.example"
    )
    assert response.status_code == 400
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "wanted",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "http://testserver.evil.example/accounts/settings/",
        "javascript:alert(1)",
    ],
)
def test_it_never_follows_next_to_another_site(client, cast, wanted):
    response = client.post(LOGIN, {"username": "tom.hale", "password": PASSWORD, "next": wanted})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_sends_no_referer_to_other_sites_and_keeps_csrf_working(client, cast):
    # "same-origin", not "no-referrer": with "no-referrer" browsers send `Origin: null` on
    # the site's own form posts, and Django's CSRF check refuses them, as shown here.
    assert client.get(LOGIN)["Referrer-Policy"] == "same-origin"
    browser = BrowserClient(enforce_csrf_checks=True)
    token = browser.get(LOGIN).cookies["csrftoken"].value
    data = {"username": "tom.hale", "password": PASSWORD, "csrfmiddlewaretoken": token}
    assert browser.post(LOGIN, data, HTTP_ORIGIN="null").status_code == 403
    assert browser.post(LOGIN, data, HTTP_ORIGIN="http://testserver").status_code == 302


def test_it_sets_secure_cookie_flags_in_production(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "false",
        "SECRET_KEY": "p" * 60,
        "ALLOWED_HOSTS": "portal.example.org",
        "SITE_URL": "https://portal.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    names = [
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SAMESITE",
        "LANGUAGE_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_REFERRER_POLICY",
    ]
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "careportal.settings"},
        cwd=Path(django_settings.BASE_DIR),
        capture_output=True,
        text=True,
        check=True,
    )
    flags = json.loads(done.stdout.strip().splitlines()[-1])
    assert flags == {
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "LANGUAGE_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_REFERRER_POLICY": "same-origin",
    }


def test_it_redacts_feed_tokens_from_the_apps_log_lines():
    assert (
        redact_feed_tokens('"GET /calendar/feed/Zq3-x_9.ics HTTP/1.1" 200')
        == '"GET /calendar/feed/[redacted].ics HTTP/1.1" 200'
    )
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/calendar/feed/abc.ics",),
        None,
    )
    assert RedactFeedTokens().filter(record) is True
    assert record.getMessage() == "Not Found: /calendar/feed/[redacted].ics"
    # The app's console handler carries the filter (settings.LOGGING).
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactFeedTokens) for f in handler.filters)
    ]
    assert handlers
    # So does the development server's request log, which does not reach the root logger.
    server = logging.getLogger("django.server")
    assert any(
        any(isinstance(f, RedactFeedTokens) for f in handler.filters) for handler in server.handlers
    )


def test_it_pauses_sign_in_for_an_address_past_its_limit(client, cast, monkeypatch):
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 3)
    for name in ("tom.hale", "ellen.hale", "nora.nurse"):
        assert client.post(LOGIN, {"username": name, "password": WRONG}).status_code == 400
    # Even the right password of another login waits: the address is what is held back.
    response = client.post(LOGIN, {"username": "paula.payer", "password": PASSWORD})
    assert response.status_code == 429
    assert "too many tries from your network" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="address.throttled", detail__door="signin").count() == 1
    # Another address signs in; the accounts themselves are not locked.
    other = client.post(
        LOGIN, {"username": "paula.payer", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert other.status_code == 302


def test_it_reads_the_address_past_the_trusted_proxy(client, cast, monkeypatch, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 2)
    for _ in range(2):
        client.post(
            LOGIN, {"username": "tom.hale", "password": WRONG}, HTTP_X_FORWARDED_FOR="192.0.2.1"
        )
    held = client.post(
        LOGIN, {"username": "ellen.hale", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.1"
    )
    assert held.status_code == 429
    # Same proxy (REMOTE_ADDR), another client behind it: not held back.
    free = client.post(
        LOGIN, {"username": "ellen.hale", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.2"
    )
    assert free.status_code == 302


def test_a_facility_behind_one_address_survives_dozens_of_mistakes(client, cast):
    assert throttle.ADDRESS_LIMIT >= 100
    for n in range(30):
        client.post(LOGIN, {"username": f"resident.{n}", "password": WRONG})
    assert client.post(LOGIN, {"username": "tom.hale", "password": PASSWORD}).status_code == 302


def test_the_show_password_control_is_a_hidden_button_until_its_script_runs(client, db):
    page = client.get(LOGIN).content.decode()
    assert 'data-password-toggle="id_password"' in page
    assert 'aria-controls="id_password"' in page and 'aria-pressed="false"' in page
    button = page[page.index('data-password-toggle="id_password"') - 120 :]
    assert 'type="button"' in button[:200] and " hidden>" in button
    assert "js/accounts.js" in page
