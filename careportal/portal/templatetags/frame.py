"""Parts of every page's frame that are the same for every request in a language.

The language form's options and the session warning depend only on the language, the
settings and the site's address: they are rendered once per language and process, then
reused (the session warning receives the request's CSRF token). With DEBUG on they are
rendered every time, so that a template being edited shows at once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaulttags import CsrfTokenNode
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, get_language_info

register = template.Library()

SESSION_WARNING = "accounts/_session_warning.html"
# Stands for the request's CSRF token in the session warning rendered once.
CSRF_MARK = "csrf-token-of-the-request"
CSRF_FIELD = CsrfTokenNode()


def _language_options(current: str) -> SafeString:
    return format_html_join(
        "",
        '<option value="{}" lang="{}"{}>{}</option>',
        (
            (code, code, " selected" if code == current else "", capfirst(_local_name(code)))
            for code, _name in settings.LANGUAGES
        ),
    )


def _local_name(code: str) -> str:
    return str(get_language_info(code)["name_local"])


def _session_warning() -> str:
    return render_to_string(SESSION_WARNING, {"csrf_token": CSRF_MARK})


@lru_cache(maxsize=32)
def _rendered(part: str, language: str, prefix: str) -> str:
    """Return a part of the frame as rendered in this language under this address."""
    if part == "languages":
        return _language_options(language)
    return _session_warning()


def _part(part: str) -> str:
    if settings.DEBUG:
        _rendered.cache_clear()
    return _rendered(part, get_language(), get_script_prefix())


@receiver(setting_changed)
def _forget_rendered(**kwargs: Any) -> None:
    # Tests that change the languages, static or URL settings get freshly rendered parts.
    _rendered.cache_clear()


@register.simple_tag
def language_options() -> SafeString:
    """Return the language form's options, the current language selected."""
    return mark_safe(_part("languages"))  # noqa: S308 (rendered by format_html_join)


@register.simple_tag(takes_context=True)
def session_warning(context: template.Context) -> SafeString:
    """Return the session warning (accounts/_session_warning.html) with this request's token."""
    marked = CSRF_FIELD.render(template.Context({"csrf_token": CSRF_MARK}))
    html = _part("warning").replace(marked, CSRF_FIELD.render(context))
    return mark_safe(html)  # noqa: S308 (a rendered template and Django's token field)
