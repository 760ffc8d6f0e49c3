"""`make screenshots`: PNGs of the main pages at desktop and phone widths, from the demo data.

    python -m tests.journeys.screenshots [folder]     (default: docs/screenshots)

It starts the same server as the browser journeys (with `seed_demo` when that command exists,
the test cast otherwise), signs in as each portal role, follows the links of the portal's
navigation and the envelope, and saves each page it finds as
`<role>-<page>-<desktop|phone>.png`, with an index.md that shows them all. Pages come from the
navigation, so new pages appear without editing this file. The demo owner's back office index
is saved too, signed in with the demo TOTP key (seed_demo's DEMO_TOTP_KEY).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

import django
from playwright.sync_api import Browser, Page, sync_playwright

from tests.journeys.browser import DESKTOP, PHONE, launch, slug
from tests.journeys.server import ROOT, JourneyServer
from tests.journeys.steps import sign_in_to_back_office

# The test cast's portal roles, used when seed_demo does not say who its demo people are.
CAST_ROLES = [
    ("client", "margaret.hale"),
    ("emergency-contact", "tom.hale"),
    ("payer", "paula.payer"),
    ("community", "nora.nurse"),
]


def demo_sign_ins(demo: bool) -> tuple[list[tuple[str, str]], str]:
    """Return the portal roles to sign in as, (role, username), and their password.

    With seed_demo, its module's SIGN_INS and DEMO_PASSWORD, less the other agency and the
    back office but its owner (saved as BACK_OFFICE); otherwise the cast of
    tests/cast.py. Django starts here because those modules import models.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careportal.settings")
    django.setup()
    from django.core.management import get_commands

    from tests.cast import PASSWORD

    app = get_commands().get("seed_demo") if demo else None
    module = import_module(f"{app}.management.commands.seed_demo") if app else None
    sign_ins = getattr(module, "SIGN_INS", None)
    password = getattr(module, "DEMO_PASSWORD", None)
    if not sign_ins or not password:
        return CAST_ROLES, PASSWORD
    roles: dict[str, str] = {}
    for role, username, *_ in sign_ins:
        if role.lower() == "owner (back office)":
            roles.setdefault(BACK_OFFICE, username)
        if "back office" in role.lower() or "other agency" in role.lower():
            continue
        roles.setdefault(slug(role), username)
    return list(roles.items()), password


WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
# The role name under which the demo owner's back office is saved (seed_demo's staff have
# the demo TOTP key, seed_demo's DEMO_TOTP_KEY).
BACK_OFFICE = "back-office"
PAGE_NAMES = {"/": "dashboard", "/accounts/login/": "sign-in"}
# Pages whose path carries a token: named by what they are.
PAGE_PREFIXES = {"/accounts/setup/": "change-password", "/accounts/reset/": "reset-password"}
# Links of the page header, by their accessible names (issue 4's frame).
HEADER_LINKS = ["Email the agency owner", "My account"]


@dataclass
class Shot:
    role: str
    page: str
    width: str
    file: str


def page_name(path: str) -> str:
    for prefix, name in PAGE_PREFIXES.items():
        if path.startswith(prefix):
            return name
    return PAGE_NAMES.get(path) or slug(path)


def anonymous_paths(server: JourneyServer) -> list[str]:
    """Return the sign-in page and the links seed_demo printed (its pending invitation)."""
    paths = ["/accounts/login/"]
    for link in re.findall(r"https?://\S+", server.seed_output):
        parts = urlsplit(link)
        if f"{parts.scheme}://{parts.netloc}" == server.url and parts.path.startswith("/accounts/"):
            paths.append(parts.path)
    return list(dict.fromkeys(paths))


def settle(page: Page) -> None:
    """Wait for the page's requests to end (bounded), so the picture shows the finished page."""
    try:
        page.wait_for_load_state("networkidle", timeout=5_000)
    except Exception:  # noqa: BLE001 (a page that keeps a request open is still worth a picture)
        page.wait_for_timeout(500)


def portal_paths(page: Page) -> list[str]:
    """Return the same-site paths of the navigation's links, the envelope and the account menu."""
    hrefs = page.evaluate("() => [...document.querySelectorAll('nav a[href]')].map((a) => a.href)")
    for name in HEADER_LINKS:
        links = page.get_by_role("link", name=name, exact=True)
        if links.count():
            hrefs.append(page.evaluate("(a) => a.href", links.first.element_handle()))
    origin = urlsplit(page.url)
    paths: list[str] = []
    for href in hrefs:
        parts = urlsplit(href)
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            continue
        if parts.path.startswith(("/accounts/logout", "/static/", "/media/")):
            continue
        if parts.path not in paths:
            paths.append(parts.path)
    return paths or ["/"]


