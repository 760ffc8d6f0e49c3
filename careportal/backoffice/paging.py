"""Paging of the back office's big lists without counting the whole table.

An agency's visits, invoice lines and audit events run to hundreds of thousands of rows,
and a plain `COUNT(*)` of them on every page view would cost more than the page itself.
`EstimatedCountPaginator` counts at most `count_limit` rows; past that it takes the
planner's estimate on PostgreSQL (read from `EXPLAIN`, which reads no rows) or stops at
"more than" the limit elsewhere, and still lets staff move page by page.
"""

from __future__ import annotations

import json
import math
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext

if TYPE_CHECKING:
    from django.core.paginator import _SupportsPagination

    # Django's paginator, for the rows of any model's list.
    _Paginator = Paginator[Any]
else:
    _Paginator = Paginator


# The planner's estimates, by query. They come from the table's statistics, which change
# only when the table is analysed: a list reloaded or paged through asks PostgreSQL again
# after a few minutes rather than on every page view (a round trip of every big list).
ESTIMATE_SECONDS = 300
ESTIMATES_KEPT = 1_000
_estimates: dict[tuple[Any, ...], tuple[float, int]] = {}


def planner_estimate(queryset: QuerySet[Any]) -> int | None:
    """Return PostgreSQL's estimate of the queryset's row count, or None on other databases.

    The estimate comes from the table's statistics through `EXPLAIN`, so it costs a plan,
    not a scan; it is rough (within a few per cent on a table that is analysed), and is
    kept for `ESTIMATE_SECONDS`.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    key: tuple[Any, ...] | None = (queryset.db, sql, *params)
    try:
        kept = _estimates.get(key)  # type: ignore[arg-type]  # None only below
    except TypeError:  # a parameter that is not hashable (a list): not kept
        kept, key = None, None
    now = time.monotonic()
    if kept is not None and now - kept[0] < ESTIMATE_SECONDS:
        return kept[1]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg returns the JSON parsed; older drivers as text
        plan = json.loads(plan)
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    if key is not None:
        if len(_estimates) >= ESTIMATES_KEPT:
            _estimates.clear()
        _estimates[key] = (now, estimate)
    return estimate


class EstimatedCountPaginator(_Paginator):
    """A paginator whose count reads at most `count_limit` + 1 rows.

    Up to the limit the count is exact. Past it, `is_estimate` is true and the count is the
    planner's estimate (PostgreSQL) or the limit plus one; any page number is then
    accepted, and a page past the real end is simply empty rather than an error.
    """

    count_limit = 1_000

    def __init__(
        self, object_list: _SupportsPagination[Any], per_page: int | str, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.is_estimate = False

    @cached_property
    def count(self) -> int:
        """Return the exact count up to the limit, else an estimate above it."""
        if not isinstance(self.object_list, QuerySet):
            return super().count
        # Only the first rows past the limit are read, whatever the size of the table, and
        # only their ids: an annotation of the list (a subquery per row) is not computed.
        capped = self.object_list.order_by().values("pk")[: self.count_limit + 1].count()
        if capped <= self.count_limit:
            return capped
        self.is_estimate = True
        estimate = planner_estimate(self.object_list)
        return max(self.count_limit + 1, estimate or 0)

    @property
    def count_label(self) -> str:
        """Return the count as staff read it: "42", "about 120,000", "more than 1,000"."""
        count = self.count
        if not self.is_estimate:
            return number_format(count, force_grouping=True)
        if count > self.count_limit + 1:
            return gettext("about %(count)s") % {
                "count": number_format(_round_for_reading(count), force_grouping=True)
            }
        return gettext("more than %(count)s") % {
            "count": number_format(self.count_limit, force_grouping=True)
        }

    def validate_number(self, number: int | float | str) -> int:
        if self.count <= self.count_limit:
            return super().validate_number(number)
        # Past the limit the last page is not known exactly: any page from 1 on is fine.
        try:
            whole = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(gettext("That page number is not an integer")) from None
        if whole < 1:
            raise EmptyPage(gettext("That page number is less than 1"))
        return whole

    def page(self, number: int | str) -> Page[Any]:
        number = self.validate_number(number)
        if not self.is_estimate:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list[bottom : bottom + self.per_page]
        page: Page[Any] = self._get_page(rows, number, self)  # type: ignore[attr-defined]  # not in django-stubs
        return page


def _round_for_reading(count: int) -> int:
    """Round an estimate to two significant digits: 1,034,211 reads "about 1,000,000"."""
    digits = max(int(math.log10(count)) - 1, 0)
    return round(count, -digits)
