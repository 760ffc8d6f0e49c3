"""Journeys 3 and 4 of issue 5: Forgot password, the lockout, and the idle warning.

Each journey signs in as a login of its own (records.login), so locking or resetting it
disturbs no other test.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Page, expect

from tests.journeys.browser import Screenshots, axe_violations, describe_violations, sign_in
from tests.journeys.server import JourneyServer, Mailbox
from tests.journeys.steps import NEW_PASSWORD

pytestmark = pytest.mark.browser


def make_login(server: JourneyServer, username: str, **kwargs: object) -> dict:
    return server.record("login", username=username, **kwargs)


def test_it_resets_a_forgotten_password_with_the_emailed_link_and_the_security_question(
    page: Page, journey_server: JourneyServer, mailbox: Mailbox, screenshots: Screenshots
) -> None:
    login = make_login(journey_server, "fern.forgot", question="first_street", answer="Elm Street")

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", level=1, name="Forgot password?")).to_be_visible()
    page.get_by_label("Username or email").fill(login["email"])
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    screenshots.take(page, "check-your-email")

    mail = mailbox.wait_for(login["email"], timeout=30)
    link = next(url for url in mail.links() if "/accounts/password/reset/" in url)
    page.goto(link)
    expect(page.get_by_role("heading", level=1, name="Choose a new password")).to_be_visible()
    expect(page.get_by_text("What was the name of the first street you lived on?")).to_be_visible()

    # A wrong answer is refused, whatever the password typed with it.
    page.get_by_label("Answer", exact=True).fill("Oak Avenue")
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save my new password").click()
    expect(page.get_by_text("That answer is not the one we have.").first).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)

    # The answer is compared without regard to case and spacing.
    page.get_by_label("Answer", exact=True).fill("  elm   STREET ")
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save my new password").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    screenshots.take(page, "password-changed")

    notice = mailbox.wait_for(login["email"], match=lambda m: m is not mail, timeout=30)
    assert "/accounts/password/reset/" not in notice.text
    sign_in(page, login["username"], NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()


def test_it_locks_the_account_after_three_wrong_passwords(
    page: Page, journey_server: JourneyServer, screenshots: Screenshots
) -> None:
    login = make_login(journey_server, "lena.locked")

    for attempt in range(1, 4):
        sign_in(page, login["username"], f"Wrong password {attempt}!")
        if attempt < 3:
            expect(page.get_by_role("alert")).to_contain_text("do not match")

    expect(page.get_by_role("heading", level=1, name="Account locked")).to_be_visible()
    expect(page.locator("main")).to_contain_text("locked for 30 minutes")
    expect(page.get_by_role("link", name="Forgot password?")).to_be_visible()
    screenshots.take(page, "locked")

    # The right password no longer opens it, typed in any case.
    sign_in(page, login["username"].upper(), login["password"])
    expect(page.get_by_role("heading", level=1, name="Account locked")).to_be_visible()
    response = page.goto("/")
    assert response is not None
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()


def seconds_left(page: Page) -> int:
    """Ask the server how long the session has left, as static/js/session.js does."""
    response = page.request.get("/accounts/session/")
    return json.loads(response.text())["seconds_left"]


def test_it_warns_before_the_idle_session_ends_and_stay_signed_in_keeps_it(
    page: Page, journey_server: JourneyServer, screenshots: Screenshots
) -> None:
    login = make_login(journey_server, "ida.idle")
    # The page's clock is Playwright's: the warning's timers run when the test says so.
    page.clock.install()
    sign_in(page, login["username"], login["password"])
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    warning = page.get_by_role("alertdialog", name="Are you still there?")
    expect(warning).to_be_hidden()
    idle = seconds_left(page)
    assert idle > 120

    # The person stays idle: on the server the session's last activity moves back until
    # 110 seconds are left, and in the page the clock moves on to when session.js asks again.
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    journey_server.record("age_session", session_key=session["value"], seconds_left=110)
    page.clock.fast_forward((idle - 120) * 1000)

    expect(warning).to_be_visible()
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    expect(warning).to_contain_text("Time left: about 2 minutes.")
    assert seconds_left(page) <= 110
    # As the end nears (the page asks the server every 15 seconds), the words follow: in
    # the singular, then under a minute.
    for left, words in ((80, "Time left: about 1 minute."), (40, "Time left: less than a minute.")):
        journey_server.record("age_session", session_key=session["value"], seconds_left=left)
        page.clock.fast_forward(15 * 1000)
        expect(warning).to_contain_text(words)
    screenshots.take(page, "idle-warning")
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)

    started = time.monotonic()
    stay.click()
    expect(warning).to_be_hidden()
    assert seconds_left(page) >= idle - (time.monotonic() - started) - 5
    response = page.goto("/invoices/")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1, name="Invoices")).to_be_visible()