def shoot(
    browser: Browser,
    server: JourneyServer,
    folder: Path,
    role: str,
    username: str | None,
    password: str,
) -> tuple[list[Shot], list[str]]:
    """Save every page `role` reaches, at each width; return the shots and the problems."""
    shots: list[Shot] = []
    problems: list[str] = []
    for width_name, viewport in WIDTHS.items():
        context = browser.new_context(
            base_url=server.url, viewport=viewport, locale="en-US", device_scale_factor=1
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            if username is None:
                paths = anonymous_paths(server)
            else:
                page.goto("/accounts/login/")
                page.locator("input[name=username]").fill(username)
                page.locator("input[name=password]").fill(password)
                with page.expect_navigation():
                    page.locator("form:has(input[name=password]) [type=submit]").first.click()
                if urlsplit(page.url).path.startswith("/accounts/login"):
                    problems.append(f"{role}: {username} could not sign in with the demo password")
                    continue
                paths = portal_paths(page)
            for path in paths:
                response = page.goto(path)
                status = response.status if response else 0
                if status != 200:
                    problems.append(f"{role}: {path} answered {status}")
                    continue
                settle(page)
                name = page_name(path)
                file = f"{role}-{name}-{width_name}.png"
                page.screenshot(path=str(folder / file))
                shots.append(Shot(role, name, width_name, file))
        finally:
            context.close()
    return shots, problems


def shoot_back_office(
    browser: Browser, server: JourneyServer, folder: Path, username: str, password: str
) -> tuple[list[Shot], list[str]]:
    """Save the back office's index as the demo owner: password, then the demo key's code.

    One sign-in serves both widths: a TOTP code works once, and both would fall in the same
    30 seconds.
    """
    from careportal.agencies.management.commands.seed_demo import DEMO_TOTP_KEY

    shots: list[Shot] = []
    context = browser.new_context(base_url=server.url, viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in_to_back_office(page, username, password, DEMO_TOTP_KEY)
        state = context.storage_state()
    except Exception as error:  # noqa: BLE001 (a missing picture must not lose the others)
        return [], [f"{BACK_OFFICE}: {username} could not sign in: {error}"]
    finally:
        context.close()
    for width_name, viewport in WIDTHS.items():
        context = browser.new_context(
            base_url=server.url, viewport=viewport, locale="en-US", storage_state=state
        )
        try:
            page = context.new_page()
            page.goto("/backoffice/")
            settle(page)
            file = f"{BACK_OFFICE}-index-{width_name}.png"
            page.screenshot(path=str(folder / file))
            shots.append(Shot(BACK_OFFICE, "index", width_name, file))
        finally:
            context.close()
    return shots, []


def write_index(folder: Path, shots: list[Shot]) -> None:
    lines = [
        "# Screenshots",
        "",
        "Made by `make screenshots` from the demo data; do not edit by hand.",
        "",
        "| role | page | desktop (1280x800) | phone (390x844) |",
        "|---|---|---|---|",
    ]
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for shot in shots:
        seen.setdefault((shot.role, shot.page), {})[shot.width] = shot.file
    for (role, name), files in seen.items():
        cells = [
            f"![{role} {name} {width}]({files[width]})" if width in files else ""
            for width in WIDTHS
        ]
        lines.append(f"| {role} | {name} | {' | '.join(cells)} |")
    (folder / "index.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    roles, password = demo_sign_ins(demo=True)
    shots: list[Shot] = []
    problems: list[str] = []
    with JourneyServer(data="demo") as server, sync_playwright() as playwright:
        print(f"Demo data from {'seed_demo' if server.has_command('seed_demo') else 'the cast'}")
        browser = launch(playwright)
        try:
            for role, username in [("anonymous", None), *roles]:
                if role == BACK_OFFICE and username:
                    role_shots, role_problems = shoot_back_office(
                        browser, server, folder, username, password
                    )
                else:
                    role_shots, role_problems = shoot(
                        browser, server, folder, role, username, password
                    )
                shots += role_shots
                problems += role_problems
        finally:
            browser.close()
    write_index(folder, shots)
    for shot in shots:
        print(f"saved {folder / shot.file}")
    for problem in problems:
        print(f"!! {problem}")
    print(f"{len(shots)} screenshots in {folder}, {len(problems)} problems")
    return 1 if not shots else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
