"""Dates as CSV exports write them: ISO (optionally with a time and an offset) or US (M/D/YYYY, optionally
with a 12- or 24-hour time); a date or time without an offset is in the configured time zone."""

from __future__ import annotations

import datetime
import re
import zoneinfo

_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_US_RE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])\.?[Mm]?\.?)?$"
)
_US_24H_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?$")
DATE_HELP = "Use YYYY-MM-DD (ISO, optionally with a time) or M/D/YYYY (US)."


class DateError(ValueError):
    """The text is not a date; the message says why."""


def parse_datetime(text: str, tz: datetime.tzinfo) -> datetime.datetime:
    """An ISO or US (M/D/YYYY, optionally with a 12- or 24-hour time) date as an aware datetime.

    A date or time without an offset is in ``tz``; a date alone is midnight there.
    """
    s = text.strip()
    try:
        if len(s) == 10 and s[4] == "-":  # the common case, fast
            day = datetime.date.fromisoformat(s)
            return datetime.datetime(day.year, day.month, day.day, tzinfo=tz)
        iso = _ISO_RE.match(s)
        moment = datetime.datetime.fromisoformat(s.replace(" Z", "Z")) if iso else _parse_us(s)
    except ValueError:
        raise DateError(f"Not a valid date: '{text}'. {DATE_HELP}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _parse_us(s: str) -> datetime.datetime:
    match = _US_RE.match(s) or _US_24H_RE.match(s)
    if match is None:
        raise ValueError(s)
    groups = match.groups()
    month, day, year = int(groups[0]), int(groups[1]), int(groups[2])
    hour = int(groups[3]) if groups[3] else 0
    minute = int(groups[4]) if groups[4] else 0
    second = int(groups[5]) if groups[5] else 0
    meridiem = groups[6].lower() if len(groups) > 6 and groups[6] else ""
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(s)
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    return datetime.datetime(year, month, day, hour, minute, second)


def parse_date(text: str, tz: datetime.tzinfo) -> datetime.date:
    """The calendar date of :func:`parse_datetime` (in its own offset)."""
    return parse_datetime(text, tz).date()


def default_timezone() -> datetime.tzinfo:
    from django.conf import settings

    return zoneinfo.ZoneInfo(settings.TIME_ZONE or "UTC")
