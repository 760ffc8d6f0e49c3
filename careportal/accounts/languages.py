"""The language a person reads the portal in: chosen in the browser, the frame or the account.

LocaleMiddleware picks the language from the language cookie, else from the browser's
Accept-Language. A language saved in account settings (User.language) is the person's
own: emails go in it, and signing in sets the cookie to it, so it follows them from one
device to the next. The form in every page's frame changes the cookie only.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language_info

# Set at sign-in (`signin.sign_in`), read once by UserLanguageMiddleware on the way out.
APPLY_AT_SIGN_IN = "careportal_apply_language"


def language_choices() -> list[tuple[str, str]]:
    """Return (code, name) pairs, each name in its own language ("English", "Español")."""
    return [
        (code, get_language_info(code)["name_local"].capitalize()) for code, _ in settings.LANGUAGES
    ]


def is_supported(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def set_language_cookie(response: HttpResponse, code: str) -> None:
    """Set the cookie LocaleMiddleware reads, as Django's set_language view does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class UserLanguageMiddleware:
    """After a sign-in, set the language cookie to the language saved in the account."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None:
            code = session.pop(APPLY_AT_SIGN_IN, None)
            if code and is_supported(code):
                set_language_cookie(response, code)
        return response
