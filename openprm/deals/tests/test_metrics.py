"""Deal metrics: hand-computed examples, hypothesis properties and a pandas cross-check (no database)."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openprm.deals import metrics
from openprm.deals.metrics import (
    DealFact,
    Outcome,
    RevenueSplit,
    StageDuration,
    StageSpan,
    TimeToClose,
    average_open_deal_age_days,
    average_revenue_per_partner,
    average_won_deal_size,
    by_partner,
    by_period,
    period_label,
    pipeline_value,
    revenue_per_partner,
    revenue_split,
    sales_velocity,
    summarize,
    summarize_by_partner,
    time_in_stage,
    time_to_close_days,
    weighted_pipeline,
    win_rate,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def deal(
    amount: str | Decimal = "100.00",
    outcome: Outcome | str = Outcome.OPEN,
    *,
    partner_id: int = 1,
    source: str = "sourced",
    registered: float = 0,
    closed: float | None = None,
    probability: str | Decimal | None = None,
) -> DealFact:
    outcome = Outcome(outcome)
    if probability is None:
        probability = {Outcome.OPEN: "0.5", Outcome.WON: "1", Outcome.LOST: "0"}[outcome]
    if closed is None and outcome is not Outcome.OPEN:
        closed = registered + 10
    return DealFact(
        partner_id=partner_id,
        amount=Decimal(amount),
        outcome=outcome,
        source=source,
        registered_at=at(registered),
        closed_at=at(closed) if closed is not None else None,
        win_probability=Decimal(probability),
    )


def won(amount: str = "100.00", **kw: object) -> DealFact:
    return deal(amount, Outcome.WON, **kw)  # type: ignore[arg-type]


def lost(amount: str = "100.00", **kw: object) -> DealFact:
    return deal(amount, Outcome.LOST, **kw)  # type: ignore[arg-type]


def no_close(fact: DealFact) -> DealFact:
    """A won/lost deal whose close date is missing (as imported data sometimes is)."""
    return DealFact(
        partner_id=fact.partner_id,
        amount=fact.amount,
        outcome=fact.outcome,
        source=fact.source,
        registered_at=fact.registered_at,
        closed_at=None,
        win_probability=fact.win_probability,
    )


# ------------------------------------------------------------------------------------------- DealFact


class TestDealFact:
    def test_outcome_string_is_coerced(self) -> None:
        fact = DealFact(1, Decimal("1"), "won", "sourced", T0, T0, Decimal(1))  # type: ignore[arg-type]
        assert fact.outcome is Outcome.WON
        assert win_rate([fact]) == Decimal("1.0000")

    @pytest.mark.parametrize(
        ("field", "value", "error"),
        [
            ("amount", Decimal("-0.01"), ValueError),
            ("amount", 10.5, TypeError),
            ("amount", Decimal("NaN"), TypeError),
            ("win_probability", Decimal("1.0001"), ValueError),
            ("win_probability", Decimal("-0.1"), ValueError),
            ("win_probability", 0.5, TypeError),
            ("outcome", "pending", ValueError),
            ("source", "direct", ValueError),
            ("registered_at", datetime(2026, 1, 1), ValueError),
            ("closed_at", datetime(2026, 1, 1), ValueError),
            ("registered_at", "2026-01-01", TypeError),
        ],
    )
    def test_rejects_bad_values(self, field: str, value: object, error: type[Exception]) -> None:
        kwargs: dict[str, object] = {
            "partner_id": 1,
            "amount": Decimal("10"),
            "outcome": Outcome.WON,
            "source": "sourced",
            "registered_at": T0,
            "closed_at": T0,
            "win_probability": Decimal(1),
        }
        kwargs[field] = value
        with pytest.raises(error):
            DealFact(**kwargs)  # type: ignore[arg-type]

    def test_is_immutable(self) -> None:
        fact = deal()
        with pytest.raises(AttributeError):
            fact.amount = Decimal(1)  # type: ignore[misc]

    def test_stage_span_requires_aware_datetimes(self) -> None:
        with pytest.raises(ValueError):
            StageSpan("qualify", datetime(2026, 1, 1), None)
        with pytest.raises(ValueError):
            StageSpan("qualify", T0, datetime(2026, 1, 2))


# ------------------------------------------------------------------------------------------- examples


class TestPipeline:
    def test_sums_open_amounts_only(self) -> None:
        deals = [deal("100.00"), deal("250.50"), won("1000.00"), lost("999.99")]
        assert pipeline_value(deals) == Decimal("350.50")

    def test_empty(self) -> None:
        assert pipeline_value([]) == Decimal(0)
        assert pipeline_value([won(), lost()]) == Decimal(0)

    def test_weighted(self) -> None:
        deals = [
            deal("100.00", probability="0.3333"),  # 33.33
            deal("200.00", probability="0.75"),  # 150.00
            deal("50.00", probability="0"),  # 0
            won("1000.00"),  # not open
        ]
        assert weighted_pipeline(deals) == Decimal("183.33")

    def test_weighted_rounds_the_total_half_up(self) -> None:
        # 0.01 * 0.5 = 0.005 -> 0.01; rounding each deal first would give 0.01 + 0.01 for two of them
        assert weighted_pipeline([deal("0.01", probability="0.5")]) == Decimal("0.01")
        assert weighted_pipeline([deal("0.01", probability="0.5")] * 2) == Decimal("0.01")
        assert weighted_pipeline([deal("0.01", probability="0.4999")]) == Decimal("0.00")

    def test_weighted_empty_is_zero_cents(self) -> None:
        assert weighted_pipeline([]) == Decimal("0.00")
        assert str(weighted_pipeline([])) == "0.00"


class TestWinRate:
    def test_won_over_closed_by_count(self) -> None:
        deals = [won("10.00"), won("1000000.00"), lost("5.00"), deal()]
        assert win_rate(deals) == Decimal("0.6667")

    def test_extremes(self) -> None:
        assert win_rate([won()]) == Decimal("1.0000")
        assert win_rate([lost(), lost()]) == Decimal("0.0000")

    def test_none_without_closed_deals(self) -> None:
        assert win_rate([]) is None
        assert win_rate([deal(), deal()]) is None

    def test_rounds_half_up_to_four_places(self) -> None:
        # 1 / 8 = 0.125 exactly; 1/16 = 0.0625; 1/32 = 0.03125 -> 0.0313 (half up)
        assert win_rate([won()] + [lost()] * 31) == Decimal("0.0313")


class TestAverageWonDealSize:
    def test_mean_of_won_amounts(self) -> None:
        assert average_won_deal_size([won("100.00"), won("200.01"), lost("9999"), deal("9999")]) == Decimal(
            "150.01"  # 150.005 rounded half up
        )

    def test_none_without_won_deals(self) -> None:
        assert average_won_deal_size([]) is None
        assert average_won_deal_size([lost(), deal()]) is None


class TestTimeToClose:
    def test_median_and_mean_in_calendar_days(self) -> None:
        deals = [
            won(registered=0, closed=1.5),  # 1 Jan 00:00 → 2 Jan 12:00: 1 day
            won(registered=2, closed=5),  # 3 days
            won(registered=10, closed=20),  # 10 days
            lost(registered=0, closed=100),  # ignored
            deal(registered=0),  # ignored
        ]
        result = time_to_close_days(deals)
        assert result == TimeToClose(median=3.0, mean=14 / 3, count=3, excluded=0)

    def test_even_count_median_is_the_midpoint(self) -> None:
        result = time_to_close_days([won(closed=1), won(closed=2), won(closed=4), won(closed=10)])
        assert result.median == 3.0
        assert result.mean == 4.25

    def test_days_are_calendar_days(self) -> None:
        fact = DealFact(1, Decimal(1), Outcome.WON, "sourced", T0, T0 + timedelta(hours=36), Decimal(1))
        assert time_to_close_days([fact]).median == 1.0
        late = DealFact(
            1,
            Decimal(1),
            Outcome.WON,
            "sourced",
            T0 + timedelta(hours=23),
            T0 + timedelta(hours=25),
            Decimal(1),
        )
        assert time_to_close_days([late]).median == 1.0  # two hours, but the next day

    def test_dates_across_a_dst_change_are_whole_days(self) -> None:
        """Dates imported without a time are local midnight: 5 Jan → 30 Mar in Berlin is 84 days."""
        berlin = ZoneInfo("Europe/Berlin")
        registered = datetime(2026, 1, 5, tzinfo=berlin)
        closed = datetime(2026, 3, 30, tzinfo=berlin)  # after the change to summer time on 29 March
        fact = DealFact(1, Decimal(1), Outcome.WON, "sourced", registered, closed, Decimal(1))
        assert time_to_close_days([fact], tz=berlin).median == 84.0
        assert time_to_close_days([fact], tz=berlin).mean == 84.0
        assert summarize([fact], now=closed, tz=berlin).time_to_close.mean == 84.0
        open_fact = DealFact(1, Decimal(1), Outcome.OPEN, "sourced", registered, None, Decimal("0.5"))
        assert average_open_deal_age_days([open_fact], now=closed, tz=berlin) == 84.0
        span = StageSpan("qualify", registered, closed)
        assert time_in_stage([span], now=closed, tz=berlin)["qualify"].mean_days == 84.0

    def test_excludes_negative_and_missing_durations(self) -> None:
        deals = [
            won(registered=5, closed=2),  # closed before registered
            no_close(won()),
            won(registered=3, closed=3),  # same instant: 0 days, counted
            won(registered=0, closed=4),
        ]
        assert time_to_close_days(deals) == TimeToClose(median=2.0, mean=2.0, count=2, excluded=2)

    def test_mixed_offsets_compare_as_instants(self) -> None:
        plus2 = timezone(timedelta(hours=2))
        registered = datetime(2026, 1, 1, 12, tzinfo=plus2)  # 10:00 UTC
        closed = datetime(2026, 1, 2, 10, tzinfo=UTC)
        fact = DealFact(1, Decimal(1), Outcome.WON, "sourced", registered, closed, Decimal(1))
        assert time_to_close_days([fact]).median == 1.0  # 1 Jan → 2 Jan in UTC

    def test_empty(self) -> None:
        assert time_to_close_days([]) == TimeToClose(None, None, 0, 0)
        assert time_to_close_days([no_close(won())]) == TimeToClose(None, None, 0, 1)


class TestSalesVelocity:
    def deals(self) -> list[DealFact]:
        # 4 open, 3 won (100, 200, 300) closing in 5, 10, 15 days, 1 lost
        return [
            *(deal("1.00") for _ in range(4)),
            won("100.00", closed=5),
            won("200.00", closed=10),
            won("300.00", closed=15),
            lost(),
        ]

    def test_with_explicit_cycle(self) -> None:
        # 4 open * 0.75 win rate * 200 average / 10 days = 60 per day
        assert sales_velocity(self.deals(), cycle_days=10) == Decimal("60.00")
        assert sales_velocity(self.deals(), cycle_days=7) == Decimal("85.71")  # 600 / 7

    def test_cycle_defaults_to_mean_time_to_close(self) -> None:
        assert sales_velocity(self.deals()) == Decimal("60.00")  # mean of 5, 10, 15

    def test_uses_unrounded_components(self) -> None:
        # win rate 2/3 (0.6667 rounded), average 100: 3 open * 2/3 * 100 / 1 = 200.00 exactly
        deals = [deal(), deal(), deal(), won("100.00"), won("100.00"), lost()]
        assert sales_velocity(deals, cycle_days=1) == Decimal("200.00")

    def test_zero_open_deals_is_zero(self) -> None:
        assert sales_velocity([won()], cycle_days=3) == Decimal("0.00")

    def test_none_cases(self) -> None:
        assert sales_velocity([]) is None
        assert sales_velocity([deal()], cycle_days=5) is None  # no closed deal
        assert sales_velocity([deal(), lost()], cycle_days=5) is None  # no won deal
        assert sales_velocity([deal(), no_close(won())]) is None  # no measurable cycle
        assert sales_velocity([deal(), won(registered=1, closed=1)]) is None  # zero-day cycle

    @pytest.mark.parametrize("cycle", [0, -1, math.inf, math.nan])
    def test_rejects_bad_cycle(self, cycle: float) -> None:
        with pytest.raises(ValueError):
            sales_velocity(self.deals(), cycle_days=cycle)

    def test_accepts_a_generator(self) -> None:
        assert sales_velocity(d for d in self.deals()) == Decimal("60.00")


class TestRevenueSplit:
    def test_split_over_won_deals(self) -> None:
        deals = [
            won("300.00", source="sourced"),
            won("100.00", source="influenced"),
            lost("5000.00", source="sourced"),
            deal("7000.00", source="influenced"),
        ]
        assert revenue_split(deals) == RevenueSplit(
            sourced=Decimal("300.00"),
            influenced=Decimal("100.00"),
            total=Decimal("400.00"),
            sourced_share=Decimal("0.7500"),
            influenced_share=Decimal("0.2500"),
        )

    def test_shares_always_add_to_one(self) -> None:
        # 1/3 and 2/3; 0.00005 boundaries would otherwise both round up
        split = revenue_split([won("1.00"), won("2.00", source="influenced")])
        assert split.sourced_share == Decimal("0.3333")
        assert split.influenced_share == Decimal("0.6667")
        split = revenue_split([won("0.00005"), won("0.99995", source="influenced")])
        assert split.sourced_share == Decimal("0.0001")
        assert split.sourced_share + split.influenced_share == 1  # type: ignore[operator]

    def test_zero_total_has_no_shares(self) -> None:
        empty = RevenueSplit(Decimal(0), Decimal(0), Decimal(0), None, None)
        assert revenue_split([]) == empty
        assert revenue_split([deal(), lost()]) == empty
        assert revenue_split([won("0.00")]).sourced_share is None

    def test_only_one_source(self) -> None:
        split = revenue_split([won("10.00", source="influenced")])
        assert (split.sourced_share, split.influenced_share) == (Decimal("0.0000"), Decimal("1.0000"))


class TestRevenuePerPartner:
    def test_won_revenue_per_partner_with_zeros(self) -> None:
        deals = [
            won("100.00", partner_id=2),
            deal("500.00", partner_id=1),
            won("50.00", partner_id=2),
            lost("70.00", partner_id=3),
            won("20.00", partner_id=1),
        ]
        result = revenue_per_partner(deals)
        assert result == {2: Decimal("150.00"), 1: Decimal("20.00"), 3: Decimal(0)}
        assert list(result) == [2, 1, 3]

    def test_empty(self) -> None:
        assert revenue_per_partner([]) == {}

    def test_average(self) -> None:
        deals = [won("100.00", partner_id=1), won("50.00", partner_id=2), lost(partner_id=3)]
        assert average_revenue_per_partner(deals) == Decimal("50.00")  # 150 / 3 partners
        assert average_revenue_per_partner(deals, partner_count=4) == Decimal("37.50")
        assert average_revenue_per_partner(deals, partner_count=7) == Decimal("21.43")  # 21.428...

    def test_average_none_and_errors(self) -> None:
        assert average_revenue_per_partner([]) is None
        assert average_revenue_per_partner([won()], partner_count=0) is None
        assert average_revenue_per_partner([], partner_count=5) == Decimal("0.00")
        with pytest.raises(ValueError):
            average_revenue_per_partner([won()], partner_count=-1)


class TestOpenDealAge:
    def test_mean_age_of_open_deals(self) -> None:
        deals = [deal(registered=0), deal(registered=10), won(registered=-100)]
        now = at(20)
        assert average_open_deal_age_days(deals, now=now) == 15.0  # (20 + 10) / 2

    def test_future_registrations_count_as_zero(self) -> None:
        assert average_open_deal_age_days([deal(registered=30), deal(registered=0)], now=at(10)) == 5.0

    def test_none_and_naive_now(self) -> None:
        assert average_open_deal_age_days([won()], now=NOW) is None
        with pytest.raises(ValueError):
            average_open_deal_age_days([], now=datetime(2026, 1, 1))


class TestTimeInStage:
    def test_mean_and_median_per_stage_with_open_spans(self) -> None:
        spans = [
            StageSpan("qualify", at(0), at(2)),
            StageSpan("qualify", at(0), at(4)),
            StageSpan("qualify", at(5), at(14)),
            StageSpan("propose", at(2), None),  # still there: counts until now (day 10)
            StageSpan("propose", at(4), at(5)),
        ]
        result = time_in_stage(spans, now=at(10))
        assert result == {
            "qualify": StageDuration(mean_days=5.0, median_days=4.0, count=3, excluded=0),
            "propose": StageDuration(mean_days=4.5, median_days=4.5, count=2, excluded=0),
        }
        assert list(result) == ["qualify", "propose"]

    def test_excludes_backwards_spans(self) -> None:
        spans = [
            StageSpan("qualify", at(5), at(3)),  # left before it entered
            StageSpan("propose", at(20), None),  # entered after now
            StageSpan("propose", at(1), None),
        ]
        assert time_in_stage(spans, now=at(10)) == {
            "qualify": StageDuration(None, None, 0, 1),
            "propose": StageDuration(9.0, 9.0, 1, 1),
        }

    def test_empty_and_naive_now(self) -> None:
        assert time_in_stage([], now=NOW) == {}
        with pytest.raises(ValueError):
            time_in_stage([], now=datetime(2026, 1, 1))


class TestGrouping:
    def test_by_partner(self) -> None:
        a, b, c = deal(partner_id=7), deal(partner_id=3), won(partner_id=7)
        assert by_partner([a, b, c]) == {7: [a, c], 3: [b]}
        assert list(by_partner([a, b, c])) == [7, 3]
        assert by_partner([]) == {}

    def test_period_labels(self) -> None:
        moment = datetime(2026, 3, 15, tzinfo=UTC)
        assert period_label(moment, period="month") == "2026-03"
        assert period_label(moment, period="quarter") == "2026-Q1"
        assert period_label(moment, period="year") == "2026"
        assert period_label(datetime(2026, 12, 31, tzinfo=UTC), period="quarter") == "2026-Q4"
        assert period_label(datetime(2026, 4, 1, tzinfo=UTC), period="quarter") == "2026-Q2"
        assert period_label(datetime(987, 7, 1, tzinfo=UTC), period="month") == "0987-07"

    def test_period_label_uses_the_given_zone(self) -> None:
        late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
        assert period_label(late, period="month") == "2026-03"
        assert period_label(late, period="month", tz=timezone(timedelta(hours=2))) == "2026-04"
        assert period_label(late, period="quarter", tz=timezone(timedelta(hours=2))) == "2026-Q2"
        # a non-UTC datetime is still labelled in UTC by default
        assert period_label(datetime(2026, 4, 1, 1, tzinfo=timezone(timedelta(hours=2))), period="month") == (
            "2026-03"
        )

    def test_by_period_registered(self) -> None:
        jan, feb, apr = deal(registered=3), won(registered=40), lost(registered=95)  # Jan 4, Feb 10, Apr 6
        dec = deal(registered=-1)  # 2025-12-31
        deals = [apr, jan, feb, dec]
        assert by_period(deals, period="month", key="registered") == {
            "2025-12": [dec],
            "2026-01": [jan],
            "2026-02": [feb],
            "2026-04": [apr],
        }
        assert list(by_period(deals, period="quarter", key="registered")) == ["2025-Q4", "2026-Q1", "2026-Q2"]
        assert by_period(deals, period="quarter", key="registered")["2026-Q1"] == [jan, feb]
        assert by_period(deals, period="year", key="registered") == {"2025": [dec], "2026": [apr, jan, feb]}

    def test_by_period_closed_skips_open_and_undated(self) -> None:
        a = won(registered=0, closed=40)  # Feb
        b = lost(registered=0, closed=5)  # Jan
        still_open = DealFact(1, Decimal(1), Outcome.OPEN, "sourced", at(0), at(3), Decimal("0.5"))
        undated = no_close(won())
        assert by_period([a, b, still_open, undated], period="month", key="closed") == {
            "2026-01": [b],
            "2026-02": [a],
        }

    def test_by_period_rejects_unknown_options(self) -> None:
        with pytest.raises(ValueError):
            by_period([], period="week", key="registered")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            by_period([], period="month", key="expected")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            period_label(T0, period="week")  # type: ignore[arg-type]
        assert by_period([], period="month", key="closed") == {}


class TestSummarize:
    def test_all_metrics_at_once(self) -> None:
        deals = [
            deal("1000.00", probability="0.2", registered=100),
            deal("500.00", probability="0.5", registered=140),
            won("300.00", source="sourced", registered=0, closed=5),
            won("100.00", source="influenced", registered=0, closed=15),
            lost("50.00", registered=0, closed=20),
        ]
        summary = summarize(deals, now=at(150))
        assert summary.pipeline_value == Decimal("1500.00")
        assert summary.weighted_pipeline == Decimal("450.00")
        assert summary.win_rate == Decimal("0.6667")
        assert summary.average_won_deal_size == Decimal("200.00")
        assert summary.time_to_close == TimeToClose(median=10.0, mean=10.0, count=2, excluded=0)
        # 2 open * (400 / 3 closed) / 10 days = 26.666...
        assert summary.sales_velocity == Decimal("26.67")
        assert summary.revenue_split == RevenueSplit(
            Decimal("300.00"), Decimal("100.00"), Decimal("400.00"), Decimal("0.7500"), Decimal("0.2500")
        )
        assert (summary.won_count, summary.lost_count, summary.open_count) == (2, 1, 2)
        assert summary.deal_count == 5
        assert summary.average_open_deal_age_days == 30.0  # (50 + 10) / 2

    def test_empty(self) -> None:
        summary = summarize([], now=NOW)
        assert summary == metrics.DealSummary(
            pipeline_value=Decimal(0),
            weighted_pipeline=Decimal("0.00"),
            win_rate=None,
            average_won_deal_size=None,
            time_to_close=TimeToClose(None, None, 0, 0),
            sales_velocity=None,
            revenue_split=RevenueSplit(Decimal(0), Decimal(0), Decimal(0), None, None),
            won_count=0,
            lost_count=0,
            open_count=0,
            average_open_deal_age_days=None,
        )

    def test_by_partner(self) -> None:
        deals = [won("10.00", partner_id=1), deal(partner_id=2), lost(partner_id=1)]
        result = summarize_by_partner(deals, now=NOW)
        assert list(result) == [1, 2]
        assert result[1].win_rate == Decimal("0.5000")
        assert result[2].open_count == 1

    def test_naive_now_rejected(self) -> None:
        with pytest.raises(ValueError):
            summarize([], now=datetime(2026, 1, 1))


# ------------------------------------------------------------------------------------------- properties

cents = st.integers(min_value=0, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))
probabilities = st.integers(min_value=0, max_value=10_000).map(lambda p: Decimal(p).scaleb(-4))
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@st.composite
def deal_facts(draw: st.DrawFn, partners: int = 5) -> DealFact:
    outcome = draw(st.sampled_from(Outcome))
    registered = draw(moments)
    closed: datetime | None = None
    if outcome is not Outcome.OPEN and draw(st.integers(0, 19)):  # 1 in 20 closed deals lacks a date
        closed = registered + timedelta(seconds=draw(st.integers(-5 * 86_400, 400 * 86_400)))
    fixed = {Outcome.WON: Decimal(1), Outcome.LOST: Decimal(0)}
    probability = fixed[outcome] if outcome in fixed else draw(probabilities)
    return DealFact(
        partner_id=draw(st.integers(1, partners)),
        amount=draw(cents),
        outcome=outcome,
        source=draw(st.sampled_from(["sourced", "influenced"])),
        registered_at=registered,
        closed_at=closed,
        win_probability=probability,
    )


deal_lists = st.lists(deal_facts(), max_size=40)


@given(deal_lists)
def test_win_rate_is_a_ratio(deals: list[DealFact]) -> None:
    rate = win_rate(deals)
    closed = sum(d.outcome is not Outcome.OPEN for d in deals)
    assert (rate is None) == (closed == 0)
    if rate is not None:
        assert 0 <= rate <= 1


@given(deal_lists)
def test_weighted_pipeline_never_exceeds_pipeline(deals: list[DealFact]) -> None:
    assert Decimal(0) <= weighted_pipeline(deals) <= pipeline_value(deals)


@given(deal_lists)
def test_revenue_split_sums_to_total(deals: list[DealFact]) -> None:
    split = revenue_split(deals)
    assert split.sourced + split.influenced == split.total
    assert split.total == sum(revenue_per_partner(deals).values(), Decimal(0))
    if split.total:
        assert split.sourced_share is not None and split.influenced_share is not None
        assert split.sourced_share + split.influenced_share == 1
        assert 0 <= split.sourced_share <= 1 and 0 <= split.influenced_share <= 1
    else:
        assert split.sourced_share is None and split.influenced_share is None


@given(deal_lists)
def test_per_partner_summaries_add_up_to_the_whole(deals: list[DealFact]) -> None:
    whole = summarize(deals, now=NOW)
    parts = list(summarize_by_partner(deals, now=NOW).values())

    def total(attr: str) -> object:
        return sum((getattr(p, attr) for p in parts), start=type(getattr(whole, attr))(0))

    for attr in ("pipeline_value", "won_count", "lost_count", "open_count"):
        assert total(attr) == getattr(whole, attr), attr
    for attr in ("sourced", "influenced", "total"):
        assert sum((getattr(p.revenue_split, attr) for p in parts), Decimal(0)) == getattr(
            whole.revenue_split, attr
        )
    assert sum(p.time_to_close.count for p in parts) == whole.time_to_close.count
    assert sum(p.time_to_close.excluded for p in parts) == whole.time_to_close.excluded
    # each partner's weighted pipeline is rounded to cents once: at most half a cent each
    weighted_sum = sum((p.weighted_pipeline for p in parts), Decimal(0))
    assert abs(weighted_sum - whole.weighted_pipeline) <= Decimal("0.005") * len(parts)
    # won revenue per partner matches the per-partner summaries
    assert {k: s.revenue_split.total for k, s in zip(by_partner(deals), parts, strict=True)} == (
        revenue_per_partner(deals)
    )


@given(deal_lists, deal_facts())
def test_adding_an_open_deal_never_changes_win_rate_or_time_to_close(
    deals: list[DealFact], extra: DealFact
) -> None:
    open_deal = DealFact(
        extra.partner_id,
        extra.amount,
        Outcome.OPEN,
        extra.source,
        extra.registered_at,
        None,
        extra.win_probability,
    )
    for position in (0, len(deals) // 2, len(deals)):
        more = [*deals[:position], open_deal, *deals[position:]]
        assert win_rate(more) == win_rate(deals)
        assert time_to_close_days(more) == time_to_close_days(deals)
        assert average_won_deal_size(more) == average_won_deal_size(deals)
        assert revenue_split(more) == revenue_split(deals)


@given(deal_lists)
def test_time_to_close_ignores_open_and_lost_deals(deals: list[DealFact]) -> None:
    only_won = [d for d in deals if d.outcome is Outcome.WON]
    result = time_to_close_days(deals)
    assert result == time_to_close_days(only_won)
    assert result.count + result.excluded == len(only_won)
    if result.count:
        durations = [
            float((d.closed_at.date() - d.registered_at.date()).days)
            for d in only_won
            if d.closed_at is not None and d.closed_at >= d.registered_at
        ]
        assert result.mean is not None and result.median is not None
        assert min(durations) <= result.median <= max(durations)
        assert min(durations) - 1e-9 <= result.mean <= max(durations) + 1e-9
    else:
        assert result.mean is None and result.median is None


@given(deal_lists)
def test_average_won_size_lies_between_the_extremes(deals: list[DealFact]) -> None:
    won_amounts = [d.amount for d in deals if d.outcome is Outcome.WON]
    average = average_won_deal_size(deals)
    if won_amounts:
        assert average is not None and min(won_amounts) <= average <= max(won_amounts)
    else:
        assert average is None


@given(st.lists(deal_facts(), max_size=25), st.randoms(use_true_random=False))
def test_summary_does_not_depend_on_order(deals: list[DealFact], rnd: random.Random) -> None:
    shuffled = deals[:]
    rnd.shuffle(shuffled)
    assert summarize(shuffled, now=NOW) == summarize(deals, now=NOW)


@given(deal_lists, st.sampled_from(["month", "quarter", "year"]))
def test_by_period_partitions_the_deals(deals: list[DealFact], period: str) -> None:
    groups = by_period(deals, period=period, key="registered")  # type: ignore[arg-type]
    assert sorted(map(id, (d for g in groups.values() for d in g))) == sorted(map(id, deals))
    assert list(groups) == sorted(groups)
    closed = by_period(deals, period=period, key="closed")  # type: ignore[arg-type]
    assert sum(map(len, closed.values())) == sum(
        d.outcome is not Outcome.OPEN and d.closed_at is not None for d in deals
    )


@given(deal_lists, st.floats(min_value=0.01, max_value=1000))
def test_sales_velocity_is_non_negative_and_scales_with_cycle(deals: list[DealFact], cycle: float) -> None:
    velocity = sales_velocity(deals, cycle_days=cycle)
    if not any(d.outcome is Outcome.WON for d in deals):
        assert velocity is None
        return
    assert velocity is not None and velocity >= 0
    # halving the cycle doubles the velocity, up to a cent of rounding on each side
    faster = sales_velocity(deals, cycle_days=cycle / 2)
    assert faster is not None and abs(faster - 2 * velocity) <= Decimal("0.02")


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), moments, st.none() | moments), max_size=30))
def test_time_in_stage_counts_every_span(raw: list[tuple[str, datetime, datetime | None]]) -> None:
    spans = [StageSpan(stage, entered, left) for stage, entered, left in raw]
    result = time_in_stage(spans, now=NOW)
    assert set(result) == {s.stage for s in spans}
    assert sum(r.count + r.excluded for r in result.values()) == len(spans)
    for r in result.values():
        assert (r.mean_days is None) == (r.count == 0)
        if r.mean_days is not None and r.median_days is not None:
            assert r.mean_days >= 0 and r.median_days >= 0


# ------------------------------------------------------------------------------------------- pandas


def random_deals(seed: int, n: int = 3000, partners: int = 40) -> list[DealFact]:
    rng = random.Random(seed)
    deals = []
    for _ in range(n):
        outcome = rng.choices(list(Outcome), weights=[3, 4, 3])[0]
        registered = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(2 * 365 * 86_400))
        closed = None
        if outcome is not Outcome.OPEN and rng.random() > 0.02:
            # mostly forward; ~3% closed before registration (bad data, must be excluded)
            closed = registered + timedelta(seconds=rng.randrange(-3 * 86_400, 200 * 86_400))
        deals.append(
            DealFact(
                partner_id=rng.randrange(1, partners + 1),
                amount=Decimal(rng.randrange(0, 50_000_000)).scaleb(-2),
                outcome=outcome,
                source=rng.choice(["sourced", "influenced"]),
                registered_at=registered,
                closed_at=closed,
                win_probability={Outcome.WON: Decimal(1), Outcome.LOST: Decimal(0)}.get(
                    outcome, Decimal(rng.randrange(0, 10_001)).scaleb(-4)
                ),
            )
        )
    return deals


def to_frame(deals: list[DealFact]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner": [d.partner_id for d in deals],
            "cents": [int(d.amount * 100) for d in deals],
            "outcome": [str(d.outcome) for d in deals],
            "registered": pd.to_datetime([d.registered_at for d in deals], utc=True),
            "closed": pd.to_datetime([d.closed_at for d in deals], utc=True),
        }
    )


def pandas_reference(df: pd.DataFrame) -> pd.DataFrame:
    """Per-partner win rate, won revenue (cents), average won size (cents), median days to close."""
    won = df[df.outcome == "won"].copy()
    won["days"] = (won.closed.dt.normalize() - won.registered.dt.normalize()).dt.days
    measurable = won[won.closed >= won.registered]  # NaT (no close date) compares False: dropped too
    closed = df[df.outcome != "open"]
    return pd.DataFrame(
        {
            "win_rate": closed.groupby("partner").outcome.apply(lambda s: (s == "won").mean()),
            "won_cents": won.groupby("partner").cents.sum(),
            "avg_won_cents": won.groupby("partner").cents.mean(),
            "median_days": measurable.groupby("partner").days.median(),
        },
        index=pd.Index(sorted(df.partner.unique()), name="partner"),
    )


def assert_matches(ours: metrics.DealSummary, won_revenue: Decimal, ref: pd.Series) -> None:
    if pd.isna(ref.win_rate):
        assert ours.win_rate is None
    else:
        assert ours.win_rate is not None
        assert abs(float(ours.win_rate) - ref.win_rate) <= 0.00005 + 1e-12
    ref_cents = 0 if pd.isna(ref.won_cents) else int(ref.won_cents)
    assert won_revenue == Decimal(ref_cents).scaleb(-2)
    assert ours.revenue_split.total == won_revenue
    if pd.isna(ref.avg_won_cents):
        assert ours.average_won_deal_size is None
    else:
        assert ours.average_won_deal_size is not None
        assert abs(float(ours.average_won_deal_size) * 100 - ref.avg_won_cents) <= 0.5 + 1e-6
    if pd.isna(ref.median_days):
        assert ours.time_to_close.median is None
    else:
        assert ours.time_to_close.median is not None
        assert math.isclose(ours.time_to_close.median, ref.median_days, rel_tol=1e-12, abs_tol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_an_independent_pandas_computation(seed: int) -> None:
    deals = random_deals(seed)
    df = to_frame(deals)
    reference = pandas_reference(df)
    summaries = summarize_by_partner(deals, now=NOW)
    revenue = revenue_per_partner(deals)

    assert sorted(summaries) == list(reference.index)
    for partner, ref in reference.iterrows():
        assert_matches(summaries[int(partner)], revenue[int(partner)], ref)  # type: ignore[call-overload]

    # whole program
    whole = summarize(deals, now=NOW)
    program = pandas_reference(df.assign(partner=0)).iloc[0]
    assert_matches(whole, sum(revenue.values(), Decimal(0)), program)
    assert whole.time_to_close.median == statistics.median(
        float((d.closed_at.date() - d.registered_at.date()).days)
        for d in deals
        if d.outcome is Outcome.WON and d.closed_at is not None and d.closed_at >= d.registered_at
    )
    excluded = df[(df.outcome == "won") & ~(df.closed >= df.registered)]
    assert whole.time_to_close.excluded == len(excluded) > 0
    assert whole.pipeline_value == Decimal(int(df[df.outcome == "open"].cents.sum())).scaleb(-2)


@given(deal_lists)
def test_summary_from_aggregates_equals_the_summary_of_the_deals(deals: list[DealFact]) -> None:
    """What the database GROUP BY feeds (groups and day histograms) gives exactly :func:`summarize`."""
    groups: dict[tuple[Outcome, str, Decimal], list[DealFact]] = {}
    for d in deals:
        groups.setdefault((d.outcome, d.source, d.win_probability), []).append(d)
    close_days: dict[int, int] = {}
    ages: dict[int, int] = {}
    excluded = 0
    for d in deals:
        if d.outcome is Outcome.WON:
            if d.closed_at is None or d.closed_at < d.registered_at:
                excluded += 1
            else:
                days = metrics.calendar_days(d.registered_at, d.closed_at)
                close_days[days] = close_days.get(days, 0) + 1
        elif d.outcome is Outcome.OPEN:
            age = metrics.calendar_days(d.registered_at, NOW)
            ages[age] = ages.get(age, 0) + 1
    result = metrics.summarize_groups(
        [
            metrics.DealGroup(o, s, p, len(g), sum((d.amount for d in g), Decimal(0)))
            for (o, s, p), g in groups.items()
        ],
        days_to_close=close_days,
        open_ages=ages,
        excluded_from_close=excluded,
    )
    assert result == summarize(deals, now=NOW)
