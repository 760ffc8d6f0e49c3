"""Journeys 1 and 2 of issue 5: from the back office and the invitation to a message sent.

A staff member signs in with two-factor sign-in and creates a client; the invitation goes out
over SMTP; the client sets a password and walks the portal: Invoices and the pop-up, Care Plan,
Calendar, and a message to the agency owner, who receives it with the client's address as
Reply-To. Then the same walk for an emergency contact, a payer and a community, who never see
Care Plan. And journey 1's portal part with the keyboard alone, the focus visible throughout.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.cast import PASSWORD
from tests.journeys.browser import Screenshots, focus_problem, focused, tab_to
from tests.journeys.server import JourneyServer, Mail, Mailbox
from tests.journeys.steps import (
    ANSWER,
    NEW_PASSWORD,
    change_password,
    invitation,
    open_invitation,
    sign_in_to_back_office,
)

pytestmark = pytest.mark.browser

OWNER_EMAIL = "owner@sunrise.example"


def owner_mail_from(mailbox: Mailbox, sender: str, text: str) -> Mail:
    """Wait for the owner's copy of the message that `sender` wrote (with `text` in it)."""
    return mailbox.wait_for(
        OWNER_EMAIL,
        match=lambda mail: sender in str(mail.message["Reply-To"] or "") and text in mail.text,
        timeout=30,
    )


def open_invoice_pop_up(page: Page, number: str) -> None:
    """Open Invoices, click the number, read the pop-up, close it: focus returns to the number."""
    page.locator("nav").get_by_role("link", name="Invoices").click()
    expect(page.get_by_role("heading", level=1, name="Invoices")).to_be_visible()
    # The heading shows while the page is still arriving; the pop-up needs its scripts, which
    # run once the whole page is in (before that, the link opens the invoice as a page).
    page.wait_for_load_state("load")
    link = page.get_by_role("link", name=number, exact=True)
    link.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=f"Invoice {number}")).to_be_focused()
    expect(dialog).to_contain_text("Personal care")  # its line
    expect(dialog).to_contain_text("Carla")  # the caregiver's first name
    expect(dialog).to_contain_text("$77.50")  # 2.50 hours at $31.00
    assert page.url.endswith("/invoices/")  # loaded without leaving the page
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()


def send_message_to_owner(page: Page, sender: str, text: str) -> None:
    """Click the envelope, find the template, add `text` in Message and press Send."""
    page.get_by_role("banner").get_by_role("link", name="Email the agency owner").click()
    expect(page.get_by_role("heading", level=1, name="Email the agency owner")).to_be_visible()
    message = page.get_by_label("Message", exact=True)
    # The agency's template: a greeting to the owner, then the sender's name.
    expect(message).to_have_value(re.compile(rf"^Dear Olivia Owner,\s+This is {sender}\b"))
    message.fill(message.input_value() + text)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Your message is saved and on its way")


def test_it_takes_a_client_from_the_back_office_to_a_message_to_the_owner(
    page: Page, journey_server: JourneyServer, mailbox: Mailbox, screenshots: Screenshots
) -> None:
    staff = journey_server.record("staff_with_demo_key", username="jo.j1")
    sign_in_to_back_office(page, staff["username"], PASSWORD, staff["key"])
    screenshots.take(page, "back-office")

    page.goto("/backoffice/people/client/add/")
    page.get_by_label("First name:").fill("Ada")
    page.get_by_label("Last name:").fill("Journey")
    page.get_by_label("Email:").fill("ada.journey@mail.example")
    screenshots.take(page, "back-office-add-client")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Ada Journey")

    # Her page lists her emergency contacts with a link to add one, for her already.
    page.locator(".messagelist").get_by_role("link", name="Ada Journey").click()
    her_page = page.url
    page.get_by_role("link", name="Add another emergency contact").click()
    expect(page.locator("#id_client")).to_contain_text("Ada Journey")
    page.get_by_label("Name:").fill("Bo Journey")
    page.get_by_label("Relationship:", exact=True).select_option(label="Son")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Bo Journey")
    expect(page).to_have_url(her_page)
    expect(
        page.locator("#client_form").get_by_role("link", name="Bo Journey (Son)")
    ).to_be_visible()
    screenshots.take(page, "back-office-client", full_page=True)

    mail = mailbox.wait_for("ada.journey@mail.example", timeout=30)
    invited = invitation(mail)
    assert invited.username == "ada.journey" and invited.username not in invited.link
    care = journey_server.record("give_care", email="ada.journey@mail.example")

    page.context.clear_cookies()  # the staff member leaves; the client opens the email's link
    open_invitation(page, invited.link)
    screenshots.take(page, "change-password")
    change_password(page, invited.one_time_password)
    expect(page).to_have_url(f"{journey_server.url}/")
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    screenshots.take(page, "dashboard")

    open_invoice_pop_up(page, care["invoice"])
    screenshots.take(page, "invoices")

    page.locator("nav").get_by_role("link", name="Care Plan").click()
    expect(page.get_by_role("heading", level=1, name="Care Plan")).to_be_visible()
    expect(page.get_by_text(care["plan"])).to_be_visible()
    screenshots.take(page, "care-plan")

    page.locator("nav").get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", level=1, name="Calendar")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Bathing")
    screenshots.take(page, "calendar")

    send_message_to_owner(page, "Ada Journey", "Could Carla come at ten on Tuesday?")
    screenshots.take(page, "message-sent")

    mail = owner_mail_from(mailbox, "ada.journey@mail.example", "Could Carla come at ten")
    assert mail.message["Reply-To"] == "ada.journey@mail.example"
    assert "Dear Olivia Owner" in mail.text


