"""Accessibility of the portal's states, and its pages at 320 pixels and at 200% zoom.

axe-core (WCAG 2.2 A and AA) on what a page shows only after an action: the invoice pop-up
open, form errors, empty lists. Then, at 320 pixels wide and at 200% zoom (1280x800 at 200%
is 640x400 CSS pixels), no page scrolls sideways, text is at least 16 pixels, buttons and
navigation at least 44 by 44 and every other target at least 24 by 24 (issue 5).
The errors of Change Password are checked in test_invitation_journey.py.
Last, axe and the sizes together on the pages outside the navigation: the account settings,
two-factor set-up, recovery codes and code, a sent message, the expired and the broken
invitation link, asking for a new invitation, "Check your email" and the locked page.
"""

from __future__ import annotations

from base64 import b32decode

import pytest
from playwright.sync_api import Page, expect

from tests.cast import PASSWORD
from tests.journeys.browser import (
    NARROWEST,
    ZOOMED,
    Screenshots,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    sign_in,
    small_targets,
    small_text,
)
from tests.journeys.screenshots import page_name, portal_paths
from tests.journeys.server import JourneyServer, Mailbox
from tests.journeys.steps import totp_code

pytestmark = pytest.mark.browser


def assert_no_violation(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)


@pytest.fixture(scope="module")
def client_with_care(journey_server: JourneyServer) -> dict:
    """A client of its own with two invoices, a service plan and a visit."""
    login = journey_server.record("login", username="axel.access", invoices=2)
    journey_server.record("give_care", email=login["email"])
    return login


def open_pop_up(page: Page, number: str) -> None:
    page.goto("/invoices/")
    page.get_by_role("link", name=number, exact=True).click()
    expect(
        page.get_by_role("dialog").get_by_role("heading", name=f"Invoice {number}")
    ).to_be_visible()


def test_it_finds_no_wcag_violation_with_the_invoice_pop_up_open(
    page: Page, client_with_care: dict, screenshots: Screenshots
) -> None:
    sign_in(page, client_with_care["username"], client_with_care["password"])

    open_pop_up(page, client_with_care["invoices"][0])

    screenshots.take(page, "invoice-pop-up")
    assert_no_violation(page)


def test_it_finds_no_wcag_violation_when_the_sign_in_fails(page: Page) -> None:
    sign_in(page, "nobody.known", "Not the password 1!")

    expect(page.get_by_role("alert")).to_contain_text("do not match")
    assert_no_violation(page)


def test_it_finds_no_wcag_violation_when_the_message_is_left_empty(
    page: Page, client_with_care: dict
) -> None:
    sign_in(page, client_with_care["username"], client_with_care["password"])
    page.goto("/messages/new/")

    page.get_by_label("Message", exact=True).fill("")
    page.get_by_role("button", name="Send").click()

    expect(page.locator("#id_body-errors")).to_contain_text("Write your message.")
    assert_no_violation(page)


def test_it_finds_no_wcag_violation_on_the_empty_lists(
    page: Page, journey_server: JourneyServer, screenshots: Screenshots
) -> None:
    login = journey_server.record("login", username="emma.empty")
    sign_in(page, login["username"], login["password"])
    problems = []

    for path in ["/", "/invoices/", "/calendar/", "/calendar/?view=list", "/messages/"]:
        page.goto(path)
        screenshots.take(page, page_name(path))
        if violations := axe_violations(page):
            problems.append(f"{path}:\n{describe_violations(violations)}")

    page.goto("/invoices/")
    expect(page.get_by_text("No invoices match.")).to_be_visible()
    assert problems == [], "\n".join(problems)


