"""Imports in the back office (issue 13), as a new owner walks them in a browser.

An administrator with two-step sign-in opens Imports from the back office, downloads the
clients' template and checks a file with two errors: the preview names them by line and
column and nothing is saved. Then three clients with a contact each, a payer with its person
and a link between one client and the payer are imported: the progress and the summary arrive
on the page without a reload, the invitations by email, and the client's page names the payer.
The upload page with the keyboard alone and at 320 pixels; axe-core on the upload page, the
preview with errors and the summary. The worker beside the journey server runs the imports.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.cast import PASSWORD
from tests.journeys.browser import (
    NARROWEST,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    tab_to,
)
from tests.journeys.server import JourneyServer, Mailbox
from tests.journeys.steps import invitation, sign_in_to_back_office

pytestmark = pytest.mark.browser

IMPORTS = "/backoffice/imports/clientimport/"
CLIENTS_HEADER = (
    "external_id,first_name,last_name,preferred_name,date_of_birth,email,phone,address,status,"
    "contact_1_name,contact_1_relationship,contact_1_email,contact_1_phone,"
    "contact_2_name,contact_2_relationship,contact_2_email,contact_2_phone"
)
CLIENTS_WITH_ERRORS = (
    f"{CLIENTS_HEADER}\n"
    "ER-1,Edna,Errata,,1950-02-30,edna.errata@mail.example,,,active,,,,,,,,\n"
    "ER-2,Emil,Errata,,1948-05-01,emil.errata@mail.example,,=1+1,active,,,,,,,,\n"
)
CLIENTS = f"{CLIENTS_HEADER}\n" + "".join(
    f"UP-{n},{first},Upload,,1944-0{n}-1{n},{first.lower()}.upload@mail.example,555 010{n},"
    f"{n} Elm Street,active,{relative} Upload,daughter,{relative.lower()}.upload@mail.example,"
    ",,,,\n"
    for n, first, relative in ((1, "Iris", "Rita"), (2, "Ivan", "Vera"), (3, "Ines", "Nora"))
)
PAYERS = (
    "external_id,name,kind,contact_person,email,phone,address,"
    "person_1_name,person_1_email,person_2_name,person_2_email\n"
    "UP-P-1,Upload Mutual,ltc_insurer,Pam Upload,claims@upload-mutual.example,555 0200,"
    "1 Mutual Plaza,Pam Upload,pam.upload@mail.example,,\n"
)
LINKS = (
    "client_external_id,client_email,kind,payer_or_community_external_id,"
    "payer_or_community_name,start_date,end_date\n"
    "UP-1,iris.upload@mail.example,payer,UP-P-1,Upload Mutual,2026-01-01,\n"
)


def assert_no_violation(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)


def csv_file(name: str, text: str) -> dict[str, Any]:
    """Return a file for an upload: its name, its type and its bytes."""
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def sign_in_as_new_staff(page: Page, journey_server: JourneyServer, username: str) -> None:
    """Make an administrator of Sunrise with the demo key, and sign in with two-step sign-in.

    Each test has its own: a code of the key is refused when its device has just used it.
    """
    staff = journey_server.record("staff_with_demo_key", username=username)
    sign_in_to_back_office(page, staff["username"], PASSWORD, staff["key"])


def check_file(page: Page, kind: str, name: str, text: str) -> None:
    """From the Imports list: Import a file, choose the kind and the file, Check the file."""
    page.goto(IMPORTS)
    page.get_by_role("link", name="Import a file").click()
    expect(page.get_by_role("heading", level=1, name="Import a file")).to_be_visible()
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("CSV file").set_input_files(files=[csv_file(name, text)])
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1, name=f"Preview of {name}")).to_be_visible()


def import_all(page: Page) -> Locator:
    """Press Import all and return the summary, once it shows on the same page."""
    page.get_by_role("button", name="Import all").click()
    expect(page.locator("#import-state")).to_be_visible()
    page.evaluate("() => { window.sameImportPage = true; }")  # gone if the page reloads
    summary = page.locator(".import-summary")
    expect(summary).to_be_visible(timeout=20_000)
    assert page.evaluate("() => window.sameImportPage === true"), "the page was reloaded"
    return summary


def search_clients(page: Page, text: str) -> None:
    """Open the back office's list of clients and search it for `text`."""
    page.goto("/backoffice/people/client/")
    page.get_by_role("textbox", name="Search").fill(text)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"\?q={text}"))


