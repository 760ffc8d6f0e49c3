"""Session timeouts, and the password change that a login must make before anything else."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from careportal.accounts import sessions

if TYPE_CHECKING:
    from careportal.accounts.models import User

# The session-status poll asks how long is left; it must not count as activity.
PASSIVE_URL_NAMES = {"accounts:session_status"}
# Pages a login that must change its password may still reach.
ALLOWED_WHILE_CHANGING = {
    "accounts:logout",
    "accounts:password_change",
    "accounts:session_status",
    "accounts:session_keepalive",
    "set_language",
}
ALLOWED_WHILE_TWO_FACTOR = {
    "accounts:logout",
    "accounts:two_factor",
    "accounts:two_factor_enrol",
    "accounts:session_status",
    "accounts:session_keepalive",
    "set_language",
}
PASSWORD_EXPIRED = "careportal_password_expired"


def _url_name(request: HttpRequest) -> str:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


def _is_public(request: HttpRequest) -> bool:
    """Return whether the page opens without signing in (a view marked login_not_required)."""
    try:
        func = resolve(request.path_info).func
    except Resolver404:
        return False
    return not getattr(func, "login_required", True)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _login_url(request: HttpRequest) -> str:
    return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}"


class SessionTimeoutMiddleware:
    """End a session idle too long or older than 12 hours; note activity as it comes.

    An htmx request to an ended session gets `HX-Redirect` to the sign-in page, so the
    browser loads the whole page instead of a sign-in form inside a fragment.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            if sessions.LOGIN_AT not in session:
                # A session from before this middleware: start counting now.
                session[sessions.LOGIN_AT] = session[sessions.LAST_ACTIVITY] = int(now)
            if sessions.seconds_left(request, now) <= 0:
                logout(request)
                passive = _url_name(request) in PASSIVE_URL_NAMES
                if not passive:
                    messages.info(
                        request,
                        _("For your safety you were signed out. Please sign in again."),
                    )
                if _is_htmx(request):
                    response = HttpResponse(status=200)
                    response["HX-Redirect"] = _login_url(request)
                    return response
                if passive or _is_public(request):
                    return self.get_response(request)
                return redirect(_login_url(request))
            if _url_name(request) not in PASSIVE_URL_NAMES:
                sessions.note_activity(session, now)
        response = self.get_response(request)
        if _is_htmx(request) and response.status_code in (301, 302):
            # LoginRequiredMiddleware sends anonymous requests to sign in; for htmx, load it whole.
            location = response.get("Location", "")
            if location.startswith(resolve_url(settings.LOGIN_URL)):
                redirected = HttpResponse(status=200)
                redirected["HX-Redirect"] = location
                return redirected
        return response


class PasswordChangeRequiredMiddleware:
    """Keep a signed-in login on the step it must finish before anything else.

    First two-factor sign-in (enrolment at the first sign-in) where the login needs it,
    whichever way it signed in; then Change Password for a login marked
    must_change_password or whose password expired under the agency's rule (found at
    sign-in). A person who types an invitation's one-time password on the sign-in page is
    not signed in at all: the invitation's own Change Password page signs them in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            target, allowed = self._target(request, user)
            if target and request.path_info != target and _url_name(request) not in allowed:
                if _is_htmx(request):
                    response = HttpResponse(status=200)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _target(request: HttpRequest, user: User) -> tuple[str | None, set[str]]:
        from careportal.accounts import twofactor

        verified = getattr(user, "is_verified", lambda: False)()
        needs_two_factor = request.session.get(
            sessions.TWO_FACTOR_AT_SIGN_IN
        ) or twofactor.requires_two_factor(user)
        if not verified and needs_two_factor:
            return reverse("accounts:two_factor"), ALLOWED_WHILE_TWO_FACTOR
        if user.must_change_password or request.session.get(PASSWORD_EXPIRED):
            return reverse("accounts:password_change"), ALLOWED_WHILE_CHANGING
        return None, set()
