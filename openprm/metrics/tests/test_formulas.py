"""The pure engagement formulas (``metrics.formulas``)."""

from __future__ import annotations

import datetime
import statistics
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openprm.metrics import formulas as metrics
from openprm.metrics.formulas import Period

D = datetime.date
P = Period(D(2025, 1, 1), D(2025, 3, 31))


def test_period_bounds() -> None:
    assert P.days == 90
    assert Period.last(30, end=D(2025, 1, 30)) == Period(D(2025, 1, 1), D(2025, 1, 30))
    with pytest.raises(ValueError):
        Period(D(2025, 2, 1), D(2025, 1, 1))


def test_engagement_of_a_partner() -> None:
    cells = {
        (D(2024, 12, 20), "contact"): Decimal(1),  # before the period: still the last contact if none inside
        (D(2025, 1, 10), "contact"): Decimal(2),
        (D(2025, 2, 1), "contact"): Decimal(0),  # a removed contact leaves a zero cell
        (D(2025, 1, 5), "events.portal_login"): Decimal(3),
        (D(2025, 1, 5), "events.training_started"): Decimal(4),
        (D(2025, 1, 9), "events.training_completed"): Decimal(3),
        (D(2024, 6, 1), "events.certification_earned"): Decimal(2),
        (D(2025, 2, 1), "events.certification_expired"): Decimal(1),
        (D(2025, 4, 2), "events.certification_earned"): Decimal(5),  # after the period
        (D(2025, 1, 3), "events.campaign_deliverable_due"): Decimal(4),
        (D(2025, 1, 4), "events.campaign_deliverable_approved"): Decimal(3),
        (D(2025, 1, 4), "deliverable.on_time"): Decimal(2),
        (D(2025, 1, 6), "deliverable.late"): Decimal(1),
        (D(2025, 1, 7), "clicks"): Decimal(200),
        (D(2025, 1, 8), "conversions.signup"): Decimal(6),
        (D(2025, 1, 8), "conversions.purchase"): Decimal(4),
        (D(2025, 1, 8), "conversions.purchase.amount"): Decimal(999),
        (D(2025, 1, 9), "content.impressions"): Decimal(1000),
        (D(2025, 1, 9), "content.engagements"): Decimal(45),
        (D(2024, 12, 1), "content.followers"): Decimal(500),
        (D(2025, 2, 9), "content.followers"): Decimal(650),
        (D(2025, 5, 9), "content.followers"): Decimal(900),
    }
    intervals = {"reply.partner": [60, 180, 120, 7200], "reply.vendor": [30], "ticket.resolved": []}
    e = metrics.engagement(cells, intervals, P)
    assert e.last_contact == D(2025, 1, 10)
    assert (e.contacts, e.contact_frequency) == (2, Decimal("0.67"))
    assert (e.reply_partner_seconds, e.reply_vendor_seconds, e.ticket_resolution_seconds) == (
        150.0,
        30.0,
        None,
    )
    assert (e.logins, e.training_completion_rate) == (3, Decimal("0.75"))
    assert e.active_certifications == 1
    assert (e.campaign_completion_rate, e.on_time_delivery_rate) == (Decimal("0.75"), Decimal("0.6667"))
    assert (e.conversions, e.conversion_rate) == (10, Decimal("0.05"))
    assert e.engagement_rate == Decimal("0.045")
    assert (e.followers_start, e.followers_end, e.audience_growth) == (
        Decimal(500),
        Decimal(650),
        Decimal(150),
    )


def test_nothing_to_divide_by_is_none_not_zero() -> None:
    e = metrics.engagement({}, {}, P)
    assert e.last_contact is None
    assert e.training_completion_rate is e.conversion_rate is e.engagement_rate is None
    assert e.campaign_completion_rate is e.on_time_delivery_rate is e.audience_growth is None
    assert e.contact_frequency == 0


def test_audience_first_reported_inside_the_period_grows_from_its_first_value() -> None:
    cells = {
        (D(2025, 1, 5), "content.followers"): Decimal(10),
        (D(2025, 3, 5), "content.followers"): Decimal(40),
    }
    assert metrics.audience_growth(cells, P) == 30


def test_weekly_activity_and_sparkline() -> None:
    end = D(2025, 3, 12)  # a Wednesday
    cells = {
        (D(2025, 3, 10), "events.meeting"): Decimal(2),
        (D(2025, 3, 11), "contact"): Decimal(9),  # not an event count
        (D(2025, 3, 3), "events.portal_login"): Decimal(5),
        (D(2025, 3, 13), "events.portal_login"): Decimal(7),  # after the end
    }
    assert metrics.weekly_activity(cells, end=end, weeks=3) == [0, 5, 2]
    points = metrics.sparkline([0, 5, 2], width=100, height=20, pad=0).split()
    assert points == ["0.0,20.0", "50.0,0.0", "100.0,12.0"]
    assert metrics.sparkline([]) == ""


def test_active_share() -> None:
    as_of = D(2025, 3, 31)
    last = {1: D(2025, 3, 30), 2: D(2025, 1, 1), 3: D(2025, 1, 2), 9: D(2025, 3, 1)}
    # window of 90 days: Jan 1 .. Mar 31 inclusive; partner 9 is not in the program
    assert metrics.active_share(last, [1, 2, 3, 4], as_of=as_of, window_days=90) == (3, 4, Decimal("0.75"))
    assert metrics.active_share(last, [1, 2, 3, 4], as_of=as_of, window_days=89) == (2, 4, Decimal("0.5"))
    assert metrics.active_share({}, [], as_of=as_of, window_days=90) == (0, 0, None)


@given(st.lists(st.integers(min_value=0, max_value=10**9), max_size=50))
def test_median_is_exact(values: list[int]) -> None:
    found = metrics.median_seconds(values)
    assert found == (statistics.median(values) if values else None)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
)
def test_ratios_stay_in_bounds(part: int, extra: int) -> None:
    value = metrics.ratio(part, part + extra)
    assert value is None if part + extra == 0 else Decimal(0) <= value <= Decimal(1)  # type: ignore[operator]


@given(
    st.dictionaries(
        st.tuples(st.dates(D(2024, 1, 1), D(2025, 12, 31)), st.sampled_from(["contact", "events.meeting"])),
        st.integers(min_value=0, max_value=50).map(Decimal),
        max_size=40,
    )
)
def test_totals_split_over_periods_add_up(cells: dict[tuple[datetime.date, str], Decimal]) -> None:
    whole = Period(D(2024, 1, 1), D(2025, 12, 31))
    first, second = Period(D(2024, 1, 1), D(2024, 12, 31)), Period(D(2025, 1, 1), D(2025, 12, 31))
    for metric in ("contact", "events.meeting"):
        assert metrics.total(cells, metric, whole) == metrics.total(cells, metric, first) + metrics.total(
            cells, metric, second
        )
    last = metrics.last_contact(cells, end=whole.end)
    assert last is None or cells[(last, "contact")] > 0
