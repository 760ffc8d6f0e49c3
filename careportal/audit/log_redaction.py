"""Keep the calendar feed's secret out of the app's own logs.

A feed address (/calendar/feed/<token>.ics) is its own password: calendar apps fetch it
without signing in. Django logs request paths (runserver's access lines, "Not Found:" and
error lines of django.request), so settings.LOGGING puts RedactFeedTokens on the console
handler, and every line the app writes shows /feed/[redacted].ics instead. Logs written
by the TLS proxy or gunicorn's access log are outside Django: docs/security.md says how to
keep the token out of those.
"""

from __future__ import annotations

import logging
import re

# Any prefix: the pattern does not depend on where scheduling's URLs are included.
FEED_TOKEN = re.compile(r"(/feed/)[^/\s\"'?#]+(\.ics)")
REDACTED = r"\1[redacted]\2"


def redact_feed_tokens(text: str) -> str:
    """Return the text with the token of every feed address replaced by [redacted]."""
    return FEED_TOKEN.sub(REDACTED, text)


class RedactFeedTokens(logging.Filter):
    """A logging filter: rewrite a record whose message holds a feed address; drop nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed record is left for the handler to report as it would.
            return True
        redacted = redact_feed_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
