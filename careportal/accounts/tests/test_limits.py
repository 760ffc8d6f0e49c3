"""The per-login limit helper: windows counted from stored rows, their edges, summed columns."""

import datetime

import time_machine

from careportal.accounts import limits
from careportal.accounts.limits import Limit
from careportal.accounts.models import PasswordResetRequest

NOW = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
SECOND = datetime.timedelta(seconds=1)
PER_HOUR = Limit(most=2, within=HOUR)
PER_DAY = Limit(most=3, within=datetime.timedelta(days=1))


def _resets(user, *ages, wrong_answers=0):
    """Store a reset request of `user` made each `age` before NOW; return the login's rows."""
    for age in ages:
        row = PasswordResetRequest.objects.create(user=user, wrong_answers=wrong_answers)
        PasswordResetRequest.objects.filter(pk=row.pk).update(created_at=NOW - age)
    return PasswordResetRequest.objects.filter(user=user)


def test_it_counts_a_row_just_inside_the_window_and_not_one_just_outside(cast):
    rows = _resets(cast.tom, HOUR - SECOND, HOUR + SECOND)

    with time_machine.travel(NOW, tick=False):
        assert limits.used(rows, PER_HOUR) == 1
        assert limits.reached(rows, PER_HOUR) is None


def test_it_counts_a_row_made_exactly_one_window_ago(cast):
    rows = _resets(cast.tom, HOUR, HOUR - SECOND)

    with time_machine.travel(NOW, tick=False):
        assert limits.used(rows, PER_HOUR) == 2
        assert limits.reached(rows, PER_HOUR) == PER_HOUR


def test_it_forgets_a_row_as_its_window_passes(cast):
    rows = _resets(cast.tom, datetime.timedelta(minutes=30), datetime.timedelta(minutes=59))

    with time_machine.travel(NOW, tick=False) as clock:
        assert limits.reached(rows, PER_HOUR) == PER_HOUR
        clock.shift(datetime.timedelta(minutes=1, seconds=1))
        assert limits.reached(rows, PER_HOUR) is None


def test_it_sums_a_column_over_the_rows_inside_the_window(cast):
    _resets(cast.tom, HOUR - SECOND, wrong_answers=2)
    _resets(cast.tom, datetime.timedelta(minutes=5), wrong_answers=1)
    rows = _resets(cast.tom, HOUR + SECOND, wrong_answers=4)
    wrong = Limit(most=3, within=HOUR)

    with time_machine.travel(NOW, tick=False):
        assert limits.used(rows, wrong, summing="wrong_answers") == 3
        assert limits.reached(rows, wrong, summing="wrong_answers") == wrong
        assert limits.used(rows, wrong) == 2


def test_it_sums_to_zero_when_no_row_is_inside_the_window(cast):
    rows = _resets(cast.tom, HOUR + SECOND, wrong_answers=4)

    with time_machine.travel(NOW, tick=False):
        assert limits.used(rows, PER_HOUR, summing="wrong_answers") == 0


def test_it_names_the_first_limit_reached_in_one_query(cast, django_assert_num_queries):
    rows = _resets(cast.tom, datetime.timedelta(hours=2), datetime.timedelta(hours=3), 5 * SECOND)

    with time_machine.travel(NOW, tick=False):
        with django_assert_num_queries(1):
            assert limits.reached(rows, PER_HOUR, PER_DAY) == PER_DAY
        _resets(cast.tom, 10 * SECOND)
        assert limits.reached(rows, PER_HOUR, PER_DAY) == PER_HOUR


def test_it_counts_only_the_rows_it_is_given(cast):
    _resets(cast.ellen, SECOND, 2 * SECOND)
    rows = _resets(cast.tom, SECOND)

    with time_machine.travel(NOW, tick=False):
        assert limits.used(rows, PER_HOUR) == 1


def test_it_returns_the_locked_login_as_stored(cast):
    stale = cast.tom
    type(stale).objects.filter(pk=stale.pk).update(email="tom.new@example.com")

    assert limits.lock_login(stale).email == "tom.new@example.com"
