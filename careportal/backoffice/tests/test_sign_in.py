"""The back office has no sign-in page of its own: it sends people to the one sign-in page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.urls import reverse

from careportal.backoffice.tests.conftest import sign_in
from careportal.builders import make_login
from tests.cast import PASSWORD


def _next_of(response) -> str:
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    (wanted,) = parse_qs(location.query)["next"]
    return wanted


def test_it_sends_a_visitor_to_sign_in_with_the_page_first_asked_for(client, db):
    response = client.get("/backoffice/people/client/?status=active", follow=True)
    (*_hops, (last, status)) = response.redirect_chain
    assert status == 302
    location = urlsplit(last)
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query) == {"next": ["/backoffice/people/client/?status=active"]}


@pytest.mark.parametrize(
    ("asked", "target"),
    [
        ("", "/backoffice/"),
        ("/backoffice/login/?next=/backoffice/billing/invoice/", "/backoffice/billing/invoice/"),
        ("/backoffice/login/?next=/backoffice/login/", "/backoffice/"),
        ("https://evil.example/", "/backoffice/"),
    ],
)
def test_it_never_wraps_the_back_office_login_in_a_next(client, db, asked, target):
    response = client.get("/backoffice/login/", {"next": asked} if asked else {})
    assert response.status_code == 302
    assert _next_of(response) == target
    assert "login/?next" not in _next_of(response)


def test_it_sends_djangos_admin_login_to_the_one_sign_in_page(client, db):
    response = client.get("/admin/login/", {"next": "/admin/agencies/agency/"})
    assert response.status_code == 302
    assert _next_of(response) == "/admin/agencies/agency/"
    assert _next_of(client.get("/admin/login/")) == "/admin/"


def test_it_signs_nobody_in_through_djangos_admin_login(client, db):
    make_login(
        None, "otto.operator", password=PASSWORD, kind="operator", is_staff=True, is_superuser=True
    )
    response = client.post("/admin/login/", {"username": "otto.operator", "password": PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_it_keeps_an_operator_without_two_factor_out_of_djangos_admin(rf, db):
    # The sign-in page's middleware holds such a login at its two-factor step already;
    # the site checks on its own as well, as the back office does.
    operator = make_login(
        None, "otto.operator", password=PASSWORD, kind="operator", is_staff=True, is_superuser=True
    )
    request = rf.get("/admin/")
    request.user = operator
    operator.is_verified = lambda: False
    assert not admin.site.has_permission(request)
    operator.is_verified = lambda: True
    assert admin.site.has_permission(request)


@pytest.mark.parametrize("site", ["backoffice", "admin"])
def test_it_changes_passwords_on_the_accounts_page_only(client, cast, site):
    user = (
        cast.owner
        if site == "backoffice"
        else make_login(
            None,
            "otto.operator",
            password=PASSWORD,
            kind="operator",
            is_staff=True,
            is_superuser=True,
        )
    )
    sign_in(client, user)
    new = "Another new Password 42!"
    response = client.post(
        reverse(f"{site}:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert client.get(reverse(f"{site}:password_change"))["Location"] == reverse(
        "accounts:password_change"
    )
    done = client.get(reverse(f"{site}:password_change_done"))
    assert done["Location"] == reverse("accounts:settings")


@pytest.mark.parametrize("url", ["/backoffice/", "/backoffice/people/client/"])
def test_it_warns_staff_before_the_back_office_idles_out(client, cast, url):
    sign_in(client, cast.owner)
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="session-warning"' in body
    assert "Stay signed in" in body
    assert 'data-stay-url="/accounts/session/stay/"' in body
    assert "js/session.js" in body and "css/session.css" in body
    # The site's branding is kept, naming the staff member's agency (site.each_context).
    assert f"{cast.sunrise.name} back office" in body
    assert "<script>" not in body and "<style" not in body
    assert "Content-Security-Policy" in response.headers
    status = client.get("/accounts/session/").json()
    assert 60 < status["warning_seconds"] < status["seconds_left"] <= 30 * 60


def test_it_shows_no_warning_on_a_back_office_page_without_a_signed_in_user(rf, db):
    request = rf.get("/backoffice/")
    request.user = AnonymousUser()
    request.current_app = "backoffice"
    body = render_to_string("admin/base_site.html", {"title": "Signed out"}, request=request)
    assert "Signed out" in body
    assert 'id="session-warning"' not in body
