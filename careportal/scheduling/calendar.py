"""The calendar's periods: which days a month, week or list view covers, in the agency's zone."""

from __future__ import annotations

import calendar as pycalendar
import datetime
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.formats import get_format

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


def days_of(
    period: Period, by_day: dict[datetime.date, list[Any]], today: datetime.date
) -> dict[str, Any]:
    """Return what the period's template lays out: weeks of a month, seven days, or a list."""

    def day(date: datetime.date) -> dict[str, Any]:
        return {"date": date, "is_today": date == today, "visits": by_day.get(date, [])}

    if period.view == "month":
        return {
            "weekdays": period.weekday_dates(),
            "weeks": [
                [{**day(date), "in_month": date.month == period.first.month} for date in week]
                for week in period.weeks()
            ],
        }
    if period.view == "week":
        return {"days": [day(period.first + datetime.timedelta(days=i)) for i in range(7)]}
    # The list shows only the days that have visits.
    return {"days": [day(date) for date in sorted(by_day)]}
