"""The API's schema and documentation, and what every one of its URLs answers a stranger."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from careportal.backoffice.tests.conftest import sign_in

DOCS = "/api/v1/docs"
PLACEHOLDERS = {"int": "1", "str": "x", "path": "x", "slug": "x"}


def _api_paths() -> list[str]:
    """Return a path for every URL pattern of the API, read from the URL map."""
    (api,) = [p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/"]
    paths = []
    for pattern in api.url_patterns:
        assert isinstance(pattern, URLPattern) and not isinstance(pattern, URLResolver)
        route = str(pattern.pattern)
        for name, converter in pattern.pattern.converters.items():
            kind = type(converter).__name__.replace("Converter", "").lower()
            route = route.replace(f"<{kind}:{name}>", PLACEHOLDERS.get(kind, "x"))
            route = route.replace(f"<{name}>", "x")
        paths.append("/api/v1/" + route)
    return paths


def test_it_serves_an_openapi_3_1_schema_to_anyone(client, db):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.1")
    operations = [op for path in schema["paths"].values() for op in path.values()]
    # People (8), scheduling (2), care plans (1) and billing (2) records, 6 operations each,
    # and an invoice's issue and void.
    assert len(operations) == 13 * 6 + 2
    for operation in operations:
        assert operation["security"], operation["operationId"]
        problem = operation["responses"]["401"]["content"]
        assert list(problem) == ["application/problem+json"]
    creates = [op for op in operations if op["operationId"].startswith("create_")]
    assert all(any(p["name"] == "Idempotency-Key" for p in op["parameters"]) for op in creates)


@pytest.mark.parametrize("method", ["get", "post", "put", "patch"])
def test_it_answers_every_api_url_401_to_a_stranger_never_a_sign_in_page(client, db, method):
    walked = 0
    for path in _api_paths():
        if path.startswith(("/api/v1/openapi.json", DOCS)) or path == "/api/v1/":
            continue
        response = getattr(client, method)(path, content_type="application/json")
        if response.status_code == 405:
            continue
        assert response.status_code == 401, (method, path, response.status_code)
        assert response["Content-Type"].startswith("application/problem+json")
        walked += 1
    assert walked >= 8


def test_it_shows_the_documentation_to_the_signed_in_owner_only(client, cast):
    assert client.get(DOCS).status_code == 302  # to sign in

    sign_in(client, cast.administrator)
    assert client.get(DOCS).status_code == 404

    sign_in(client, cast.owner)
    response = client.get(DOCS)
    assert response.status_code == 200
    assert "swagger-ui" in response.content.decode()


def test_it_keeps_the_documentation_from_portal_logins(client, cast):
    client.force_login(cast.margaret.user)

    assert client.get(DOCS).status_code in (302, 404)


def test_it_answers_a_path_that_names_no_operation_with_a_problem(client, db):
    response = client.get("/api/v1/no-such-records/1")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == 404
