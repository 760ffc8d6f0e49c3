"""Figures of the measurement: percentiles, ratios to the floor, targets."""

from __future__ import annotations

import pytest

from bench import measure


def test_it_takes_the_nearest_rank_percentile():
    values = [float(n) for n in range(1, 21)]

    assert measure.percentile(values, 95) == 19.0
    assert measure.percentile(values, 50) == 10.0
    assert measure.percentile([7.0], 95) == 7.0


def test_it_refuses_a_percentile_of_nothing():
    with pytest.raises(ValueError, match="no values"):
        measure.percentile([], 95)


def _result(user: str, name: str, area: str, timings: list[float], size: int = 1000):
    page = measure.Page(user, name, f"/{name}/", area)
    return measure.Result(page, queries=3, bytes=size, timings_ms=timings)


def test_it_compares_each_page_with_its_logins_bare_floor():
    rows = measure.records(
        [
            _result("payer", measure.FLOOR, "floor", [2.0, 2.0, 2.0]),
            _result("payer", "Dashboard", "portal", [9.0, 10.0, 11.0]),
            _result("client", measure.FLOOR, "floor", [1.0, 1.0, 1.0]),
            _result("client", "Dashboard", "portal", [2.0, 2.5, 3.0]),
        ]
    )
    by_page = {(r["user"], r["page"]): r for r in rows}

    payer = by_page[("payer", "Dashboard")]
    assert (payer["floor_ms"], payer["ratio"], payer["passed"]) == (2.0, 5.0, True)
    client = by_page[("client", "Dashboard")]
    assert (client["ratio"], client["target_ratio"], client["passed"]) == (2.5, 3.0, True)


def test_it_fails_a_page_over_its_target_or_over_200_kb():
    rows = measure.records(
        [
            _result("client", measure.FLOOR, "floor", [1.0]),
            _result("client", "Calendar month", "portal", [3.5]),
            _result("client", "Invoices", "portal", [1.5], size=201 * 1024),
            _result("client", "Compose", "portal", [1.5]),
        ]
    )
    passed = {r["page"]: r["passed"] for r in rows}

    assert passed == {
        measure.FLOOR: True,
        "Calendar month": False,
        "Invoices": False,
        "Compose": True,
    }


def test_it_leaves_the_feed_token_out_of_the_report():
    assert measure.shown_url("/calendar/feed/s3cr3t-T0ken_x.ics") == "/calendar/feed/<token>.ics"
    assert measure.shown_url("/invoices/?client=4") == "/invoices/?client=4"