@pytest.fixture(scope="module")
def family(journey_server: JourneyServer) -> dict[str, Any]:
    """An emergency contact, a payer and a community of their own, invited (records.family)."""
    return journey_server.record("family", tag="fam")


@pytest.mark.parametrize("role", ["contact", "payer", "community"])
def test_it_walks_the_portal_without_care_plan_for_each_role_but_the_client(
    page: Page,
    journey_server: JourneyServer,
    mailbox: Mailbox,
    screenshots: Screenshots,
    family: dict[str, Any],
    role: str,
) -> None:
    person = family[role]
    invited = invitation(mailbox.wait_for(person["email"], timeout=30))

    open_invitation(page, invited.link)
    change_password(page, invited.one_time_password)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    expect(page.locator("nav").get_by_role("link", name="Care Plan")).to_have_count(0)
    screenshots.take(page, "dashboard")

    open_invoice_pop_up(page, person["invoice"])
    for number in person["other_invoices"]:
        expect(page.get_by_role("link", name=number, exact=True)).to_have_count(0)
    screenshots.take(page, "invoices")

    page.locator("nav").get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", level=1, name="Calendar")).to_be_visible()
    calendar = page.locator("main")
    for first_name in ("Alma", "Bruno"):
        expected = 1 if any(name.startswith(first_name) for name in person["clients"]) else 0
        expect(calendar.get_by_text(f"Visit for {first_name}")).to_have_count(expected)
    screenshots.take(page, "calendar")

    response = page.goto("/care-plan/")
    assert response is not None and response.status == 404
    page.goto("/")

    send_message_to_owner(page, person["name"], f"A note from the {role}.")
    mail = owner_mail_from(mailbox, person["email"], f"A note from the {role}.")
    assert mail.message["Reply-To"] == person["email"]
    assert ANSWER not in mail.text and NEW_PASSWORD not in mail.text


def test_it_takes_an_invited_client_through_the_portal_with_the_keyboard_alone(
    page: Page, journey_server: JourneyServer, mailbox: Mailbox, screenshots: Screenshots
) -> None:
    care = journey_server.record(
        "invited_client", first_name="Kay", last_name="Board", email="kay@mail.example"
    )
    invited = invitation(mailbox.wait_for("kay@mail.example", timeout=30))
    keyboard = page.keyboard

    def go(selector: str, key: str = "Tab") -> None:
        # Every stop on the way shows where the focus is (browser.focus_problem).
        tab_to(page, selector, key=key, visible=True, limit=40)

    open_invitation(page, invited.link)
    expect(page.get_by_role("heading", level=1, name="Change Password")).to_be_visible()
    go("input[name=current_password]")
    keyboard.type(invited.one_time_password)
    go("input[name=new_password]")
    keyboard.type(NEW_PASSWORD)
    go("input[name=confirm_password]")
    keyboard.type(NEW_PASSWORD)
    go("select[name=security_question]")
    keyboard.type("What was the name of your first pet")  # a select's type-ahead
    expect(page.get_by_label("Security question")).to_have_value("first_pet")
    go("input[name=answer]")
    keyboard.type(ANSWER)
    go("form.setup-form [type=submit]")
    screenshots.take(page, "change-password")
    keyboard.press("Space")
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()

    go("nav a[href='/invoices/']")
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Invoices")).to_be_visible()
    go(f"a[data-dialog-opener][href='/invoices/{care['invoice']}/']")
    keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=f"Invoice {care['invoice']}")).to_be_focused()
    assert focus_problem(page) is None
    expect(dialog).to_contain_text("$77.50")
    go("dialog [data-dialog-close]")
    keyboard.press("Tab")  # the focus stays inside the dialog
    assert page.evaluate("() => document.activeElement.closest('dialog') !== null")
    screenshots.take(page, "invoice-pop-up")
    keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name=care["invoice"], exact=True)).to_be_focused()
    assert focus_problem(page) is None

    go("nav a[href='/care-plan/']", key="Shift+Tab")
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Care Plan")).to_be_visible()
    expect(page.get_by_text(care["plan"])).to_be_visible()

    go("nav a[href^='/calendar/']")
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Calendar")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Bathing")

    go("header a[href='/messages/new/']")
    assert focused(page)["text"] == "Email the agency owner"
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Email the agency owner")).to_be_visible()
    go("textarea[name=body]")
    keyboard.press("Control+End")  # after the template's greeting
    keyboard.type("Typed without a mouse.")
    go("main form [type=submit]")
    assert focused(page)["text"] == "Send"
    keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your message is saved and on its way")

    mail = owner_mail_from(mailbox, "kay@mail.example", "Typed without a mouse.")
    assert mail.text.index("Dear Olivia Owner") < mail.text.index("Typed without a mouse.")
