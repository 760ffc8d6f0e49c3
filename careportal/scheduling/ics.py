"""The private calendar feed as iCalendar (RFC 5545), carrying the least a phone needs.

The feed leaves our hands for a phone's calendar service, so each event says only when,
"Care visit", the caregiver's first name and the status: no client name, no service,
no address.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from careportal.scheduling.calendar import ShownVisit
from careportal.scheduling.models import VisitStatus

if TYPE_CHECKING:
    from careportal.agencies.models import Agency

# How far back and ahead the feed reaches: enough to look back a month and plan a season.
WINDOW_BEFORE = datetime.timedelta(days=30)
WINDOW_AFTER = datetime.timedelta(days=90)
# The most events one fetch carries: a phone's calendar needs no more, and the answer
# stays small (about 250 bytes an event).
MAX_EVENTS = 2000
# A login with up to this many clients gets all of them in its feed; a login with more
# chooses which clients the feed carries, up to this many (none until it chooses).
FEED_CLIENTS_MAX = 25

_ICS_STATUS: dict[str, str] = {
    VisitStatus.CANCELLED: "CANCELLED",
    VisitStatus.MISSED: "CANCELLED",
}
# RFC 5545 3.1: content lines are folded at 75 octets; a continuation starts with a space.
_LINE_OCTETS = 75


def escape_text(value: str) -> str:
    """Return a TEXT value escaped as RFC 5545 3.3.11 says (backslash, ; , and newlines)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Return the content line folded at 75 octets, never inside a UTF-8 character."""
    if len(line) <= _LINE_OCTETS and line.isascii():
        return line
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = _LINE_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append("".join(current))
            # The space that starts a continuation counts towards its 75 octets.
            current, size, limit = [], 0, _LINE_OCTETS - 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def build_calendar(visits: Iterable[ShownVisit], *, agency: Agency, language: str = "") -> bytes:
    """Return the iCalendar document for these visits, in the user's language.

    Written line by line (escaped and folded as RFC 5545 says): the icalendar library
    cost most of a feed's time, building and checking objects for every property.
    """
    host = urlsplit(settings.SITE_URL).hostname or "careportal"
    stamp = _utc(timezone.now())
    with translation.override(language or settings.LANGUAGE_CODE):
        name = _("Care visits – %(agency)s") % {"agency": agency.name}
        # Not inside the f-string: makemessages would not find the words there.
        care_visit = _("Care visit")
        summary = fold(f"SUMMARY:{escape_text(care_visit)}")
        description = _("Caregiver: %(caregiver)s\nStatus: %(status)s")
        unassigned = _("Not yet assigned")
        statuses = {value: str(label) for value, label in VisitStatus.choices}
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//CarePortal//Care visits//EN",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            fold(f"X-WR-CALNAME:{escape_text(name)}"),
            # Phones refresh a subscription about this often.
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
            "X-PUBLISHED-TTL:PT1H",
        ]
        for visit in visits:
            caregiver = visit.caregiver if visit.caregiver is not None else unassigned
            detail = description % {
                "caregiver": caregiver,
                "status": statuses.get(visit.status, visit.status),
            }
            lines += (
                "BEGIN:VEVENT",
                summary,
                f"DTSTART:{_utc(visit.local_start)}",
                f"DTEND:{_utc(visit.local_end)}",
                f"DTSTAMP:{stamp}",
                fold(f"UID:visit-{visit.pk}@{host}"),
                fold(f"DESCRIPTION:{escape_text(detail)}"),
                f"STATUS:{_ICS_STATUS.get(visit.status, 'CONFIRMED')}",
                "END:VEVENT",
            )
        lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
