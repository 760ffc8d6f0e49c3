"""The private calendar feed as iCalendar (RFC 5545), carrying the least a phone needs.

The feed leaves our hands for a phone's calendar service, so each event says only when,
"Care visit", the caregiver's first name and the status: no client name, no service,
no address.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from careportal.scheduling.models import Visit, VisitStatus

# How far back and ahead the feed reaches: enough to look back a month and plan a season.
WINDOW_BEFORE = datetime.timedelta(days=30)
WINDOW_AFTER = datetime.timedelta(days=90)
# The most events one fetch carries: a phone's calendar needs no more, and the answer
# stays small (about 500 bytes an event).
MAX_EVENTS = 2000
# A login with up to this many clients gets all of them in its feed; a login with more
# chooses which clients the feed carries, up to this many (none until it chooses).
FEED_CLIENTS_MAX = 25

_ICS_STATUS = {
    VisitStatus.CANCELLED: "CANCELLED",
    VisitStatus.MISSED: "CANCELLED",
}


def build_calendar(visits: Iterable[Visit], *, agency: Any, language: str = "") -> bytes:
    """Return the iCalendar document for these visits, in the user's language."""
    host = urlsplit(settings.SITE_URL).hostname or "careportal"
    stamp = timezone.now().astimezone(datetime.UTC)
    with translation.override(language or settings.LANGUAGE_CODE):
        cal = icalendar.Calendar()
        cal.add("prodid", "-//CarePortal//Care visits//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("method", "PUBLISH")
        cal.add("x-wr-calname", _("Care visits – %(agency)s") % {"agency": agency.name})
        # Phones refresh a subscription about this often.
        cal.add("refresh-interval", datetime.timedelta(hours=1), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", "PT1H")
        for visit in visits:
            caregiver = (
                visit.caregiver.family_name_shown if visit.caregiver else _("Not yet assigned")
            )
            event = icalendar.Event()
            event.add("uid", f"visit-{visit.pk}@{host}")
            event.add("dtstamp", stamp)
            event.add("dtstart", visit.start.astimezone(datetime.UTC))
            event.add("dtend", visit.end.astimezone(datetime.UTC))
            event.add("summary", _("Care visit"))
            event.add(
                "description",
                _("Caregiver: %(caregiver)s\nStatus: %(status)s")
                % {"caregiver": caregiver, "status": visit.get_status_display()},
            )
            event.add("status", _ICS_STATUS.get(visit.status, "CONFIRMED"))
            cal.add_component(event)
        return cal.to_ical()
