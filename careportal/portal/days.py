"""Days as the `date` filter writes them, each formatted once per process and language.

An invoice list, a Dashboard and an invoice's lines show the same days on every request
(issue and due dates, days of care); formatting one costs more than the rest of its row.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import formats
from django.utils.translation import get_language


@functools.lru_cache(maxsize=4096)
def _formatted(language: str, day: datetime.date, format_name: str) -> str:
    return formats.date_format(day, format_name)


def shown_day(day: datetime.date, format_name: str = "DATE_FORMAT") -> str:
    """Return the day in a format of the current language ("Dec. 2, 2026")."""
    return _formatted(get_language(), day, format_name)


@receiver(setting_changed)
def _forget_formats(**kwargs: Any) -> None:
    # A test that changes the formats or the languages gets its own.
    _formatted.cache_clear()
