"""The back office's list rows: Django's markup, with each column's work decided once a page.

Django's `result_list` looks every cell up afresh (`lookup_field`, `display_for_field`, a
`reverse()` and the preserved filters for each row's link), which was a third of a list
page's time. Here each column is resolved once per page into a small function, the change
link is built once and given each row's id, and a row is one string. Lists that edit
rows in place (list_editable) render through Django's own code.
"""

from __future__ import annotations

import datetime
import decimal
import html
from collections.abc import Callable
from typing import Any

from django import template
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode

# _get_non_gfk_field: Django's own helper behind items_for_result, missing from the stubs.
from django.contrib.admin.utils import (  # type: ignore[attr-defined]
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    lookup_field,
    quote,
)
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.template.defaultfilters import capfirst
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()

# Stands for a row's id in the change link built once per page (no "_": admin's quote()
# would escape it).
PK_MARK = "0BACKOFFICEPK0"


def _text_cell(name: str, empty: str) -> Callable[[Any], Any]:
    def cell(obj: Any) -> Any:
        value = getattr(obj, name)
        return value if value and value.strip() else empty

    return cell


def _choice_cell(name: str, field: Any, empty: str) -> Callable[[Any], Any]:
    try:
        # Labels translated once a page, not once a row.
        choices = {
            value: str(label) if isinstance(label, Promise) else label
            for value, label in dict(field.flatchoices).items()
        }
    except TypeError:  # list-like choices: Django's own path
        return _field_cell(name, field, empty, avoid_link=False)

    def cell(obj: Any) -> Any:
        value = getattr(obj, name)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        return choices.get(value, empty)

    return cell


def _field_cell(name: str, field: Any, empty: str, avoid_link: bool) -> Callable[[Any], Any]:
    if type(field) in (models.DateField, models.DateTimeField):
        return _date_cell(name, field, empty)

    def cell(obj: Any) -> Any:
        value = getattr(obj, name)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        return display_for_field(value, field, empty, avoid_link=avoid_link)

    return cell


def _date_cell(name: str, field: Any, empty: str) -> Callable[[Any], Any]:
    """A date or a time's column: each value formatted once a page (a list shows the same
    days, and visits starting at the same hours, often)."""
    shown: dict[Any, Any] = {}

    def cell(obj: Any) -> Any:
        value = getattr(obj, name)
        if value not in shown:
            shown[value] = display_for_field(value, field, empty)
        return shown[value]

    return cell


def _column(cl: Any, name: Any, index: int, link: bool) -> tuple[Callable[[Any], Any], str]:
    """Return a column's cell function (object -> shown value) and its classes."""
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    css = f"field-{admin_list._coerce_field_name(name, index)}"  # type: ignore[attr-defined]
    field = None
    if isinstance(name, str):
        try:
            field = _get_non_gfk_field(cl.lookup_opts, name)
        except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
            field = None
    if field is not None and not field.auto_created:
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            css += " nowrap"
        if isinstance(field.remote_field, models.ManyToOneRel):  # a foreign key: its str()
            return _related_cell(name, empty), css
        if getattr(field, "flatchoices", None):
            return _choice_cell(name, field, empty), css
        if type(field) in (models.CharField, models.TextField, models.EmailField):
            return _text_cell(name, empty), css
        return _field_cell(name, field, empty, avoid_link=link), css
    if field is not None:  # an automatic field (the id): shown as Django shows a value
        return _looked_up_cell(name, model_admin, empty), css
    if name == "action_checkbox":
        checkboxes = getattr(model_admin, "action_checkboxes", None)
        return (checkboxes() if checkboxes else model_admin.action_checkbox), "action-checkbox"
    return _computed_cell(name, model_admin, empty), css


def _related_cell(name: str, empty: str) -> Callable[[Any], Any]:
    def cell(obj: Any) -> Any:
        value = getattr(obj, name)
        return empty if value is None else value

    return cell


