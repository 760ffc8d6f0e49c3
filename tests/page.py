"""What a page does in the browser, read from its HTML, for tests that start no browser.

The browser journeys prove these behaviours in Chromium. The other tests ask these
questions instead of searching the markup for htmx's attribute names, so a change in how
a page does it (an attribute renamed, another library) is one change here:

- `polling(html)`: the address the page asks again every few seconds, or None;
- `pop_up_links(html)`: the links that open their page in a pop-up on the same page;
- `live_regions(html)`: the regions a screen reader reads out when they change, by id;
- `news(html)`: what an answer puts into a live region of the page (by the region's id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    """Every element with its attributes and the text inside it."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[_Element] = []
        self._open: list[_Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text.append(data)


def _elements(html: str) -> list[_Element]:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.elements


def polling(html: str) -> str | None:
    """Return the address the page asks again every few seconds, or None if it does not."""
    for element in _elements(html):
        if "every" in element.attrs.get("hx-trigger", "") and element.attrs.get("hx-get"):
            return element.attrs["hx-get"]
    return None


def pop_up_links(html: str) -> list[str]:
    """Return the addresses of the links that open in a pop-up (a dialog of the page)."""
    return [
        element.attrs["href"]
        for element in _elements(html)
        if element.tag == "a"
        and "data-dialog-opener" in element.attrs
        and element.attrs.get("hx-get") == element.attrs.get("href")
        and element.attrs.get("hx-target")
    ]


def live_regions(html: str) -> dict[str, str]:
    """Return the page's live regions (read out when they change): id -> their text now."""
    return {
        element.attrs.get("id", ""): "".join(element.text).strip()
        for element in _elements(html)
        if element.attrs.get("aria-live") in ("polite", "assertive")
        or element.attrs.get("role") == "status"
    }


def news(html: str) -> dict[str, str]:
    """Return what an answer puts into regions of the page around its target: id -> text."""
    return {
        element.attrs.get("id", ""): "".join(element.text).strip()
        for element in _elements(html)
        if "hx-swap-oob" in element.attrs
    }