def test_it_finds_no_wcag_violation_on_the_pages_beyond_the_navigation(
    page: Page, client_with_care: dict
) -> None:
    sign_in(page, client_with_care["username"], client_with_care["password"])
    number = client_with_care["invoices"][0]
    problems = []

    for path in [
        "/calendar/?view=week",
        "/calendar/?view=list",
        "/calendar/feed/",
        "/messages/",
        f"/invoices/{number}/",
        "/invoices/?status=paid",
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        if violations := axe_violations(page):
            problems.append(f"{path}:\n{describe_violations(violations)}")

    assert problems == [], "\n".join(problems)


def size_problems(page: Page, where: str) -> list[str]:
    problems = []
    if overflow := horizontal_overflow(page):
        problems.append(f"{where}: scrolls {overflow}px sideways")
    problems += [f"{where}: text {text}" for text in small_text(page)]
    problems += [f"{where}: target {target}" for target in small_targets(page)]
    return problems


@pytest.mark.parametrize("viewport", [NARROWEST, ZOOMED], ids=["320px", "200-percent"])
def test_it_fits_and_keeps_text_and_targets_large_on_every_page(
    page: Page,
    journey_server: JourneyServer,
    client_with_care: dict,
    screenshots: Screenshots,
    viewport: dict[str, int],
) -> None:
    page.set_viewport_size(viewport)
    problems = []
    for path in ["/accounts/login/", "/accounts/password/forgot/"]:
        page.goto(path)
        problems += size_problems(page, path)

    # A client with data, and a payer who has several clients (the client selector).
    for username, password in [
        (client_with_care["username"], client_with_care["password"]),
        ("paula.payer", PASSWORD),
    ]:
        sign_in(page, username, password)
        extra = ["/calendar/?view=week", "/calendar/?view=list", "/calendar/feed/", "/messages/"]
        for path in portal_paths(page) + extra:
            page.goto(path)
            screenshots.take(page, f"{username}-{page_name(path)}")
            problems += size_problems(page, f"{username} {path}")
        page.context.clear_cookies()

    sign_in(page, client_with_care["username"], client_with_care["password"])
    number = client_with_care["invoices"][0]
    page.goto(f"/invoices/{number}/")
    problems += size_problems(page, "the invoice as a page")
    open_pop_up(page, number)
    screenshots.take(page, "invoice-pop-up")
    problems += size_problems(page, "the invoice pop-up")
    dialog = page.get_by_role("dialog").bounding_box()
    assert dialog is not None and dialog["x"] >= 0
    assert dialog["x"] + dialog["width"] <= viewport["width"], "the pop-up is cut off"

    assert problems == [], "\n".join(problems)


def problems_everywhere(page: Page, where: str) -> list[str]:
    """axe at 1280x800, then the sizes at 320 pixels and at 200% zoom, on the page as it is.

    Nothing is reloaded, so the pages that answer a form (recovery codes, the locked page,
    "Check your email") are checked as they were shown.
    """
    problems = []
    if violations := axe_violations(page):
        problems.append(f"{where}:\n{describe_violations(violations)}")
    for name, viewport in [("320px", NARROWEST), ("200%", ZOOMED)]:
        page.set_viewport_size(viewport)
        problems += size_problems(page, f"{where} at {name}")
    page.set_viewport_size({"width": 1280, "height": 800})
    return problems


def visit(page: Page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response is not None and response.status == status, path


def test_it_finds_no_problem_on_the_account_settings_and_a_sent_message(
    page: Page, journey_server: JourneyServer
) -> None:
    login = journey_server.record("login", username="sara.settings")
    sign_in(page, login["username"], login["password"])
    problems = []

    for path in [
        "/accounts/settings/",
        "/accounts/settings/password/",
        "/accounts/settings/security-question/",
        "/accounts/settings/email/",
    ]:
        visit(page, path)
        problems += problems_everywhere(page, path)

    page.goto("/messages/new/")
    page.get_by_label("Subject", exact=True).fill("A question about Tuesday")
    page.get_by_label("Message", exact=True).fill("Could the visit start at ten?")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/messages/*/")
    expect(page.get_by_text("Could the visit start at ten?")).to_be_visible()
    problems += problems_everywhere(page, "a sent message")

    assert problems == [], "\n".join(problems)


def test_it_finds_no_problem_on_the_two_factor_pages(
    page: Page, journey_server: JourneyServer
) -> None:
    login = journey_server.record("login", username="tom.twofactor")
    sign_in(page, login["username"], login["password"])
    problems = []

    page.goto("/accounts/two-factor/set-up/")
    expect(page.locator(".key-text code")).to_be_visible()
    problems += problems_everywhere(page, "the set-up with the QR code")
    key = page.locator(".key-text code").inner_text().replace(" ", "")
    page.get_by_label("Code", exact=True).fill(totp_code(b32decode(key).hex()))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.locator(".recovery-codes li").first).to_be_visible()
    problems += problems_everywhere(page, "the recovery codes")

    page.context.clear_cookies()
    sign_in(page, login["username"], login["password"])
    page.goto("/accounts/two-factor/")
    expect(page.get_by_label("Code", exact=True)).to_be_visible()
    problems += problems_everywhere(page, "/accounts/two-factor/")

    assert problems == [], "\n".join(problems)


def expired_invitation_link(server: JourneyServer, mailbox: Mailbox) -> str:
    """Invite a client of its own, wait for the email, then let the invitation expire."""
    email = "eve.expired@mail.example"
    server.record("invited_client", first_name="Eve", last_name="Expired", email=email)
    mailbox.wait_for(email, timeout=30)
    token = server.record("expire_invitation", email=email)
    return f"/accounts/setup/{token}/"


def test_it_finds_no_problem_on_the_pages_of_a_signed_out_person(
    page: Page, journey_server: JourneyServer, mailbox: Mailbox
) -> None:
    login = journey_server.record("login", username="lou.lockout")
    problems = []

    expired = expired_invitation_link(journey_server, mailbox)
    visit(page, expired)
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation no longer works")
    problems += problems_everywhere(page, "the expired invitation")
    for path, status in [("/accounts/setup/not-a-token/", 404), ("/accounts/setup/new/", 200)]:
        visit(page, path, status)
        expect(page.get_by_role("heading", level=1)).to_have_text("New invitation")
        problems += problems_everywhere(page, path)
    page.goto("/accounts/setup/new/")
    page.get_by_label("Username or email").fill("nobody.known")
    page.get_by_role("button", name="Email me a new invitation").click()
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    problems += problems_everywhere(page, "a new invitation asked for")

    page.goto("/accounts/password/forgot/")
    page.get_by_label("Username or email").fill(login["email"])
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    problems += problems_everywhere(page, "Check your email")

    for attempt in range(1, 4):
        sign_in(page, login["username"], f"Wrong password {attempt}!")
    expect(page.get_by_role("heading", level=1, name="Account locked")).to_be_visible()
    problems += problems_everywhere(page, "the locked page")

    assert problems == [], "\n".join(problems)
