"""The report: the chart and the Markdown, from a results document."""

from __future__ import annotations

from bench import report


def _page(user: str, name: str, area: str, ratio: float, passed: bool = True) -> dict:
    return {
        "user": user,
        "page": name,
        "url": "/",
        "area": area,
        "html": True,
        "queries": 4,
        "median_ms": ratio * 2,
        "p95_ms": ratio * 3,
        "floor_ms": 2.0,
        "ratio": ratio,
        "bytes": 20_480,
        "target_ratio": None if area == "floor" else 3.0,
        "passed": passed,
    }


DOCUMENT = {
    "schema": 1,
    "generated_at": "2026-12-01T22:00:00+00:00",
    "run": {"rounds": 25, "warmup_rounds": 2, "seed": 1},
    "machine": {
        "cpu": "AMD EPYC",
        "cores": 2,
        "memory_gb": 23.5,
        "os": "Linux",
        "postgresql": "15.20",
        "python": "3.11.2",
        "django": "5.2",
        "load_average": [1.0, 1.0, 1.0],
    },
    "data": {
        "agency": "Bench Home Care",
        "built_at": "2026-12-01T21:00",
        "build_seconds": 150.0,
        "rows": {"visits": {"agency": 1_000_000, "all": 1_010_000}},
        "big_payer": {"name": "Evergreen", "clients": 2000, "invoices": 47900},
        "big_community": {"name": "Maple Grove", "residents": 300},
    },
    "pages": [
        _page("client", "Floor: bare", "floor", 1.0),
        _page("client", "Dashboard", "portal", 2.0),
        _page("client", "Invoices & <more>", "portal", 40.0, passed=False),
    ],
    "throughput": None,
}


def test_it_draws_a_bar_per_page_and_the_target_lines():
    svg = report.chart_svg(DOCUMENT["pages"])

    assert svg.count('<rect x="330"') == 2
    assert "client: Invoices &amp; &lt;more&gt;" in svg
    assert "40.0x (cut)" in svg
    assert ">3x</text>" in svg and ">5x</text>" in svg


def test_it_reports_each_target_with_its_worst_page():
    text = report.markdown(DOCUMENT)

    assert "| every portal page of the client within 3x the floor | **FAIL** " in text
    assert "(worst: Invoices & <more>, 40.0x)" in text
    assert "| visits | 1,000,000 | 1,010,000 |" in text
    assert "AMD EPYC, 2 cores" in text
