"""Every page of the portal's navigation, for each portal role, in a real browser.

The pages are found by following the navigation, so a page added to it is checked here
without editing this file.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.cast import PASSWORD
from tests.journeys.browser import (
    DESKTOP,
    NARROWEST,
    Screenshots,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    sign_in,
    unlabelled_controls,
)
from tests.journeys.screenshots import page_name, portal_paths

pytestmark = pytest.mark.browser

ROLES = {
    "client": "margaret.hale",
    "contact": "tom.hale",
    "payer": "paula.payer",
    "community": "nora.nurse",
}


@pytest.mark.parametrize("role", ROLES)
def test_it_offers_care_plan_in_the_navigation_to_the_client_alone(page: Page, role: str) -> None:
    sign_in(page, ROLES[role], PASSWORD)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()

    care_plan = page.locator("nav").get_by_role("link", name="Care Plan")

    expect(care_plan).to_have_count(1 if role == "client" else 0)
    for name in ("Dashboard", "Invoices", "Calendar"):
        expect(page.locator("nav").get_by_role("link", name=name)).to_have_count(1)


@pytest.mark.parametrize("role", ROLES)
def test_it_meets_wcag_and_fits_320_pixels_on_every_page_of_the_navigation(
    page: Page, screenshots: Screenshots, role: str
) -> None:
    sign_in(page, ROLES[role], PASSWORD)
    paths = portal_paths(page)
    problems = []

    for viewport in (DESKTOP, NARROWEST):
        page.set_viewport_size(viewport)
        for path in paths:
            response = page.goto(path)
            if response is None or response.status != 200:
                problems.append(f"{path}: answered {response and response.status}")
                continue
            where = f"{path} at {viewport['width']}px"
            screenshots.take(page, f"{page_name(path)}-{viewport['width']}")
            if overflow := horizontal_overflow(page):
                problems.append(f"{where}: scrolls {overflow}px sideways")
            if unlabelled := unlabelled_controls(page):
                problems.append(f"{where}: controls without a visible label {unlabelled}")
            if viewport is DESKTOP and (violations := axe_violations(page)):
                problems.append(f"{where}:\n{describe_violations(violations)}")

    assert len(paths) >= 3, paths
    assert problems == [], "\n".join(problems)
