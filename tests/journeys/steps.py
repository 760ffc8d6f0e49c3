"""Steps that several journeys take: two-factor sign-in, the invitation, Change Password.

Each finds controls by their labels and roles, as a person and a screen reader would.
"""

from __future__ import annotations

from binascii import unhexlify
from dataclasses import dataclass

from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests.journeys.server import Mail

NEW_PASSWORD = "Spring garden 5 tulips!"
QUESTION = "first_pet"
ANSWER = "Biscuit"


def totp_code(key_hex: str) -> str:
    """Return the code an authenticator app shows now for this key (RFC 6238, 6 digits)."""
    return f"{TOTP(unhexlify(key_hex)).token():06d}"


def sign_in_to_back_office(page: Page, username: str, password: str, key_hex: str) -> None:
    """Sign in as staff: password, then the authenticator's code; end on the back office."""
    page.goto("/backoffice/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Two-step sign-in")).to_be_visible()
    page.get_by_label("Code").fill(totp_code(key_hex))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base(page)}/backoffice/")


def base(page: Page) -> str:
    """Return the scheme and host of the page's address."""
    scheme, _, rest = page.url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


@dataclass
class Invitation:
    username: str
    one_time_password: str
    link: str


def invitation(mail: Mail) -> Invitation:
    """Return what an invitation email gives: username, one-time password, set-up link."""
    return Invitation(
        username=mail.find(r"(?m)^Username: (\S+)"),
        one_time_password=mail.find(r"(?m)^One-time password: (\S+)"),
        link=next(url for url in mail.links() if "/accounts/setup/" in url),
    )


def open_invitation(
    page: Page, link: str, *, tries: int = 20, title: str = "Change Password"
) -> None:
    """Open an invitation's link and wait until it shows Change Password (`title`).

    The email can arrive a moment before the worker commits the invitation as sent; the page
    then asks to reload, as a person would.
    """
    heading = page.get_by_role("heading", level=1, name=title)
    for _ in range(tries):
        page.goto(link)
        if heading.count():
            return
        page.wait_for_timeout(250)
    expect(heading).to_be_visible()


def change_password(page: Page, one_time_password: str, new_password: str = NEW_PASSWORD) -> None:
    """Fill Change Password (the page the invitation's link opens) and save it."""
    expect(page.get_by_role("heading", level=1, name="Change Password")).to_be_visible()
    page.get_by_label("Current Password", exact=True).fill(one_time_password)
    page.get_by_label("New Password", exact=True).fill(new_password)
    page.get_by_label("Confirm Password", exact=True).fill(new_password)
    page.get_by_label("Security question").select_option(QUESTION)
    page.get_by_label("Answer", exact=True).fill(ANSWER)
    page.get_by_role("button", name="Save my new password").click()
