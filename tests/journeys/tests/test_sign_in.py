"""The sign-in page and the way to the Dashboard, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.cast import PASSWORD
from tests.journeys.browser import (
    NARROWEST,
    Screenshots,
    axe_violations,
    describe_violations,
    focus_problem,
    focused,
    horizontal_overflow,
    sign_in,
    tab_to,
    unlabelled_controls,
)
from tests.journeys.server import JourneyServer

pytestmark = pytest.mark.browser

CLIENT = "margaret.hale"


def test_it_shows_the_sign_in_page_with_a_visible_label_on_every_control(
    page: Page, screenshots: Screenshots
) -> None:
    response = page.goto("/accounts/login/")

    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
    assert unlabelled_controls(page) == []
    screenshots.take(page, "sign-in")


def test_it_signs_a_client_in_with_the_keyboard_alone(
    page: Page, screenshots: Screenshots, journey_server: JourneyServer
) -> None:
    page.goto("/accounts/login/")

    tab_to(page, "input[name=username]")
    page.keyboard.type(CLIENT)
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    screenshots.take(page, "sign-in-filled")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page).to_have_url(f"{journey_server.url}/")
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    screenshots.take(page, "dashboard")


def test_it_reaches_the_submit_button_of_the_sign_in_form_by_tab(page: Page) -> None:
    page.goto("/accounts/login/")

    tab_to(page, "form:has(input[name=password]) [type=submit]")

    assert focused(page)["text"] == "Sign in"


def test_it_shows_where_the_focus_is_at_every_tab_stop_of_the_sign_in_page(page: Page) -> None:
    page.goto("/accounts/login/")
    problems = []

    stops = 0
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break  # past the last control: the focus went to the browser itself
        stops += 1
        if problem := focus_problem(page):
            problems.append(problem)

    assert stops >= 3  # the skip link, Username or email, Password, Sign in, ...
    assert problems == []


def test_it_finds_no_wcag_violation_on_the_sign_in_page(page: Page) -> None:
    page.goto("/accounts/login/")

    violations = axe_violations(page)

    assert violations == [], describe_violations(violations)


def test_it_finds_no_wcag_violation_on_the_dashboard(page: Page) -> None:
    sign_in(page, CLIENT, PASSWORD)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()

    violations = axe_violations(page)

    assert violations == [], describe_violations(violations)


def test_it_does_not_scroll_the_sign_in_page_sideways_at_320_pixels(
    page: Page, screenshots: Screenshots
) -> None:
    page.set_viewport_size(NARROWEST)
    page.goto("/accounts/login/")

    assert horizontal_overflow(page) == 0
    screenshots.take(page, "sign-in-320", full_page=True)


def test_it_shows_and_hides_the_password_and_never_submits_it_as_text(page: Page) -> None:
    page.goto("/accounts/login/")
    password = page.locator("input[name=password]")
    toggle = page.get_by_role("button", name="Show password")
    password.fill("typed-secret")

    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()

    expect(password).to_have_attribute("type", "text")
    hide = page.get_by_role("button", name="Hide password")
    expect(hide).to_have_attribute("aria-pressed", "true")
    hide.press("Enter")
    expect(password).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Show password")).to_be_visible()

    # Shown again, then the form is sent: the field is a password field again as it goes.
    # A listener added after the page's own records the type at that moment and keeps the
    # browser on the page.
    page.get_by_role("button", name="Show password").click()
    expect(password).to_have_attribute("type", "text")
    page.evaluate(
        """() => {
            const field = document.querySelector("input[name=password]");
            field.form.addEventListener("submit", (event) => {
                window.typeWhenSent = field.type;
                event.preventDefault();
            });
        }"""
    )
    password.press("Enter")
    assert page.evaluate("() => window.typeWhenSent") == "password"
