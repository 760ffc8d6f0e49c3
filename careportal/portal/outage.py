"""While the database is unreachable, pages answer 503 "We'll be right back".

The middleware stands first in MIDDLEWARE. Before a request goes further it makes sure the
database answers (a no-op on a live persistent connection; CONN_HEALTH_CHECKS has already
dropped a dead one), and it turns a database error raised by a view into the same page. The
page is rendered without a request context, so no context processor queries the database
that is down. Nothing needs restarting: the next request connects again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger(__name__)

# Seconds a browser or proxy is asked to wait before trying again.
RETRY_AFTER_SECONDS = 30
DATABASE_DOWN = (OperationalError, InterfaceError)


class DatabaseUnavailableMiddleware:
    """Answer 503 with a plain page while the database cannot be reached."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            connection.ensure_connection()
        except DATABASE_DOWN:
            return unavailable(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_DOWN):
            return unavailable(request)
        return None


def unavailable(request: HttpRequest) -> HttpResponse:
    """Return the 503 page, in the browser's language, touching no database."""
    logger.warning("Database unavailable: %s %s answered 503", request.method, request.path)
    language = translation.get_language_from_request(request)
    with translation.override(language):
        body = render_to_string("outage.html", {"language": language})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
