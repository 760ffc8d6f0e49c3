"""The README's pictures: made by `make screenshots`, present, and light enough to commit."""

from __future__ import annotations

import re

from tests.journeys.server import ROOT

FOLDER = ROOT / "docs" / "screenshots"


def test_it_shows_only_pictures_that_exist_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()

    pictures = re.findall(r"!\[[^\]]*\]\((docs/screenshots/[^)]+\.png)\)", readme)

    assert 4 <= len(pictures) <= 6, pictures
    assert {"desktop", "phone"} <= {p.rsplit("-", 1)[1].removesuffix(".png") for p in pictures}
    assert [p for p in pictures if not (ROOT / p).is_file()] == []
    assert "docs/screenshots/index.md" in readme


def test_it_keeps_the_screenshots_under_five_megabytes_in_all() -> None:
    sizes = [path.stat().st_size for path in FOLDER.glob("*.png")]

    assert sizes, "no screenshots: run make screenshots"
    assert sum(sizes) < 5 * 1024 * 1024