def _computed_cell(name: Any, model_admin: Any, empty: str) -> Callable[[Any], Any]:
    """A method or callable column (one lookup a page), else Django's lookup cell by cell."""
    if callable(name):
        method = name
    elif hasattr(model_admin, name) and name != "__str__":
        method = getattr(model_admin, name)
    else:
        return _looked_up_cell(name, model_admin, empty)
    shown_empty = getattr(method, "empty_value_display", empty)
    boolean = getattr(method, "boolean", False)

    # Numbers formatted once a page each (an invoice's total is often its balance).
    numbers: dict[tuple[type, str], Any] = {}

    def cell(obj: Any) -> Any:
        try:
            value = method(obj)
        except ObjectDoesNotExist:
            return empty
        if type(value) in (decimal.Decimal, int):
            key = (type(value), str(value))  # str: Decimal("1.0") and ("1.00") differ
            if key not in numbers:
                numbers[key] = _shown_value(value, shown_empty, boolean)
            return numbers[key]
        return _shown_value(value, shown_empty, boolean)

    return cell


def _looked_up_cell(name: str, model_admin: Any, empty: str) -> Callable[[Any], Any]:
    """A model's property or method column: Django's lookup, cell by cell."""

    def cell(obj: Any) -> Any:
        try:
            field, attr, value = lookup_field(name, obj, model_admin)
        except ObjectDoesNotExist:
            return empty
        shown_empty = getattr(attr, "empty_value_display", empty)
        if field is not None and not field.auto_created:
            if isinstance(value, str) and value.strip() == "":
                value = ""
            return display_for_field(value, field, shown_empty)
        boolean = getattr(attr, "boolean", False)
        if isinstance(attr, property) and hasattr(attr, "fget"):
            boolean = getattr(attr.fget, "boolean", False)
        return _shown_value(value, shown_empty, boolean)

    return cell


def _shown_value(value: Any, empty: str, boolean: bool) -> Any:
    """Return a computed value as Django's list shows it (display_for_value)."""
    if isinstance(value, str) and value.strip() == "":
        value = ""
    if not boolean:
        # What display_for_value gives them, without comparing them to each of its empty
        # values first (a translation, or a record's __eq__, for each).
        if isinstance(value, Promise):
            text = str(value)
            return text if text else empty
        if isinstance(value, models.Model):
            return str(value)
    shown = display_for_value(value, empty, boolean)
    if isinstance(value, (datetime.date, datetime.time)):
        return _Nowrap(shown)
    return shown


class _Nowrap:
    """A computed value that is a date or a time: its cell also gets the "nowrap" class."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _change_link(cl: Any) -> str | None:
    """Return the rows' change link with PK_MARK for the id, or None when there is none."""
    opts = cl.opts
    try:
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=(PK_MARK,),
            current_app=cl.model_admin.admin_site.name,
        )
    except NoReverseMatch:
        return None
    return add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": opts}, url)


def _escape(value: Any) -> str:
    """Return what conditional_escape returns, without its wrappers' work for each cell."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def rows(cl: Any) -> list[SafeString]:
    """Return the list's rows, each its cells' markup as Django's items_for_result writes it."""
    links = cl.list_display_links
    columns = []
    first = True
    for index, name in enumerate(cl.list_display):
        link = links is not None and ((first and not links) or name in links)
        cell, css = _column(cl, name, index, link)
        tag = ""
        if link:
            tag = "th" if first else "td"
            first = False
        columns.append((cell, css, tag))
    url = _change_link(cl)
    pk_name = str(cl.to_field) if cl.to_field else cl.lookup_opts.pk.attname
    escape = _escape
    out = []
    for obj in cl.result_list:
        cells = []
        for cell, css, tag in columns:
            shown = cell(obj)
            if isinstance(shown, _Nowrap):
                shown, classes = shown.value, f"{css} nowrap"
            else:
                classes = css
            if not tag:
                cells.append(f'<td class="{classes}">{escape(shown)}</td>')
                continue
            if url is None:
                content = escape(shown)
            else:
                popup = (
                    format_html(' data-popup-opener="{}"', obj.serializable_value(pk_name))
                    if cl.is_popup
                    else ""
                )
                href = escape(url.replace(PK_MARK, str(quote(obj.pk))))
                content = f'<a href="{href}"{popup}>{escape(shown)}</a>'
            cells.append(f'<{tag} class="{classes}">{content}</{tag}>')
        out.append(mark_safe("".join(cells)))  # every value above is escaped
    return out


