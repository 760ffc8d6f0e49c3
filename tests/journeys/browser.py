"""Debian's chromium driven by Playwright, and the checks the journeys make on a page.

The browser is the one Debian's `chromium` package puts on the PATH: `playwright install`
downloads a build of its own, which cannot work where only package registries are reachable.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
INSTALL_HINT = (
    "Chromium is missing: the browser tests need Debian's chromium on the PATH. "
    "Run `make browser` (as root it installs it), or: apt-get update && apt-get install -y chromium"
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
NARROWEST = {"width": 320, "height": 640}
# 1280x800 at 200% zoom: the same CSS pixels as a 640x400 window.
ZOOMED = {"width": 640, "height": 400}
# WCAG 2.2 levels A and AA, as axe-core tags them.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS_ENV = "JOURNEY_SCREENSHOTS"

_axe = Axe()


def chromium_path() -> str:
    """Return the chromium on the PATH, or fail saying how to install it."""
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError(INSTALL_HINT)
    return path


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


def sign_in(page: Page, username: str, password: str) -> None:
    """Sign in through the sign-in page, as a person would, and wait for the next page."""
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) [type=submit]").first.click()


def axe_violations(page: Page, *, context: Any = None) -> list[dict[str, Any]]:
    """Return axe-core's violations of WCAG 2.2 A and AA on the page as it is now."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    return _axe.run(page, context=context, options=options).response["violations"]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """Return violations as lines a person can act on: rule, impact, help, the elements."""
    lines = []
    for violation in violations:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
    return "\n".join(lines)


def horizontal_overflow(page: Page) -> int:
    """Return by how many pixels the page is wider than the window (0 when it does not scroll)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )


def unlabelled_controls(page: Page, scope: str = "main") -> list[str]:
    """Return the visible form controls in `scope` that have no visible label.

    A field counts as labelled by a visible <label> with text; a button by its visible text.
    """
    return page.evaluate(
        """(scope) => {
          const root = document.querySelector(scope) || document.body;
          const visible = (el) => {
            const box = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
          };
          const missing = [];
          for (const el of root.querySelectorAll('input, select, textarea, button')) {
            if (el.type === 'hidden' || !visible(el)) continue;
            const name = el.name || el.id || el.outerHTML.slice(0, 60);
            if (el.tagName === 'BUTTON' || ['submit', 'button', 'reset'].includes(el.type)) {
              const text = (el.innerText || el.value || '').trim();
              if (!text) missing.push(name);
              continue;
            }
            const labels = [...(el.labels || [])].filter(
              (label) => visible(label) && label.innerText.trim());
            if (!labels.length) missing.push(name);
          }
          return missing;
        }""",
        scope,
    )


def focused(page: Page) -> dict[str, str]:
    """Return the focused element's tag, name, type and text."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          return {tag: el.tagName.toLowerCase(), name: el.name || '', type: el.type || '',
                  text: (el.innerText || '').trim().slice(0, 80)};
        }"""
    )


def focus_problem(page: Page) -> str | None:
    """Return why the focused element's focus cannot be seen, or None when it can.

    Seen means: the element has a size, is inside the window, and shows an outline or a
    box shadow (the browser's own focus ring counts).
    """
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body) return 'nothing has the focus';
          const name = el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : '')
            + ((el.innerText || '').trim() ? ` "${el.innerText.trim().slice(0, 40)}"` : '');
          const box = el.getBoundingClientRect();
          if (box.width < 1 || box.height < 1) return `${name} has no size`;
          if (box.bottom < 0 || box.right < 0 || box.top > innerHeight || box.left > innerWidth)
            return `${name} is outside the window`;
          const style = getComputedStyle(el);
          const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
          const shadow = style.boxShadow && style.boxShadow !== 'none';
          return outline || shadow ? null : `${name} shows no outline or shadow`;
        }"""
    )


