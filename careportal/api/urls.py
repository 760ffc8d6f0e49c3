"""The integration API at /api/v1/: its operations, its schema and its documentation.

django-ninja builds the OpenAPI 3.1 schema from the code's own types (pydantic schemas and
function views like the rest of the product); `/api/v1/openapi.json` is public (it holds
no record), the interactive documentation at `/api/v1/docs` is for signed-in owners.
Calls authenticate with a key alone (no session, no cookie), so they need no CSRF token.
"""

from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.openapi.views import openapi_json

from careportal.api import billing, careplans, people, scheduling
from careportal.api.problems import PROBLEM_TYPE, install_handlers
from careportal.backoffice import roles

DESCRIPTION = """\
The agency's own systems read and write its records here.

Send `Authorization: Bearer <key>` with a key the agency's owner made in the back office
(API keys); each key reads or writes only the areas it was given. Errors are problem
details (RFC 9457) naming the field. Send `Idempotency-Key` with every create so a retry
never creates the record twice; address records by your own ids with `external_id`.
"""


def documentation_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema is public; the interactive documentation is for the agency's owner."""
    if isinstance(view, partial) and view.func is openapi_json:
        return login_not_required(view)

    @wraps(view)
    def owners_only(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: Any = request.user
        if not roles.is_owner(user) or not user.is_verified():
            raise Http404
        return view(request, *args, **kwargs)

    return owners_only


class CarePortalApi(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        """Return the schema, errors described as problem details (RFC 9457)."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        response["content"] = {PROBLEM_TYPE: content["application/json"]}
        return schema


api = CarePortalApi(
    title="CarePortal API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs_decorator=documentation_access,
)
install_handlers(api)
api.add_router("/", people.router)
api.add_router("/", scheduling.router)
api.add_router("/", careplans.router)
api.add_router("/", billing.router)


def _public(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """Mark the operations public for the sign-in rule: each checks its key itself."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _public(pattern.url_patterns)
        elif pattern.name != "openapi-view":
            login_not_required(pattern.callback)
    return patterns


app_name = "api"
urlpatterns = _public(api.urls[0])
