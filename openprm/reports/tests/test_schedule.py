"""When reports run: at the wall-clock hour of their time zone across daylight saving changes, and the
period each run covers."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openprm.reports.schedule import next_run, report_period, zone

UTC = datetime.UTC


def runs(after: datetime.datetime, n: int, **schedule: object) -> list[datetime.datetime]:
    out = []
    for _ in range(n):
        after = next_run(after=after, **schedule)  # type: ignore[arg-type]
        out.append(after)
    return out


def test_a_weekly_report_keeps_its_local_hour_across_both_dst_changes_in_berlin() -> None:
    berlin = {"schedule": "weekly", "weekday": 0, "day": 1, "hour": 8, "tz_name": "Europe/Berlin"}
    spring = runs(datetime.datetime(2026, 3, 20, tzinfo=UTC), 3, **berlin)
    assert spring == [
        datetime.datetime(2026, 3, 23, 7, tzinfo=UTC),  # CET: UTC+1
        datetime.datetime(2026, 3, 30, 6, tzinfo=UTC),  # CEST from 29 March: UTC+2
        datetime.datetime(2026, 4, 6, 6, tzinfo=UTC),
    ]
    autumn = runs(datetime.datetime(2026, 10, 20, tzinfo=UTC), 2, **berlin)
    assert autumn == [
        datetime.datetime(2026, 10, 26, 7, tzinfo=UTC),
        datetime.datetime(2026, 11, 2, 7, tzinfo=UTC),
    ]
    assert {r.astimezone(zone("Europe/Berlin")).hour for r in spring + autumn} == {8}


def test_an_hour_skipped_by_spring_forward_runs_just_after_the_gap_and_a_repeated_hour_runs_once() -> None:
    new_york = {"schedule": "monthly", "weekday": 0, "day": 8, "hour": 2, "tz_name": "America/New_York"}
    # 2026-03-08 02:00 does not exist in New York (clocks go 01:59 -> 03:00)
    (gap,) = runs(datetime.datetime(2026, 3, 1, tzinfo=UTC), 1, **new_york)
    assert gap == datetime.datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT
    sunday = {"schedule": "weekly", "weekday": 6, "day": 1, "hour": 1, "tz_name": "America/New_York"}
    # 2026-11-01 01:00 happens twice (EDT, then EST): one run, at the first
    first, following = runs(datetime.datetime(2026, 10, 31, tzinfo=UTC), 2, **sunday)
    assert first == datetime.datetime(2026, 11, 1, 5, tzinfo=UTC)
    assert following == datetime.datetime(2026, 11, 8, 6, tzinfo=UTC)


def test_monthly_and_quarterly_schedules_and_the_period_they_cover() -> None:
    quarterly = {"schedule": "quarterly", "weekday": 0, "day": 3, "hour": 9, "tz_name": "Asia/Tokyo"}
    assert runs(datetime.datetime(2026, 4, 3, 1, tzinfo=UTC), 2, **quarterly) == [
        datetime.datetime(2026, 7, 3, 0, tzinfo=UTC),
        datetime.datetime(2026, 10, 3, 0, tzinfo=UTC),
    ]
    at = datetime.datetime(2026, 7, 3, 0, tzinfo=UTC)
    assert report_period("last_quarter", run_at=at, tz_name="Asia/Tokyo").key == "2026-Q2"
    assert report_period("last_month", run_at=at, tz_name="Asia/Tokyo").key == "2026-06"
    # the same instant is still 2 July in Los Angeles: last week is the one before that day's week
    assert report_period("last_week", run_at=at, tz_name="America/Los_Angeles").key == "2026-W26"


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        zone("Mars/Olympus")


@given(
    after=st.datetimes(min_value=datetime.datetime(2025, 1, 1), max_value=datetime.datetime(2030, 1, 1)),
    tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Asia/Kolkata"]),
    schedule=st.sampled_from(["weekly", "monthly", "quarterly"]),
    hour=st.integers(0, 23),
    weekday=st.integers(0, 6),
    day=st.integers(1, 28),
)
def test_the_next_run_is_after_and_on_the_schedule_in_local_time(
    after: datetime.datetime, tz: str, schedule: str, hour: int, weekday: int, day: int
) -> None:
    moment = after.replace(tzinfo=UTC)
    found = next_run(schedule=schedule, weekday=weekday, day=day, hour=hour, tz_name=tz, after=moment)
    assert found > moment
    local = found.astimezone(zone(tz))
    assert local.hour in (hour, hour + 1)  # +1 only when the hour fell in a spring-forward gap
    if schedule == "weekly":
        assert local.weekday() == weekday
    else:
        assert local.day == day and (schedule == "monthly" or local.month in (1, 4, 7, 10))
    assert found - moment <= datetime.timedelta(days=93)