def tab_to(
    page: Page, selector: str, *, limit: int = 25, key: str = "Tab", visible: bool = False
) -> None:
    """Press Tab (or `key`, e.g. Shift+Tab) until `selector` has the focus, at most `limit` times.

    With `visible`, fail at the first stop on the way whose focus cannot be seen.
    """
    for _ in range(limit):
        page.keyboard.press(key)
        if visible and (problem := focus_problem(page)):
            raise AssertionError(f"On the way to {selector} with {key}: {problem}")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of {key} never reached {selector}")


class Screenshots:
    """Save a PNG of each page a journey passes, when JOURNEY_SCREENSHOTS names a folder."""

    def __init__(self, journey: str, folder: str | os.PathLike | None = None) -> None:
        folder = folder if folder is not None else os.environ.get(SCREENSHOTS_ENV)
        self.folder = Path(folder) / slug(journey) if folder else None
        self.count = 0

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def take(self, page: Page, name: str, *, full_page: bool = False) -> Path | None:
        """Save the page as `<nn>-<name>.png` and return the file, or None when disabled."""
        if self.folder is None:
            return None
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.count:02d}-{slug(name)}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


def small_text(page: Page, minimum: float = 16) -> list[str]:
    """Return the visible text whose computed font size is under `minimum` CSS pixels.

    Every element with text of its own counts, not only paragraphs: a label, a badge or a
    table cell is read as much as the body text.
    """
    return page.evaluate(
        """(minimum) => {
          const found = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          const seen = new Set();
          while (walker.nextNode()) {
            const node = walker.currentNode;
            const el = node.parentElement;
            if (!node.textContent.trim() || !el || seen.has(el)) continue;
            seen.add(el);
            if (el.closest('template, script, style, [hidden], .visually-hidden, option')) continue;
            const box = el.getBoundingClientRect();
            if (box.width < 2 || box.height < 2) continue;
            const size = parseFloat(getComputedStyle(el).fontSize);
            if (size < minimum) found.push(
              `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ` +
              `"${node.textContent.trim().slice(0, 30)}" ${size}px`);
          }
          return found;
        }""",
        minimum,
    )


def small_targets(page: Page) -> list[str]:
    """Return the pointer targets smaller than WCAG 2.2 and issue 5 allow.

    Buttons (and links styled as buttons) and the navigation's links: at least 44x44 CSS
    pixels. Every other target (a, input, select, summary): at least 24x24, except a link
    inside a sentence, which WCAG 2.5.8 exempts (its size is the text's).
    """
    return page.evaluate(
        """() => {
          const found = [];
          const targets = document.querySelectorAll(
            'a[href], button, input:not([type=hidden]), select, textarea, summary');
          for (const el of targets) {
            const style = getComputedStyle(el);
            if (el.closest('[hidden], .visually-hidden, template, dialog:not([open])')) continue;
            if (style.visibility === 'hidden' || style.display === 'none') continue;
            const box = el.getBoundingClientRect();
            if (box.width < 2 && box.height < 2) continue;  // off-screen until focused
            if (el.classList.contains('skip-link')) continue;
            const big = el.matches('button, .button, [type=submit], [type=button], nav a');
            const need = big ? 44 : 24;
            if (!big && el.tagName === 'A' && style.display === 'inline') {
              const block = el.parentElement.closest('p, li, dd, td, th, div');
              const text = block ? block.textContent.replace(el.textContent, '').trim() : '';
              if (text) continue;  // a link in a sentence
            }
            if (box.width + 0.5 < need || box.height + 0.5 < need) {
              const name = (el.innerText || el.value || el.name || el.getAttribute('aria-label')
                || '').trim().slice(0, 30);
              found.push(`${el.tagName.toLowerCase()} "${name}" ` +
                `${Math.round(box.width)}x${Math.round(box.height)} (needs ${need}x${need})`);
            }
          }
          return found;
        }"""
    )
