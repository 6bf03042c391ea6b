"""Reporting periods: a day, ISO week, month, quarter, year or custom range of whole UTC days.

Periods are written the same way in URLs, the API, the CLI and CSV exports:

* ``2026-11-05`` — a day; ``2026-W45`` — an ISO week; ``2026-11`` — a month; ``2026-Q4`` — a quarter;
  ``2026`` — a year; ``2026-11-01..2026-11-15`` — a custom range (both days included).

:func:`parse_period` reads them (a ``ValueError`` names what is wrong); :attr:`Period.key` writes them back.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from enum import StrEnum


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"


EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(9000, 12, 31)


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``start`` to ``end``, both included, of a grain (custom for any other range)."""

    start: datetime.date
    end: datetime.date
    grain: Grain = Grain.CUSTOM

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, datetime.date) and self.start <= day <= self.end

    @classmethod
    def last(cls, days: int, *, end: datetime.date) -> Period:
        """The ``days`` days up to and including ``end``."""
        return cls(end - datetime.timedelta(days=days - 1), end)

    @classmethod
    def day(cls, day: datetime.date) -> Period:
        return cls(day, day, Grain.DAY)

    @classmethod
    def week_of(cls, day: datetime.date) -> Period:
        start = day - datetime.timedelta(days=day.weekday())
        return cls(start, start + datetime.timedelta(days=6), Grain.WEEK)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = datetime.date(year, month, 1)
        following = datetime.date(year + month // 12, month % 12 + 1, 1)
        return cls(start, following - datetime.timedelta(days=1), Grain.MONTH)

    @classmethod
    def month_of(cls, day: datetime.date) -> Period:
        return cls.month(day.year, day.month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = cls.month(year, 3 * quarter - 2)
        return cls(first.start, cls.month(year, 3 * quarter).end, Grain.QUARTER)

    @classmethod
    def quarter_of(cls, day: datetime.date) -> Period:
        return cls.quarter(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(datetime.date(year, 1, 1), datetime.date(year, 12, 31), Grain.YEAR)

    @classmethod
    def of(cls, grain: Grain | str, day: datetime.date) -> Period:
        """The period of ``grain`` holding ``day``."""
        match Grain(grain):
            case Grain.DAY:
                return cls.day(day)
            case Grain.WEEK:
                return cls.week_of(day)
            case Grain.MONTH:
                return cls.month_of(day)
            case Grain.QUARTER:
                return cls.quarter_of(day)
            case Grain.YEAR:
                return cls.year(day.year)
        raise ValueError("a custom range has no period 'of' a day")

    @property
    def key(self) -> str:
        """How the period is written (see the module docstring)."""
        match self.grain:
            case Grain.DAY:
                return self.start.isoformat()
            case Grain.WEEK:
                year, week, _ = self.start.isocalendar()
                return f"{year}-W{week:02d}"
            case Grain.MONTH:
                return f"{self.start:%Y-%m}"
            case Grain.QUARTER:
                return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
            case Grain.YEAR:
                return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def label(self) -> str:
        """How the period reads on a page: "Nov 2026", "Q4 2026", "2026", "5 Nov 2026"."""
        match self.grain:
            case Grain.DAY:
                return f"{self.start.day} {self.start:%b %Y}"
            case Grain.WEEK:
                return f"Week of {self.start.day} {self.start:%b %Y}"
            case Grain.MONTH:
                return f"{self.start:%b %Y}"
            case Grain.QUARTER:
                return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
            case Grain.YEAR:
                return str(self.start.year)
        return f"{self.start.day} {self.start:%b %Y} – {self.end.day} {self.end:%b %Y}"

    def previous(self) -> Period:
        """The period of the same grain just before (for a custom range: as many days just before)."""
        if self.grain == Grain.CUSTOM:
            return Period.last(self.days, end=self.start - datetime.timedelta(days=1))
        return Period.of(self.grain, self.start - datetime.timedelta(days=1))

    def year_before(self) -> Period:
        """The same period a year earlier (29 February becomes 28 February)."""

        def back(day: datetime.date) -> datetime.date:
            try:
                return day.replace(year=day.year - 1)
            except ValueError:
                return day.replace(year=day.year - 1, day=28)

        if self.grain in (Grain.CUSTOM, Grain.DAY):
            return Period(back(self.start), back(self.end), self.grain)
        return Period.of(self.grain, back(self.start))

    def split(self, grain: Grain | str) -> list[Period]:
        """The periods of ``grain`` covering this one, clipped to it (a trend's buckets)."""
        out: list[Period] = []
        day = self.start
        while day <= self.end:
            bucket = Period.of(grain, day)
            clipped = Period(max(bucket.start, self.start), min(bucket.end, self.end), bucket.grain)
            out.append(clipped if clipped == bucket else Period(clipped.start, clipped.end))
            day = bucket.end + datetime.timedelta(days=1)
        return out

    def elapsed(self, today: datetime.date) -> float:
        """The share of the period's days gone by on ``today`` (that day counted), between 0 and 1."""
        if today < self.start:
            return 0.0
        if today >= self.end:
            return 1.0
        return ((today - self.start).days + 1) / self.days


_DAY = r"(\d{4})-(\d{2})-(\d{2})"
PATTERNS = (
    (re.compile(rf"^{_DAY}\.\.{_DAY}$"), "range"),
    (re.compile(rf"^{_DAY}$"), "day"),
    (re.compile(r"^(\d{4})-W(\d{2})$"), "week"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})$"), "year"),
)
FORMATS = "YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD"


def parse_period(text: str) -> Period:
    """A period from its written form; a ``ValueError`` says which forms are understood."""
    value = (text or "").strip()
    for pattern, kind in PATTERNS:
        match = pattern.match(value)
        if not match:
            continue
        n = [int(g) for g in match.groups()]
        try:
            if kind == "range":
                period = Period(datetime.date(*n[:3]), datetime.date(*n[3:]))
            elif kind == "day":
                period = Period.day(datetime.date(*n))
            elif kind == "week":
                period = Period.week_of(datetime.date.fromisocalendar(n[0], n[1], 1))
            elif kind == "month":
                period = Period.month(n[0], n[1])
            elif kind == "quarter":
                period = Period.quarter(n[0], n[1])
            else:
                period = Period.year(n[0])
        except ValueError as error:
            raise ValueError(f"{value!r} is not a valid period: {error}.") from None
        if period.start < EARLIEST or period.end > LATEST:
            raise ValueError(f"{value!r}: give a period between 1900 and 9000.")
        return period
    raise ValueError(f"{value!r} is not a period; write {FORMATS}.")
