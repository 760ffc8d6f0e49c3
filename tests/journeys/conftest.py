"""Fixtures of the browser journeys: one server for the session, one browser, a page per test.

Every test module here sets `pytestmark = pytest.mark.browser`, so the PostgreSQL pass of
`make test` can leave them out (`-m "not browser"`): their server has its own SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.journeys.browser import DESKTOP, Screenshots, launch
from tests.journeys.server import JourneyServer, Mailbox


@pytest.fixture(scope="session")
def journey_server() -> Iterator[JourneyServer]:
    """CarePortal in a server process with its worker, the shared cast, and an SMTP mailbox."""
    server = JourneyServer(data="cast").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mailbox(journey_server: JourneyServer) -> Mailbox:
    return journey_server.mailbox


# Package scope, not session: while Playwright's sync API runs, the main thread has a running
# event loop and Django refuses ORM calls there (SynchronousOnlyOperation). Stopping it after
# the last journey keeps the tests that come after this package working.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    require_no_running_loop()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def require_no_running_loop() -> None:
    """Fail with the cause when the main thread already runs an asyncio loop.

    Playwright's sync API cannot start then ("inside the asyncio loop"). Seen once in a full
    run: most likely another Playwright instance still alive, e.g. a `browser` fixture of wider
    scope in another package that had not been stopped when this package began.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"An asyncio loop {loop!r} (thread {getattr(loop, '_thread_id', None)}) is running in "
        f"the main thread ({threading.get_ident()}) before the journeys start: is another "
        "Playwright instance (a browser fixture of another package or module) still open? "
        "Give such fixtures module or package scope so they stop after their own tests."
    )


@pytest.fixture
def context(browser: Browser, journey_server: JourneyServer) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=journey_server.url, viewport=DESKTOP, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """Save each page the journey passes under $JOURNEY_SCREENSHOTS/<test name>/, when set."""
    return Screenshots(request.node.name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    # A failed journey shows the end of the server's and the worker's logs beside the error,
    # and leaves a picture of the page as it was when screenshots are on.
    report = yield
    funcargs = getattr(item, "funcargs", {})
    server = funcargs.get("journey_server")
    if report.failed and isinstance(server, JourneyServer):
        for name in ("server", "worker"):
            if log := server.log(name, tail=4000):
                report.sections.append((f"journey {name} log", log))
    page = funcargs.get("page")
    if report.failed and isinstance(page, Page):
        shots = funcargs.get("screenshots") or Screenshots(item.name)
        with contextlib.suppress(Exception):  # a closed page must not hide the real failure
            shots.take(page, f"failed-{report.when}", full_page=True)
    return report
