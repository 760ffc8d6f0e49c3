"""The Spanish catalog: every string of the code is in it, translated, and compiled.

The .po and the compiled .mo are both committed, so a machine without GNU gettext still
shows Spanish; `make messages` refreshes both. These tests read the files with plain
Python; only the check against the code runs makemessages (xgettext), which `make test`
installs when it runs as root.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

LOCALE = Path(settings.BASE_DIR) / "locale"
PO = LOCALE / "es" / "LC_MESSAGES" / "django.po"
MO = LOCALE / "es" / "LC_MESSAGES" / "django.mo"
# The same folders `make messages` leaves out.
IGNORED = [".venv", "staticfiles", "docs", "data"]
ENTRY_LINE = re.compile(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|\bMINUTES\b|\bSECONDS\b")


def parse_po(text: str) -> list[dict]:
    """Return the entries of a .po file: msgctxt, msgid, msgid_plural, msgstr {index: text}."""
    entries: list[dict] = []
    entry: dict | None = None
    key: tuple[str, int] | str | None = None
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry is not None and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#"):
            continue
        elif match := ENTRY_LINE.match(line):
            name, index, value = match.group(1), match.group(2), ast.literal_eval(match.group(3))
            if name == "msgstr":
                key = ("msgstr", int(index or 0))
                entry["msgstr"][key[1]] = value
            else:
                key = name
                entry[name] = value
        elif line.startswith('"') and key is not None:
            value = ast.literal_eval(line)
            if isinstance(key, tuple):
                entry["msgstr"][key[1]] += value
            else:
                entry[key] += value
    return entries


def _messages(entries: list[dict]) -> list[dict]:
    """Return the translatable entries: not the header, not obsolete ones."""
    return [e for e in entries if e["msgid"] and not e["obsolete"]]


def _key(entry: dict) -> tuple[str, str, str]:
    return entry.get("msgctxt", ""), entry["msgid"], entry.get("msgid_plural", "")


def _catalog() -> list[dict]:
    return _messages(parse_po(PO.read_text(encoding="utf-8")))


def test_it_translates_every_entry_of_the_spanish_catalog():
    entries = _catalog()
    assert len(entries) > 500
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, f"Translate these in {PO.name}: {untranslated}"
    assert not fuzzy, f"Review these fuzzy entries in {PO.name}: {fuzzy}"
    header = parse_po(PO.read_text(encoding="utf-8"))[0]
    assert "fuzzy" not in header["flags"]
    assert "Language: es" in header["msgstr"][0]


def test_it_keeps_every_placeholder_in_the_translations():
    for entry in _catalog():
        for index, text in entry["msgstr"].items():
            source = entry["msgid_plural"] if index and "msgid_plural" in entry else entry["msgid"]
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (
                entry["msgid"],
                text,
            )


def test_it_ships_a_compiled_catalog_matching_the_po():
    expected: dict = {}
    for entry in _catalog():
        prefix = f"{entry['msgctxt']}\x04" if "msgctxt" in entry else ""
        if "msgid_plural" in entry:
            for index, text in entry["msgstr"].items():
                expected[(prefix + entry["msgid"], index)] = text
        else:
            expected[prefix + entry["msgid"]] = entry["msgstr"][0]
    with MO.open("rb") as mo:
        compiled = dict(gettext.GNUTranslations(mo)._catalog)
    compiled.pop("", None)
    assert compiled == expected, "The .mo is older than the .po: run `make messages`."


def test_it_has_a_spanish_translation_for_every_string_in_the_code(settings, monkeypatch):
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        pytest.fail(
            "GNU gettext is missing (xgettext, msgmerge): `make test` installs it as root, "
            "or run: apt-get install -y gettext"
        )
    # makemessages writes to the first locale path that contains the sources, so the scratch
    # catalog lives beside them for a moment, never in locale/.
    scratch = Path(tempfile.mkdtemp(prefix=".messages-check-", dir=settings.BASE_DIR))
    try:
        settings.LOCALE_PATHS = [scratch]
        monkeypatch.chdir(settings.BASE_DIR)
        # Ignoring locale/ keeps makemessages from choosing the real catalog over the scratch.
        call_command(
            "makemessages", locale=["es"], ignore_patterns=[*IGNORED, "locale"], verbosity=0
        )
        fresh = _messages(parse_po((scratch / "es/LC_MESSAGES/django.po").read_text("utf-8")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    assert len(fresh) > 500
    in_catalog = {_key(e) for e in _catalog()}
    missing = sorted(e["msgid"] for e in fresh if _key(e) not in in_catalog)
    assert not missing, (
        "These strings have no Spanish translation: run `make messages`, translate them in "
        f"locale/es/LC_MESSAGES/django.po, and run `make messages` again: {missing}"
    )