def _header(header: dict[str, Any], num_sorted_fields: int) -> str:
    """Return a column's heading as admin/change_list_results.html writes it."""
    sort = ""
    if header["sortable"] and header["sort_priority"] > 0:
        priority = ""
        if num_sorted_fields > 1:
            # As blocktranslate writes it: the number escaped, the words as translated.
            title = gettext("Sorting priority: %(priority_number)s") % {
                "priority_number": _escape(header["sort_priority"])
            }
            priority = (
                f'<span class="sortpriority" title="{title}">{header["sort_priority"]}</span>'
            )
        direction = "ascending" if header["ascending"] else "descending"
        sort = (
            '\n       <div class="sortoptions">\n'
            f'         <a class="sortremove" href="{_escape(header["url_remove"])}" '
            f'title="{_escape(gettext("Remove from sorting"))}"></a>\n'
            f"         {priority}\n"
            f'         <a href="{_escape(header["url_toggle"])}" class="toggle {direction}" '
            f'title="{_escape(gettext("Toggle sorting"))}"></a>\n'
            "       </div>\n   "
        )
    text = _escape(capfirst(header["text"]))
    if header["sortable"]:
        text = f'<a href="{_escape(header["url_primary"])}">{text}</a>'
    else:
        text = f"<span>{text}</span>"
    return (
        f'\n<th scope="col"{_escape(header["class_attrib"])}>\n'
        f"   {sort}\n"
        f'   <div class="text">{text}</div>\n'
        '   <div class="clear"></div>\n'
        "</th>"
    )


def table(cl: Any) -> SafeString:
    """Return the list's table as admin/change_list_results.html writes it, in one string.

    Its loops over the headings and the rows ran as template nodes; lists that edit rows
    in place keep Django's template.
    """
    body = rows(cl)
    if not body:
        return mark_safe("\n\n\n")
    headers = list(admin_list.result_headers(cl))
    num_sorted_fields = sum(1 for h in headers if h["sortable"] and h["sorted"])
    heading = "".join(_header(header, num_sorted_fields) for header in headers)
    lines = "".join(f"\n\n<tr>{row}</tr>\n" for row in body)
    # Every value above is escaped (rows() escapes its cells).
    return mark_safe(
        '\n\n\n<div class="results">\n<table id="result_list">\n<thead>\n<tr>\n'
        f"{heading}\n</tr>\n</thead>\n<tbody>\n{lines}\n</tbody>\n</table>\n</div>\n\n"
    )


@register.simple_tag
def backoffice_page_links(cl: Any, page_range: Any) -> SafeString:
    """Return the page numbers as Django's `paginator_number` writes each of them, the
    list's query string built once with a mark that each link's number replaces (rather
    than the parameters copied and encoded again for every link)."""
    ellipsis = cl.paginator.ELLIPSIS
    query = _escape(cl.get_query_string({PAGE_VAR: PK_MARK}))
    links = []
    for number in page_range:
        if number == ellipsis:
            links.append(f"{_escape(ellipsis)} ")
        elif number == cl.page_num:
            links.append(f'<span class="this-page">{_escape(number)}</span> ')
        else:
            end = ' class="end"' if number == cl.paginator.num_pages else ""
            href = query.replace(PK_MARK, str(int(number)))
            links.append(f'<a href="{href}"{end}>{_escape(number)}</a> ')
    return mark_safe("\n    ".join(links))  # every value above is escaped


class ResultListNode(InclusionAdminNode):
    """Django's result_list tag, the table written by `table()` unless rows are edited."""

    def render(self, context: template.Context) -> SafeString:
        cl = self.args[0].resolve(context)
        if cl.formset:
            return super().render(context)
        return table(cl)


@register.tag(name="backoffice_result_list")
def result_list_tag(parser: Any, token: Any) -> ResultListNode:
    # django-stubs names the arguments differently from Django 5.2's InclusionAdminNode.
    return ResultListNode(  # type: ignore[call-arg]
        parser, token, func=admin_list.result_list, template_name="change_list_results.html",
        takes_context=False,
    )  # fmt: skip
