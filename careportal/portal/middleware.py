"""Portal-wide rules applied to every request, whoever built the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.functional import LazyObject

from careportal.people import access

if TYPE_CHECKING:
    from careportal.accounts.http import AuthenticatedHttpRequest
    from careportal.people.access import PortalLogin

# The URL namespaces that make up the portal (see careportal/urls.py).
PORTAL_NAMESPACES = frozenset({"portal", "billing", "scheduling", "careplans", "messaging"})
# Requests that change nothing, inside which access answers are remembered.
READ_METHODS = frozenset({"GET", "HEAD"})


def portal_login(request: AuthenticatedHttpRequest) -> PortalLogin:
    """Return the login of a portal page's request: always a portal login of an agency.

    Sign-in keeps out the anonymous, and `PortalLoginMiddleware` sends every other login
    away from the portal's pages before their view runs.
    """
    return cast("PortalLogin", request.user)


def _marked_public(response: HttpResponse) -> bool:
    directives = [part.strip().lower() for part in response.get("Cache-Control", "").split(",")]
    return "public" in directives


class NoStoreMiddleware:
    """Mark every response to a signed-in user no-store; static files are served before us.

    A response its view marked public (the agency logo, public branding) keeps its headers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _marked_public(response):
            # A view that marks itself public (the agency logo) is the same for everyone.
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response


class PortalLoginMiddleware:
    """Keep staff logins out of the portal and show portal times in the agency's zone.

    Around a read (GET, HEAD) it also opens `access.request_memo()`, so that who the login
    sees is resolved once per request however many parts of the page ask.

    A staff login is never a portal login (DESIGN.md section 1): a signed-in staff member
    who opens a portal page is sent to the back office, where their work is, rather than
    shown an empty portal. Public portal views (the calendar feed, which carries its own
    token) are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in READ_METHODS:
            # A write may change relationships: every question goes to the database.
            return self._respond(request)
        # The frame, the view and the audit ask who the login sees several times per
        # read; the answers are kept for this request alone (the feed's owner included).
        with access.request_memo():
            return self._respond(request)

    def _respond(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if access.is_portal_login(user):
            # The login itself rather than the lazy objects that loaded it (django-otp's
            # around Django's, both read by now): a page reads the login's fields hundreds
            # of times, and each read through a wrapper costs a lookup that fails before
            # it is forwarded.
            login: PortalLogin = user
            while isinstance(login, LazyObject):
                login = login._wrapped
            request.user = login
            # Visits are stored in UTC; families read them in the agency's local time.
            timezone.activate(login.agency.tz)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or access.is_portal_login(user):
            return None
        if not getattr(view_func, "login_required", True):
            return None
        match = request.resolver_match
        if match is None or not PORTAL_NAMESPACES.intersection(match.namespaces):
            return None
        return redirect("backoffice:index")
