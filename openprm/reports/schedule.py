"""When a report runs and which period it covers: pure functions over plain values.

A definition runs weekly on a weekday, monthly on a day (1–28) or quarterly on a day of January, April,
July and October, at a whole hour of the wall clock of its IANA time zone — so 08:00 in Europe/Berlin
stays 08:00 local across daylight saving changes (07:00 UTC in winter, 06:00 UTC in summer). An hour that
does not exist on a spring-forward day runs at the first instant after the gap; an hour that happens twice
on a fall-back day runs once, at its first occurrence.
"""

from __future__ import annotations

import datetime
import zoneinfo

from openprm.metrics.periods import Period

SEARCH_DAYS = 400  # a quarterly schedule matches within ~92 days; far more than any schedule needs


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (``ValueError`` when unknown)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin).") from error


def _matches(day: datetime.date, schedule: str, weekday: int, day_of_month: int) -> bool:
    if schedule == "weekly":
        return day.weekday() == weekday
    if schedule == "monthly":
        return day.day == day_of_month
    if schedule == "quarterly":
        return day.day == day_of_month and day.month in (1, 4, 7, 10)
    raise ValueError(f"Unknown schedule {schedule!r}")


def local_instant(day: datetime.date, hour: int, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """``hour``:00 on ``day`` in ``tz`` as a UTC instant (first occurrence; after the gap when skipped)."""
    # fold=0: the first occurrence of a repeated hour; for an hour inside a spring-forward gap, Python
    # applies the offset from before the change, which lands on the first instant after the gap.
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz).astimezone(datetime.UTC)


def next_run(
    *, schedule: str, weekday: int, day: int, hour: int, tz_name: str, after: datetime.datetime
) -> datetime.datetime:
    """The first run strictly after ``after`` (aware), as a UTC instant."""
    tz = zone(tz_name)
    first = after.astimezone(tz).date() - datetime.timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        candidate = first + datetime.timedelta(days=offset)
        if _matches(candidate, schedule, weekday, day):
            instant = local_instant(candidate, hour, tz)
            if instant > after:
                return instant
    raise ValueError("No run within a year: check the schedule.")


def report_period(choice: str, *, run_at: datetime.datetime, tz_name: str) -> Period:
    """The last full week, month or quarter before the run's local date."""
    local_day = run_at.astimezone(zone(tz_name)).date()
    if choice == "last_week":
        return Period.week_of(local_day).previous()
    if choice == "last_month":
        return Period.month_of(local_day).previous()
    if choice == "last_quarter":
        return Period.quarter_of(local_day).previous()
    raise ValueError(f"Unknown period {choice!r}")
