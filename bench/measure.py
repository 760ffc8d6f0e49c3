"""In-process measurement: every page for every measured login, in interleaved rounds.

Each login is signed in with a real database session (the test client's `force_login`,
which runs the same sign-in signal as the sign-in page; the owner's session is marked
two-factor verified as django-otp does). Every page is first checked to answer 200 and
its SQL queries counted; then each round requests every (login, page) once, floors
included, in a shuffled order, so machine noise falls on all pages alike.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.build import MEASURED

# Ratio of a page's median to the bare floor's median, by login.
PORTAL_TARGET = {"client": 3.0, "contact": 3.0, "payer": 5.0, "community": 5.0}
BACKOFFICE_TARGET = 5.0
MAX_HTML_BYTES = 200 * 1024
FLOOR = "Floor: bare"
FLOOR_TABLE = "Floor: 25-row table"


class MeasureError(Exception):
    """A page could not be measured (it did not answer 200); the message names it."""


@dataclass(frozen=True)
class Page:
    """One page to measure for one login."""

    user: str
    name: str
    url: str
    area: str  # "floor", "portal" or "backoffice"
    html: bool = True
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def target(self) -> float | None:
        """Return the most this page may cost, as a multiple of the bare floor."""
        if self.area == "portal":
            return PORTAL_TARGET[self.user]
        if self.area == "backoffice":
            return BACKOFFICE_TARGET
        return None


@dataclass
class Result:
    page: Page
    queries: int
    bytes: int
    timings_ms: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p95_ms(self) -> float:
        return percentile(self.timings_ms, 95)


def percentile(values: list[float], pct: float) -> float:
    """Return the nearest-rank percentile: the smallest value with pct% at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def sign_in(user: Any) -> Browser:
    """Return a test client signed in as the login with a real session in the database.

    Staff get a session verified by their confirmed authenticator, as after a code.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.cast import sign_in as sign_in_browser

    browser = sign_in_browser(Browser(), user)
    if user.kind == "staff":
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise MeasureError(f"{user.username} has no confirmed authenticator")
        session = browser.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return browser


def measured_logins() -> dict[str, Any]:
    """Return the measured logins by role: client, contact, payer, community, owner."""
    from careportal.accounts.models import User

    users = {u.username: u for u in User.objects.filter(username__in=MEASURED.values())}
    missing = [name for name in MEASURED.values() if name not in users]
    if missing:
        raise MeasureError(f"The bench data has no login {', '.join(missing)}: rebuild it.")
    return {role: users[username] for role, username in MEASURED.items()}


def feed_token(user: Any) -> str:
    """Return a new calendar feed address token of the login (its older feeds revoked)."""
    from careportal.scheduling.services import create_feed

    _feed, token = create_feed(user=user, request=None)
    return token


def pages_for(logins: dict[str, Any]) -> list[Page]:
    """Return every page measured, floors first, by URL.

    The invoice is one the login sees; payers and communities also get their pages
    narrowed to one of their clients (`?client=`).
    """
    from careportal.billing.models import Invoice
    from careportal.people import access

    pages: list[Page] = []
    for role in logins:
        pages.append(Page(role, FLOOR, reverse("bench_floor"), "floor"))
        pages.append(Page(role, FLOOR_TABLE, reverse("bench_floor_table"), "floor"))
    for role in ("client", "contact", "payer", "community"):
        user = logins[role]
        number = (
            Invoice.objects.visible_to(user)
            .order_by("-issue_date", "-id")
            .values_list("number", flat=True)
            .first()
        )
        if number is None:
            raise MeasureError(f"{user.username} sees no invoice: rebuild the bench data.")
        invoices = reverse("billing:invoice_list")
        calendar = reverse("scheduling:calendar")
        detail = reverse("billing:invoice_detail", args=[number])
        portal = [
            ("Dashboard", reverse("portal:dashboard"), True, ()),
            ("Invoices", invoices, True, ()),
            ("Invoices, paid", f"{invoices}?status=paid", True, ()),
            (
                "Invoices, overdue this year",
                f"{invoices}?status=overdue&issued_from={_year_ago()}",
                True,
                (),
            ),
            ("Invoice pop-up", detail, True, (("HX-Request", "true"),)),
            ("Invoice page", detail, True, ()),
            ("Invoice PDF", reverse("billing:invoice_pdf", args=[number]), False, ()),
            ("Calendar month", f"{calendar}?view=month", True, ()),
            ("Calendar week", f"{calendar}?view=week", True, ()),
            ("Calendar list", f"{calendar}?view=list", True, ()),
            ("Compose", reverse("messaging:compose"), True, ()),
            ("Sent messages", reverse("messaging:sent"), True, ()),
            ("My account", reverse("accounts:settings"), True, ()),
            ("Calendar feed", reverse("scheduling:feed", args=[feed_token(user)]), False, ()),
        ]
        if role == "client":
            portal.append(("Care Plan", reverse("careplans:care_plan"), True, ()))
            portal.append(("My privacy", reverse("privacy:my_privacy"), True, ()))
        if role in ("payer", "community"):
            client = access.calendar_clients(user).order_by("pk").first()
            if client is None:
                raise MeasureError(f"{user.username} has no client: rebuild the bench data.")
            narrow = f"client={client.pk}"
            portal += [
                ("Dashboard, one client", f"{reverse('portal:dashboard')}?{narrow}", True, ()),
                ("Invoices, one client", f"{invoices}?{narrow}", True, ()),
                ("Calendar month, one client", f"{calendar}?view=month&{narrow}", True, ()),
            ]
        pages += [
            Page(role, name, url, "portal", html, headers) for name, url, html, headers in portal
        ]
    client_id = logins["client"].client_record.pk
    pages += [
        Page(
            "owner",
            "Back office: clients",
            reverse("backoffice:people_client_changelist"),
            "backoffice",
        ),
        Page(
            "owner",
            "Back office: visits",
            reverse("backoffice:scheduling_visit_changelist"),
            "backoffice",
        ),
        Page(
            "owner",
            "Back office: invoices",
            reverse("backoffice:billing_invoice_changelist"),
            "backoffice",
        ),
        Page(
            "owner",
            "Back office: a client",
            reverse("backoffice:people_client_change", args=[client_id]),
            "backoffice",
        ),
    ]
    return pages


def _year_ago() -> str:
    import datetime

    return (datetime.date.today() - datetime.timedelta(days=365)).isoformat()


def _get(browser: Browser, page: Page) -> Any:
    # As through the TLS proxy in front of production: no redirect to https.
    return browser.get(page.url, secure=True, headers=dict(page.headers))


def check(browsers: dict[str, Browser], pages: list[Page]) -> dict[Page, Result]:
    """Request every page once; fail naming the first that does not answer 200.

    Return each page's result with its query count and body size.
    """
    results = {}
    for page in pages:
        with CaptureQueriesContext(connection) as queries:
            response = _get(browsers[page.user], page)
        if response.status_code != 200:
            where = response.get("Location", "")
            raise MeasureError(
                f"{page.name} for {page.user} ({page.url}) answered {response.status_code}"
                + (f", to {where}" if where else "")
            )
        results[page] = Result(page, queries=len(queries), bytes=len(response.content))
    return results


def measure(
    *,
    rounds: int = 25,
    warmup: int = 2,
    budget_seconds: float = 1200,
    min_rounds: int = 5,
    seed: int = 2026,
    log: Callable[[str], None] = print,
) -> tuple[list[Result], dict[str, Any]]:
    """Measure every page; return the results and the run's settings.

    After `min_rounds`, rounds stop early once `budget_seconds` have passed.
    """
    logins = measured_logins()
    browsers = {role: sign_in(user) for role, user in logins.items()}
    pages = pages_for(logins)
    log(f"Measuring {len(pages)} pages for {len(logins)} logins.")
    results = check(browsers, pages)
    for _ in range(warmup - 1):
        for page in pages:
            _get(browsers[page.user], page)
    rng = random.Random(seed)  # noqa: S311 (an order, not a secret)
    started = time.monotonic()
    done = 0
    for done in range(1, rounds + 1):
        order = pages[:]
        rng.shuffle(order)
        for page in order:
            browser = browsers[page.user]
            begin = time.perf_counter()
            _get(browser, page)
            results[page].timings_ms.append((time.perf_counter() - begin) * 1000)
        elapsed = time.monotonic() - started
        log(f"  round {done}/{rounds} ({elapsed:.0f} s)")
        if done >= min_rounds and elapsed > budget_seconds:
            log(f"  stopping after {done} rounds: the {budget_seconds:.0f} s budget is spent")
            break
    settings = {"rounds": done, "warmup_rounds": warmup, "seed": seed}
    return list(results.values()), settings


def shown_url(url: str) -> str:
    """Return the URL as reported: a calendar feed's secret token is left out."""
    return re.sub(r"/feed/[^/?]+\.ics", "/feed/<token>.ics", url)


def records(results: list[Result]) -> list[dict[str, Any]]:
    """Return one record per page and login, with its floor and ratio to it."""
    floors = {r.page.user: r.median_ms for r in results if r.page.name == FLOOR}
    rows = []
    for r in results:
        floor = floors[r.page.user]
        ratio = r.median_ms / floor if floor else 0.0
        target = r.page.target
        too_big = r.page.area == "portal" and r.page.html and r.bytes > MAX_HTML_BYTES
        rows.append(
            {
                "user": r.page.user,
                "page": r.page.name,
                "url": shown_url(r.page.url),
                "area": r.page.area,
                "html": r.page.html,
                "queries": r.queries,
                "median_ms": round(r.median_ms, 2),
                "p95_ms": round(r.p95_ms, 2),
                "floor_ms": round(floor, 2),
                "ratio": round(ratio, 2),
                "bytes": r.bytes,
                "target_ratio": target,
                "passed": (target is None or ratio <= target) and not too_big,
            }
        )
    return rows
