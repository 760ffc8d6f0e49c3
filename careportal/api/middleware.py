"""API calls carry a key, never a session: the portal's session rules stay out of them."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _

from careportal.api.problems import PROBLEM_TYPE, problem

API_PREFIX = "/api/"
# The interactive documentation is a page for the signed-in owner: it keeps the session.
DOCUMENTATION = "/api/v1/docs"


class ApiRequestMiddleware:
    """Read every API call as anonymous, whatever cookie it brings, and never cache it.

    Placed right after AuthenticationMiddleware: a browser's session cookie sent along
    neither authenticates a call (only its key does) nor lets the session's rules (its
    clocks, two-step sign-in, Change Password, the portal's redirects) answer for the API.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(API_PREFIX) or path.startswith(DOCUMENTATION):
            return self.get_response(request)
        request.user = AnonymousUser()
        response = self.get_response(request)
        if response.status_code == 404 and not response.get("Content-Type", "").startswith(
            PROBLEM_TYPE
        ):
            # A path that names no operation answers like a missing record, not a page.
            response = problem(404, _("No such record."))
        add_never_cache_headers(response)
        patch_cache_control(response, no_store=True, private=True)
        return response
