"""Fixtures of the API's tests: keys of Sunrise and Harbor, and a caller that sends one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as BrowserClient

from careportal.api.services import create_api_key
from tests.cast import Cast

EVERY_SCOPE = ("people:write", "scheduling:write", "careplans:write", "billing:write")


def make_key(agency: Any, *scopes: str, **kwargs: Any) -> str:
    """Return a new key of the agency with the scopes (every area's write by default)."""
    _api_key, key = create_api_key(
        agency=agency, name="Test system", scopes=scopes or EVERY_SCOPE, **kwargs
    )
    return key


class Caller:
    """Calls the API with a key, JSON in and out."""

    def __init__(self, key: str | None) -> None:
        self.browser = BrowserClient()
        self.key = key

    def __call__(
        self, method: str, path: str, body: Any = None, key: str | None = None, **headers: str
    ) -> Any:
        key = key or self.key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.browser, method.lower())(f"/api/v1/{path.lstrip('/')}", **kwargs)


@pytest.fixture
def api(cast: Cast) -> Callable[..., Any]:
    """Call the API as Sunrise's system, with a key that writes every area."""
    return Caller(make_key(cast.sunrise))
