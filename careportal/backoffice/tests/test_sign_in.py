"""The back office has no sign-in page of its own: it sends people to the one sign-in page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest


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
