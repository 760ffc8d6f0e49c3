"""Errors as RFC 9457 problem details: `application/problem+json`, naming the field.

Every error the API answers goes through `problem`, so an integration reads one shape:
type, title, status, detail, and for a refused value `errors: [{field, message}]`.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
# Where the request's parts sit in ninja's error locations: not part of a field's name.
REQUEST_PARTS = {"body", "query", "path", "header", "payload", "params", "filters"}
FIELD_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|[0-9]+")


class FieldError(Schema):
    field: str | None
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raised by an endpoint to answer with a problem (a conflict, a bad cursor)."""

    def __init__(
        self, status: int, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """Return a problem details response (the title is the status's own phrase)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_errors(error: DjangoValidationError) -> list[dict[str, Any]]:
    """Return a model's ValidationError as [{field, message}] (field None for the record)."""
    if not hasattr(error, "error_dict"):
        return [{"field": None, "message": str(message)} for message in error.messages]
    return [
        {"field": None if field == NON_FIELD_ERRORS else field, "message": str(message)}
        for field, messages in error.message_dict.items()
        for message in messages
    ]


def _location(loc: Any) -> str | None:
    """Return the field's name from pydantic's location, without the request's part or the
    names of a type's inner validators ("function-after[...]")."""
    parts = [
        str(part)
        for part in loc
        if str(part) not in REQUEST_PARTS and FIELD_PART.fullmatch(str(part))
    ]
    return ".".join(parts) or None


def install_handlers(api: NinjaAPI) -> None:
    """Answer every error of the API with a problem, whatever raised it."""

    @api.exception_handler(NinjaValidationError)
    def invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = []
        for error in exc.errors:
            named = {"field": _location(error.get("loc", ())), "message": str(error.get("msg", ""))}
            if named not in errors:
                errors.append(named)
        return problem(422, _("Some values are not valid; nothing was saved."), errors=errors)

    @api.exception_handler(DjangoValidationError)
    def invalid_record(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return problem(
            422, _("Some values are not valid; nothing was saved."), errors=field_errors(exc)
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return problem(
            401,
            _("Send a valid API key: Authorization: Bearer <key>."),
            headers={"WWW-Authenticate": "Bearer"},
        )

    @api.exception_handler(AuthorizationError)
    def forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        return problem(403, str(exc.message))

    @api.exception_handler(RateLimited)
    def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        return problem(
            429,
            _("Too many requests with this key; try again in a minute."),
            headers={"Retry-After": str(exc.retry_after)},
        )

    @api.exception_handler(ApiProblem)
    def api_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
        return problem(exc.status, exc.detail, errors=exc.errors)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(404, _("No such record."))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem(exc.status_code, str(exc.message))

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path)
        return problem(500, _("Something went wrong on our side."))
