"""My privacy in a browser: a client narrows her son's access, he sees less, and she sees
his earlier look at her calendar in the list of who viewed her information.

People of its own (a client and her son, both with known passwords, a visit and an
invoice), made in the server's database; axe-core, the keyboard and 320 pixels on the page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.cast import PASSWORD
from tests.journeys.browser import (
    DESKTOP,
    NARROWEST,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    sign_in,
    small_targets,
    small_text,
    tab_to,
)
from tests.journeys.server import JourneyServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def privacy_people(journey_server: JourneyServer) -> dict:
    """Priya and her son Sol, her emergency contact (records.client_and_son)."""
    return journey_server.record("client_and_son", tag="privacy")


def assert_no_violation(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)


def test_it_lets_a_client_narrow_her_sons_access(
    page: Page, browser: Browser, journey_server: JourneyServer, privacy_people: dict
) -> None:
    people = privacy_people
    mother = page
    son_context = browser.new_context(
        base_url=journey_server.url, viewport=DESKTOP, locale="en-US", timezone_id="UTC"
    )
    son = son_context.new_page()

    # The son looks at the calendar and the invoices: both show his mother's.
    sign_in(son, people["son"], PASSWORD)
    son.goto("/calendar/?view=list")
    expect(son.get_by_text("Bathing").first).to_be_visible()
    son.goto("/invoices/")
    expect(son.get_by_role("link", name=people["invoice"], exact=True)).to_be_visible()
    # He has no My privacy: the tab is absent and the address answers 404.
    expect(son.get_by_role("link", name="My privacy")).to_have_count(0)
    assert son.goto("/my-privacy/").status == 404

    # The mother opens My privacy from the navigation and sees her son's look.
    sign_in(mother, people["mother"], PASSWORD)
    mother.get_by_role("navigation", name="Main").get_by_role("link", name="My privacy").click()
    expect(mother.get_by_role("heading", name="My privacy", level=1)).to_be_visible()
    views = mother.get_by_role("region", name="Views of my information, newest first")
    expect(views.get_by_role("row").filter(has_text="Calendar")).to_contain_text("Sol Privacy, Son")
    expect(views).to_contain_text("Invoices (the list)")
    assert_no_violation(mother)

    # With the keyboard alone: the calendar switch off, then Save.
    card = mother.locator("section.card", has_text="Sol Privacy, Son")
    calendar_box = card.get_by_label("Can see my calendar of visits")
    invoices_box = card.get_by_label("Can see my invoices")
    expect(calendar_box).to_be_checked()
    calendar_id = calendar_box.get_attribute("id")
    tab_to(mother, f"#{calendar_id}", limit=60, visible=True)
    mother.keyboard.press("Space")
    expect(calendar_box).not_to_be_checked()
    tab_to(mother, f"#{invoices_box.get_attribute('id')}", visible=True)
    mother.keyboard.press("Space")
    expect(invoices_box).not_to_be_checked()
    tab_to(mother, f"#{card.get_attribute('id')} button[type=submit]", visible=True)
    with mother.expect_navigation():
        mother.keyboard.press("Enter")
    expect(mother.get_by_role("status")).to_contain_text("Saved. Sol Privacy sees the change")
    expect(card).to_contain_text("Sees neither your calendar nor your invoices.")

    # A wrong date says so and changes nothing.
    card.get_by_label("Last day they can see anything (optional)").fill("2000-01-01")
    card.get_by_role("button", name="Save for Sol Privacy").click()
    expect(mother.get_by_role("alert")).to_contain_text("Nothing was changed for Sol Privacy")
    expect(mother.get_by_text("cannot be in the past")).to_be_visible()
    assert_no_violation(mother)

    # The son, at his next page, sees neither, and reads that his mother chose it.
    son.goto("/calendar/?view=list")
    expect(son.get_by_text("Priya Privacy chose not to share visits with you.")).to_be_visible()
    expect(son.get_by_text("Bathing")).to_have_count(0)
    son.goto("/invoices/")
    expect(son.get_by_text("Priya Privacy chose not to share invoices with you.")).to_be_visible()
    expect(son.get_by_role("link", name=people["invoice"], exact=True)).to_have_count(0)
    assert son.goto(f"/invoices/{people['invoice']}/").status == 404

    son_context.close()

    # The list filtered by who and by month (this month, the first offered).
    mother.goto("/my-privacy/")
    mother.get_by_label("Who", exact=True).select_option(label="Sol Privacy, Son")
    mother.get_by_label("Month", exact=True).select_option(index=1)
    mother.get_by_role("button", name="Show views").click()
    expect(mother).to_have_url(re.compile(r"who=\d+.*month=\d{4}-\d{2}"))
    expect(views).to_contain_text("Sol Privacy, Son")
    assert_no_violation(mother)

    # At 320 pixels the page fits, with large text and targets.
    mother.goto("/my-privacy/")
    mother.set_viewport_size(NARROWEST)
    assert horizontal_overflow(mother) == 0
    assert small_text(mother) == []
    assert small_targets(mother) == []
    assert_no_violation(mother)
