"""The project's form renderer (settings.FORM_RENDERER): Django's, with its smallest
templates written in Python.

A back-office client's page holds some sixty inputs (its fields, its inline rows, their
empty rows and management forms); rendering each through `django/forms/widgets/input.html`
and its `attrs.html` took a fifth of the page's time, and the portal's filter forms paid the
same per field. Those templates, a label's, an empty error
list's and a select's with its options only print what their context holds, so the same
markup is written here; every other template (admin widgets, forms, error messages)
renders as in Django.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Django's widget templates that are `{% include "django/forms/widgets/input.html" %}`.
INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "input",
        "text",
        "hidden",
        "email",
        "number",
        "url",
        "password",
        "date",
        "datetime",
        "time",
        "checkbox",
        "tel",
        "search",
    )
)


ERROR_LIST_TEMPLATES = frozenset(
    ("django/forms/errors/list/default.html", "django/forms/errors/list/ul.html")
)


def attrs_html(attrs: dict[str, Any]) -> SafeString:
    """Return what `django/forms/attrs.html` renders: ` name="value"`, ` name` for True."""
    return mark_safe(  # each name and value is escaped here
        "".join(
            f" {conditional_escape(name)}"
            if value is True
            else f' {conditional_escape(name)}="{conditional_escape(value)}"'
            for name, value in attrs.items()
            if value is not False
        )
    )


def input_html(widget: dict[str, Any]) -> SafeString:
    """Return what `django/forms/widgets/input.html` renders for the widget's context."""
    value = widget["value"]
    return format_html(
        '<input type="{}" name="{}"{}{}>',
        widget["type"],
        widget["name"],
        format_html(' value="{}"', value) if value is not None else "",
        attrs_html(widget["attrs"]),
    )


def label_html(context: dict[str, Any]) -> SafeString:
    """Return what `django/forms/label.html` renders: the label, in its tag if it has one."""
    if not context["use_tag"]:
        return conditional_escape(context["label"])
    tag = context["tag"]
    return format_html("<{}{}>{}</{}>", tag, attrs_html(context["attrs"]), context["label"], tag)


OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def option_html(option: dict[str, Any]) -> str:
    """Return what `django/forms/widgets/select_option.html` renders, its newline too."""
    return (
        f'<option value="{conditional_escape(str(option["value"]))}"'
        f"{attrs_html(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
    )


def select_html(widget: dict[str, Any]) -> SafeString | None:
    """Return what `django/forms/widgets/select.html` renders (its options through
    `select_option.html`), or None for a widget with options of its own template."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{attrs_html(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            parts.append("\n  " + option_html(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # each name, value and label is escaped above


class FormRenderer(DjangoTemplates):
    """Render inputs, labels and empty error lists in Python, the rest through templates."""

    def render(
        self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None
    ) -> str:
        if template_name in INPUT_TEMPLATES:
            return input_html(context["widget"])
        if template_name == "django/forms/label.html":
            return label_html(context)
        if template_name in ERROR_LIST_TEMPLATES and not context["errors"]:
            return ""
        if template_name == "django/forms/widgets/select.html":
            html = select_html(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request=request)