def test_it_imports_clients_a_payer_and_their_link_with_progress_and_invitations(
    page: Page, journey_server: JourneyServer, mailbox: Mailbox
) -> None:
    sign_in_as_new_staff(page, journey_server, "ivy.imports")

    # Imports, from the back office's home page; the clients' template starts with its header.
    page.get_by_role("rowheader", name="Imports").get_by_role("link", name="Imports").click()
    expect(page.get_by_role("link", name="Import a file")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role(
            "link", name="Download the template of Clients with their emergency contacts"
        ).click()
    template = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert template.splitlines()[0] == CLIENTS_HEADER
    page.get_by_role("link", name="Import a file").click()
    kinds = page.get_by_role("group", name="Which kind of file is it?")
    expect(kinds.get_by_role("radio")).to_have_count(5)
    expect(kinds.get_by_label("Clients with their emergency contacts")).to_be_checked()

    # Three clients with a contact each: counted, imported in the background, invited.
    check_file(page, "Clients with their emergency contacts", "clients.csv", CLIENTS)
    expect(page.get_by_text("3 new records to add")).to_be_visible()
    # The worker takes it up within a second or two: the page shows it under way or done
    # (either may come first), then the summary, without a reload.
    summary = import_all(page)
    expect(summary).to_contain_text("3 records created")
    expect(summary).to_contain_text("6 invitations queued")  # the clients and their contacts
    expect(page.get_by_role("heading", level=1, name="Imported clients.csv")).to_be_visible()
    expect(page.get_by_role("link", name="Import another file")).to_be_visible()
    assert_no_violation(page)

    search_clients(page, "Upload")
    for first in ("Iris", "Ivan", "Ines"):
        expect(page.get_by_role("row").filter(has_text=f"{first.lower()}.upload@")).to_contain_text(
            first
        )
    assert invitation(mailbox.wait_for("iris.upload@mail.example")).username == "iris.upload"

    # A payer with its person, then the link of Iris to that payer.
    check_file(page, "Payers with their people", "payers.csv", PAYERS)
    expect(page.get_by_text("1 new record to add")).to_be_visible()
    expect(import_all(page)).to_contain_text("1 record created")
    check_file(page, "Clients' payers and communities", "links.csv", LINKS)
    expect(page.get_by_text("1 new record to add")).to_be_visible()
    expect(import_all(page)).to_contain_text("1 record created")

    # Iris's page in the back office names her payer.
    search_clients(page, "Iris")
    page.get_by_role("row").filter(has_text="iris.upload@").get_by_role(
        "link", name="Upload"
    ).click()
    expect(page.get_by_role("heading", level=2, name="Clients' payers")).to_be_visible()
    expect(page.get_by_role("link", name="Upload Mutual")).to_be_visible()


def test_it_shows_an_import_under_way_then_its_summary_without_a_reload(
    page: Page, journey_server: JourneyServer
) -> None:
    """The progress bar and the polling, with the import run when the journey says (the
    worker never sees this one): waiting to start, then done, on the same page."""
    sign_in_as_new_staff(page, journey_server, "ida.imports")
    waiting = journey_server.record(
        "import_waiting_for_the_worker",
        username="ida.imports",
        file_name="later.csv",
        text=f"{CLIENTS_HEADER}\nLA-1,Lola,Later,,1940-01-02,,,,active,,,,,,,,\n",
    )
    page.goto(f"{IMPORTS}{waiting}/change/")
    expect(page.get_by_text("The import is waiting to start.")).to_be_visible()
    expect(page.get_by_role("progressbar", name="How far it has got:")).to_be_visible()
    leave = page.get_by_text("You may leave this page: the import goes on.")
    expect(leave).to_be_visible()
    assert_no_violation(page)
    page.evaluate("() => { window.sameImportPage = true; }")  # gone if the page reloads

    assert journey_server.record("run_import_now", import_id=waiting) == "done"
    # The page asks every 2 seconds: the summary replaces the bar.
    summary = page.locator(".import-summary")
    expect(summary).to_contain_text("1 record created", timeout=10_000)
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(leave).to_have_count(0)  # over: nothing goes on
    assert page.evaluate("() => window.sameImportPage === true"), "the page was reloaded"
    # Screen readers hear it in the live region that each polled state fills.
    expect(page.locator("#import-news")).to_have_text("The import is done.")


def test_it_checks_a_file_with_errors_by_keyboard_and_saves_nothing(
    page: Page, journey_server: JourneyServer
) -> None:
    sign_in_as_new_staff(page, journey_server, "ike.imports")
    page.goto(f"{IMPORTS}add/")
    expect(page.get_by_role("heading", level=1, name="Import a file")).to_be_visible()
    assert_no_violation(page)

    # With the keyboard alone: the kind (clients, chosen already), the file, Check the file.
    tab_to(page, "input[name=kind]", limit=150, visible=True)
    expect(page.get_by_label("Clients with their emergency contacts", exact=True)).to_be_focused()
    tab_to(page, "#id_file", visible=True)
    # The file itself is chosen in the browser's own dialog, which Space opens on the focused
    # field; the test gives the field its file directly (waiting for that dialog's event
    # raced the key press now and then).
    file_field = page.locator("#id_file")
    expect(file_field).to_be_focused()
    file_field.set_input_files(files=[csv_file("errors.csv", CLIENTS_WITH_ERRORS)])
    tab_to(page, "input[type=submit]", visible=True)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Both errors, by line and column; nothing can be imported and nothing was saved.
    expect(page.get_by_role("heading", level=1, name="Preview of errors.csv")).to_be_visible()
    preview = page.url
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This file has errors. Nothing has been saved.")
    errors = page.locator(".import-errors")
    expect(errors).to_contain_text("Line 2, date_of_birth: 1950-02-30 is not a date")
    expect(errors).to_contain_text("Line 3, address: =1+1 starts with '='")
    expect(page.get_by_role("button", name="Import all")).to_have_count(0)
    assert_no_violation(page)
    search_clients(page, "Errata")
    expect(page.locator("#changelist")).to_contain_text(re.compile(r"\b0 results"))

    # At 320 pixels the upload page and the preview fit without sideways scrolling.
    page.set_viewport_size(NARROWEST)
    for address in (f"{IMPORTS}add/", preview):
        page.goto(address)
        assert horizontal_overflow(page) == 0, address
