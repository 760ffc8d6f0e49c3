"""The calendar's periods: which days a month, week or list view covers, in the agency's zone."""

from __future__ import annotations

import calendar as pycalendar
import datetime
import html
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.dateformat import format as format_date
from django.utils.dateformat import time_format
from django.utils.dates import MONTHS, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext

from careportal.scheduling.models import VisitStatus

VIEWS = ("month", "week", "list")


def first_weekday() -> int:
    """Return the first day of the week as Python counts it (Monday 0), from the locale."""
    # Django's FIRST_DAY_OF_WEEK counts Sunday as 0; Python's calendar counts Monday as 0.
    return (int(get_format("FIRST_DAY_OF_WEEK")) - 1) % 7


@dataclass(frozen=True)
class Period:
    view: str
    day: datetime.date
    first: datetime.date
    last: datetime.date
    previous: datetime.date
    next: datetime.date

    @classmethod
    def around(cls, view: str, day: datetime.date) -> Period:
        """Return the period of `view` that contains `day`, with its neighbours' dates."""
        if view == "week":
            start = day - datetime.timedelta(days=(day.weekday() - first_weekday()) % 7)
            return cls(
                view,
                day,
                start,
                start + datetime.timedelta(days=6),
                start - datetime.timedelta(days=7),
                start + datetime.timedelta(days=7),
            )
        first = day.replace(day=1)
        last = day.replace(day=pycalendar.monthrange(day.year, day.month)[1])
        previous = (first - datetime.timedelta(days=1)).replace(day=1)
        return cls(view, day, first, last, previous, last + datetime.timedelta(days=1))

    def bounds(self, tz: ZoneInfo) -> tuple[datetime.datetime, datetime.datetime]:
        """Return the aware start and end (exclusive) of the period in the agency's zone."""
        start = datetime.datetime.combine(self.first, datetime.time.min, tzinfo=tz)
        end = datetime.datetime.combine(
            self.last + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        return start, end

    def weeks(self) -> list[list[datetime.date]]:
        """Return the month's grid: whole weeks, starting on the locale's first weekday."""
        grid = pycalendar.Calendar(firstweekday=first_weekday())
        return grid.monthdatescalendar(self.first.year, self.first.month)

    def weekday_dates(self) -> list[datetime.date]:
        """Return one date for each weekday column, in the grid's order (for headers)."""
        return self.weeks()[0]


@dataclass(slots=True)
class ShownVisit:
    """What a calendar page (or the feed) shows of a visit: its times (in the agency's
    zone on the calendar), the caregiver's first name (None when not yet assigned),
    service and status."""

    pk: int
    client_id: int
    service: str
    status: str
    caregiver: str | None
    local_start: datetime.datetime
    local_end: datetime.datetime


class VisitMarkup:
    """Write visits as the calendar's list items, the words of the page looked up once.

    A template include per visit cost most of a busy month's time; this writes the same
    markup (time, client when several, service, caregiver's first name, status) in Python,
    every value escaped (the standard library's `html.escape`, as Django's `escape` does).
    """

    def __init__(self, *, client_names: dict[int, str] | None) -> None:
        # With several clients each visit names its client; with one, the name is noise.
        self.client_names = (
            {pk: html.escape(name) for pk, name in client_names.items()} if client_names else None
        )
        self.time_format = get_format("TIME_FORMAT")
        self.with_caregiver = gettext("with %(name)s")
        self.unassigned = html.escape(gettext("Not yet assigned"))
        self.statuses = {value: html.escape(str(label)) for value, label in VisitStatus.choices}
        self.times: dict[tuple[int, int], str] = {}
        self.caregivers: dict[str, str] = {}

    def time(self, moment: datetime.datetime) -> str:
        key = (moment.hour, moment.minute)
        if key not in self.times:
            self.times[key] = html.escape(time_format(moment, self.time_format))
        return self.times[key]

    def item(self, visit: ShownVisit) -> str:
        """Return one visit's list item."""
        start, end = visit.local_start, visit.local_end
        status = html.escape(visit.status)
        caregiver = self.unassigned
        if visit.caregiver is not None:
            name = visit.caregiver
            if name not in self.caregivers:
                self.caregivers[name] = self.with_caregiver % {"name": html.escape(name)}
            caregiver = self.caregivers[name]
        client = (
            f' <span class="visit-client">{self.client_names[visit.client_id]}</span>'
            if self.client_names is not None
            else ""
        )
        return (
            f'<li class="visit visit-{status}"><span class="visit-time">'
            f'<time datetime="{start.isoformat()}">{self.time(start)}</time>–'
            f'<time datetime="{end.isoformat()}">{self.time(end)}</time></span>{client}'
            f' <span class="visit-service">{html.escape(visit.service)}</span>'
            f' <span class="visit-caregiver">{caregiver}</span>'
            f' <span class="badge badge-{status}">{self.statuses.get(visit.status, status)}</span>'
            "</li>"
        )


def _month_cell_markup(cell: dict[str, Any], today_label: str) -> str:
    """Return one day of the month grid: its names, and its visits' list when it has any.

    Written here rather than by a template loop (thirty-five cells of ten tags each cost
    more than the rest of the page); the whitespace is the template's, so the page reads
    the same byte for byte.
    """
    today = f' <span class="today-label">{today_label}</span>' if cell["is_today"] else ""
    visits = f'<ul class="visits">{cell["visits"]}</ul>' if cell["visits"] else ""
    return (
        f'\n      <td class="{html.escape(cell["classes"])}">\n'
        '        <span class="day-label">\n'
        f'          <span class="visually-hidden-wide">{html.escape(cell["weekday"])}, </span>'
        f'<span class="day-number">{cell["number"]}</span>'
        f'<span class="visually-hidden-wide"> {html.escape(cell["month"])}</span>{today}\n'
        "        </span>\n"
        f"        {visits}\n"
        "      </td>\n      "
    )


def _day_heading(entry: dict[str, Any], today_label: str, indent: str) -> str:
    today = f' <span class="today-label">{today_label}</span>' if entry["is_today"] else ""
    return (
        f'<section class="calendar-day{" today" if entry["is_today"] else ""}"'
        f' aria-labelledby="day-{entry["iso"]}">\n'
        f'{indent}<h3 id="day-{entry["iso"]}">{html.escape(entry["heading"])}{today}</h3>\n'
    )


def _week_day_markup(entry: dict[str, Any], today_label: str, no_visits: str) -> str:
    """Return one day of the week view (its heading, its visits or "No visits.")."""
    if entry["visits"]:
        visits = f'<ul class="visits">{entry["visits"]}</ul>\n    '
    else:
        visits = f'<p class="no-visits">{no_visits}</p>'
    return f"\n  {_day_heading(entry, today_label, '    ')}    {visits}\n  </section>\n  "


def _list_day_markup(entry: dict[str, Any], today_label: str, no_visits: str) -> str:
    """Return one day of the list view: its heading and its visits."""
    return (
        f"\n{_day_heading(entry, today_label, '  ')}"
        f'  <ul class="visits">{entry["visits"]}</ul>\n</section>\n'
    )


def days_of(
    period: Period, by_day: dict[datetime.date, list[str]], today: datetime.date
) -> dict[str, Any]:
    """Return what the period's template lays out: weeks of a month, seven days, or a list.

    `by_day` holds each day's visits as list items (`VisitMarkup.item`); every day carries
    them joined, ready for its list, and its names (weekday, month, heading) written once.
    """
    weekdays = {number: str(name) for number, name in WEEKDAYS.items()}
    months = {number: str(name) for number, name in MONTHS.items()}
    heading_format = gettext("l, F j")

    def day(date: datetime.date) -> dict[str, Any]:
        items = by_day.get(date)
        return {
            "date": date,
            "iso": date.isoformat(),
            "number": date.day,
            "weekday": weekdays[date.weekday()],
            "month": months[date.month],
            "is_today": date == today,
            "visits": mark_safe("".join(items)) if items else SafeString(),
        }

    def month_cell(date: datetime.date) -> dict[str, Any]:
        cell = day(date)
        cell["in_month"] = date.month == period.first.month
        # The cell's classes: a day of another month, today, a day without visits.
        cell["classes"] = " ".join(
            name
            for name, applies in (
                ("outside", not cell["in_month"]),
                ("today", cell["is_today"]),
                ("empty", not cell["visits"]),
            )
            if applies
        )
        return cell

    if period.view == "month":
        today_label = html.escape(gettext("(today)"))
        weeks = [[month_cell(date) for date in week] for week in period.weeks()]
        return {
            # Each column's weekday, in full (for the title) and abbreviated.
            "weekdays": [
                (weekdays[date.weekday()], str(WEEKDAYS_ABBR[date.weekday()]))
                for date in period.weekday_dates()
            ],
            "weeks": weeks,
            "week_rows": [
                mark_safe("".join(_month_cell_markup(cell, today_label) for cell in week))
                for week in weeks
            ],
        }
    if period.view == "week":
        days = [day(period.first + datetime.timedelta(days=i)) for i in range(7)]
    else:
        # The list shows only the days that have visits.
        days = [day(date) for date in sorted(by_day)]
    today_label = html.escape(gettext("(today)"))
    no_visits = html.escape(gettext("No visits."))
    for entry in days:
        # A heading starts the line: "Martes 3 de marzo", not "martes".
        entry["heading"] = capfirst(format_date(entry["date"], heading_format))
    markup = _week_day_markup if period.view == "week" else _list_day_markup
    return {
        "days": days,
        "days_html": mark_safe("".join(markup(entry, today_label, no_visits) for entry in days)),
    }
