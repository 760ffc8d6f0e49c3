"""The invitation, end to end: saved client, worker, SMTP, the link, Change Password, Dashboard.

Runs on the journey harness (tests/journeys/conftest.py): a server process, its worker, an
SMTP server on loopback and Debian's chromium.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.journeys.browser import (
    axe_violations,
    describe_violations,
    tab_to,
    unlabelled_controls,
)
from tests.journeys.server import JourneyServer
from tests.journeys.steps import open_invitation

pytestmark = pytest.mark.browser


def test_it_takes_an_invited_client_from_the_email_to_the_dashboard(
    page: Page,
    journey_server: JourneyServer,
) -> None:
    journey_server.record(
        "invite_client", first_name="Iris", last_name="Journey", email="iris@mail.example"
    )
    mail = journey_server.mailbox.wait_for("iris@mail.example", timeout=30)
    username = mail.find(r"(?m)^Username: (\S+)")
    otp = mail.find(r"(?m)^One-time password: (\S+)")
    link = next(url for url in mail.links() if "/accounts/setup/" in url)
    assert username == "iris.journey" and username not in link

    open_invitation(page, link)
    expect(page.get_by_role("heading", level=1, name="Change Password")).to_be_visible()
    assert unlabelled_controls(page) == []
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)

    tab_to(page, "input[name=current_password]")
    page.keyboard.type(otp)
    page.get_by_label("New Password", exact=True).fill("short")
    # The rules are ticked as the person types (static/js/password-rules.js).
    rule = page.locator("[data-rule=min_length]")
    expect(rule).not_to_have_class("password-rule is-met")
    page.get_by_label("New Password", exact=True).fill("Spring garden 5 tulips!")
    expect(page.locator("[data-rule=min_length].is-met")).to_have_count(1)
    expect(page.locator("[data-rule=symbol].is-met")).to_have_count(1)
    page.get_by_label("Confirm Password", exact=True).fill("Spring garden 5 tulips!")
    expect(page.locator("[data-rule=match].is-met")).to_have_count(1)
    page.get_by_label("Security question").select_option("first_pet")
    page.get_by_label("Answer", exact=True).fill("Biscuit")
    with page.expect_navigation():
        page.get_by_role("button", name="Save my new password").click()

    expect(page).to_have_url(f"{journey_server.url}/")
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()


def test_it_lists_errors_at_the_top_and_beside_the_fields_in_a_browser(
    page: Page,
    journey_server: JourneyServer,
) -> None:
    journey_server.record(
        "invite_client", first_name="Ivy", last_name="Journey", email="ivy@mail.example"
    )
    mail = journey_server.mailbox.wait_for("ivy@mail.example", timeout=30)
    link = next(url for url in mail.links() if "/accounts/setup/" in url)

    open_invitation(page, link)
    page.get_by_label("Current Password", exact=True).fill("not the one")
    page.get_by_label("New Password", exact=True).fill("weak")
    page.get_by_role("button", name="Save my new password").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("This is not the one-time password from your email")
    expect(page.locator("#new_password_errors")).to_contain_text("too short")
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)
