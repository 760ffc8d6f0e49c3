"""Every URL of the product refuses a POST without the CSRF token (security review, issue 11).

The walk reads the URL map itself, so a page added later is covered without a change here:
each pattern, with placeholder arguments, is posted to by a signed-in portal login and by a
signed-in staff member, with CSRF checks on as in a browser. A view may be exempt only if it
is named below, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client as BrowserClient
from django.urls import URLPattern, URLResolver, get_resolver

from careportal.backoffice.tests.conftest import sign_in

# Views that take no form: nothing is exempt today.
EXEMPT: set[str] = set()
# The integration API (careportal/api) authenticates every call by its key alone, never by a
# cookie (api.middleware reads each call as anonymous): a forged cross-site request carries
# no credential, so its operations need no token.
EXEMPT_PREFIXES = ("/api/v1/",)
PLACEHOLDERS = {"int": "1", "path": "x/y", "slug": "x", "str": "x", "uuid": "0" * 32}


def _paths(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Yield (a path that resolves to the pattern, the pattern) for every URL pattern."""
    for pattern in patterns:
        route = str(pattern.pattern)
        if not hasattr(pattern.pattern, "converters") or route.startswith("^"):
            continue  # regex routes (Django's admin catch-alls) are reached by their paths
        for name, converter in pattern.pattern.converters.items():
            kind = type(converter).__name__.replace("Converter", "").lower()
            value = PLACEHOLDERS.get(kind, "1" if "int" in kind else "x")
            route = route.replace(f"<{kind}:{name}>", value).replace(f"<{name}>", value)
        if isinstance(pattern, URLResolver):
            yield from _paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + route, pattern


def test_it_finds_the_products_pages_to_walk():
    paths = {path for path, _pattern in _paths(get_resolver().url_patterns)}

    assert {"/accounts/login/", "/messages/new/", "/backoffice/"} <= paths


@pytest.mark.parametrize("who", ["portal", "staff", "anonymous"])
def test_it_refuses_every_post_without_the_csrf_token(cast, who):
    browser = BrowserClient(enforce_csrf_checks=True)
    if who == "portal":
        browser.force_login(cast.margaret.user)
    elif who == "staff":
        sign_in(browser, cast.owner)
    walked = 0
    for path, pattern in _paths(get_resolver().url_patterns):
        if getattr(pattern.callback, "csrf_exempt", False):
            assert pattern.name in EXEMPT or path.startswith(EXEMPT_PREFIXES), (
                f"{path} is exempt from the CSRF check"
            )
            continue
        response = browser.post(path, {"subject": "x", "body": "x", "password": "x"})
        # A POST that reaches its view needs the token; 404 and 405 are answered before it.
        assert response.status_code in (403, 404, 405), (path, response.status_code)
        if response.status_code == 403:
            assert "CSRF" in response.content.decode(), path
            walked += 1
    assert walked > 20
