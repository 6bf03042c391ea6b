"""Deal and pipeline metrics as pure functions over plain data (no Django, no database).

Callers (selectors, rollup jobs, reports) load deals, convert them to :class:`DealFact` in *one* currency
and pass them here; every function is deterministic and side-effect free.

Conventions shared by every function:

* Money is :class:`~decimal.Decimal`. Sums of amounts are exact (amounts are expected at cent precision,
  as stored; a caller converting currencies should round each converted amount to cents). Anything
  obtained by multiplying or dividing money is rounded once, at the end, to cents with ROUND_HALF_UP.
* Ratios (win rate, revenue shares) are Decimals in [0, 1] rounded to 4 places with ROUND_HALF_UP.
* Durations are counted in calendar days: the number of days between the two moments' dates in the
  reporting time zone (``tz``, UTC unless given; callers pass the workspace's zone). Dates imported
  without a time are stored as local midnight, so counting elapsed seconds would make a span across a
  DST change 83.958 days instead of 84; counting dates gives whole days whatever the offsets.
  Means and medians of day counts are ``float``.
* Datetimes must be timezone-aware; period labels are computed in UTC unless another zone is given.
* A metric without a meaningful value (e.g. a win rate with no closed deal) is ``None``, never 0.

What each metric is called and how users read it (label, unit, direction, definition, leading or
lagging) is in ``metrics.catalog``, the one place for names and definitions; the docstrings here say
how each is computed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

__all__ = [
    "DealFact",
    "DealGroup",
    "DealSummary",
    "Outcome",
    "RevenueSplit",
    "StageDuration",
    "StageSpan",
    "TimeToClose",
    "average_open_deal_age_days",
    "average_revenue_per_partner",
    "average_won_deal_size",
    "by_partner",
    "by_period",
    "calendar_days",
    "period_label",
    "pipeline_value",
    "revenue_per_partner",
    "revenue_split",
    "sales_velocity",
    "summarize",
    "summarize_by_partner",
    "summarize_groups",
    "time_in_stage",
    "time_to_close_days",
    "weighted_pipeline",
    "win_rate",
]

CENT = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")
SOURCES = frozenset({"sourced", "influenced"})

Period = Literal["month", "quarter", "year"]
PeriodKey = Literal["registered", "closed"]


class Outcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


def _require_aware(value: datetime, field: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class DealFact:
    """One deal, reduced to what the metrics need.

    Validated on construction: ``outcome`` is coerced to :class:`Outcome` (so a model's ``"won"`` works),
    ``amount`` is a finite Decimal ≥ 0, ``win_probability`` a Decimal in
    [0, 1], ``source`` is ``"sourced"`` or ``"influenced"``, datetimes are timezone-aware. A won/lost deal
    without ``closed_at`` is accepted (imported data is not always complete); it simply does not count
    towards time to close or closed-date periods.
    """

    partner_id: int
    amount: Decimal  # in one currency (callers filter/convert first)
    outcome: Outcome
    source: str  # "sourced" | "influenced"
    registered_at: datetime
    closed_at: datetime | None  # set for won/lost
    win_probability: Decimal  # 0..1, the probability of its current stage (won=1, lost=0)

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise TypeError(f"amount must be a finite Decimal, got {self.amount!r}")
        if self.amount < 0:
            raise ValueError(f"amount must not be negative, got {self.amount}")
        if not isinstance(self.win_probability, Decimal) or not self.win_probability.is_finite():
            raise TypeError(f"win_probability must be a finite Decimal, got {self.win_probability!r}")
        if not 0 <= self.win_probability <= 1:
            raise ValueError(f"win_probability must be between 0 and 1, got {self.win_probability}")
        if type(self.outcome) is not Outcome:  # a model's plain "won" string becomes Outcome.WON
            object.__setattr__(self, "outcome", Outcome(self.outcome))
        if self.source not in SOURCES:
            raise ValueError(f"source must be 'sourced' or 'influenced', got {self.source!r}")
        _require_aware(self.registered_at, "registered_at")
        if self.closed_at is not None:
            _require_aware(self.closed_at, "closed_at")


@dataclass(frozen=True, slots=True)
class StageSpan:
    """One stay of one deal in one pipeline stage; ``left_at`` is None while the deal is still there."""

    stage: str
    entered_at: datetime
    left_at: datetime | None

    def __post_init__(self) -> None:
        _require_aware(self.entered_at, "entered_at")
        if self.left_at is not None:
            _require_aware(self.left_at, "left_at")


@dataclass(frozen=True)
class TimeToClose:
    median: float | None  # days
    mean: float | None  # days
    count: int  # won deals measured
    excluded: int = 0  # won deals not measured: no closed_at, or closed before registration


@dataclass(frozen=True)
class StageDuration:
    mean_days: float | None
    median_days: float | None
    count: int  # spans measured
    excluded: int = 0  # spans that end before they start (bad data, or entered after ``now``)


@dataclass(frozen=True)
class RevenueSplit:
    sourced: Decimal
    influenced: Decimal
    total: Decimal
    sourced_share: Decimal | None  # None when total is 0
    influenced_share: Decimal | None  # None when total is 0


@dataclass(frozen=True)
class DealSummary:
    pipeline_value: Decimal
    weighted_pipeline: Decimal
    win_rate: Decimal | None
    average_won_deal_size: Decimal | None
    time_to_close: TimeToClose
    sales_velocity: Decimal | None
    revenue_split: RevenueSplit
    won_count: int
    lost_count: int
    open_count: int
    average_open_deal_age_days: float | None

    @property
    def deal_count(self) -> int:
        return self.won_count + self.lost_count + self.open_count


# --------------------------------------------------------------------------------------------- helpers


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(value: Decimal) -> Decimal:
    return value.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def calendar_days(start: datetime, end: datetime, tz: tzinfo = UTC) -> int:
    """Whole days from ``start``'s date to ``end``'s date, both in ``tz`` (negative if end is earlier)."""
    return (end.astimezone(tz).date() - start.astimezone(tz).date()).days


def _outcome_sums(deals: Iterable[DealFact]) -> tuple[int, int, Decimal]:
    """(won count, lost count, won amount) in one pass."""
    won = lost = 0
    won_amount = Decimal(0)
    for deal in deals:
        if deal.outcome is Outcome.WON:
            won += 1
            won_amount += deal.amount
        elif deal.outcome is Outcome.LOST:
            lost += 1
    return won, lost, won_amount


def _durations_summary(durations: Sequence[float]) -> tuple[float | None, float | None]:
    if not durations:
        return None, None
    return statistics.median(durations), statistics.fmean(durations)


# --------------------------------------------------------------------------------------------- metrics


def pipeline_value(deals: Iterable[DealFact]) -> Decimal:
    """Pipeline: the total amount of all open deals (registered, not yet won or lost). Leading indicator:
    it shows revenue that may close in future periods.

    An exact sum (no rounding); 0 when there is no open deal.
    """
    return sum((d.amount for d in deals if d.outcome is Outcome.OPEN), Decimal(0))


def weighted_pipeline(deals: Iterable[DealFact]) -> Decimal:
    """Weighted pipeline: the sum over open deals of amount multiplied by the win probability of the deal's
    current stage. Leading indicator: the pipeline discounted by how likely each deal is to close.

    Rounded once, on the total, to cents (ROUND_HALF_UP); 0 when there is no open deal. Because the
    total is rounded, the weighted pipelines of several partners may differ from the program's by at
    most half a cent per partner.
    """
    total = sum((d.amount * d.win_probability for d in deals if d.outcome is Outcome.OPEN), Decimal(0))
    return _money(total)


def win_rate(deals: Iterable[DealFact]) -> Decimal | None:
    """Win rate: the number of won deals divided by the number of closed deals (won + lost), counted
    by deal, not by amount; open deals are not counted. Lagging indicator: it measures outcomes
    already decided.

    A ratio in [0, 1] rounded to 4 places (ROUND_HALF_UP); None when no deal is closed.
    """
    won, lost, _ = _outcome_sums(deals)
    if won + lost == 0:
        return None
    return _ratio(Decimal(won) / Decimal(won + lost))


def average_won_deal_size(deals: Iterable[DealFact]) -> Decimal | None:
    """Average deal size: the total amount of won deals divided by the number of won deals. Lagging
    indicator: it describes deals already won.

    Rounded to cents (ROUND_HALF_UP); None when no deal is won.
    """
    won, _, won_amount = _outcome_sums(deals)
    if won == 0:
        return None
    return _money(won_amount / won)


def time_to_close_days(deals: Iterable[DealFact], *, tz: tzinfo = UTC) -> TimeToClose:
    """Time to close: for won deals, the time from registration to close in days, reported as the
    median and the mean; lost and open deals are not counted. Lagging indicator: it measures
    deals already won.

    Days are calendar days between the registration date and the close date in ``tz`` (registered on
    5 January and closed on 30 March is 84 days, across a DST change too). A won deal without a close
    date, or closed before it was registered (bad data), is left out of the median and mean and counted
    in ``excluded`` instead; a deal closed on the day it was registered counts as 0 days.
    median and mean are None when no won deal could be measured.
    """
    durations: list[float] = []
    excluded = 0
    for deal in deals:
        if deal.outcome is not Outcome.WON:
            continue
        if deal.closed_at is None or deal.closed_at < deal.registered_at:
            excluded += 1
            continue
        durations.append(float(calendar_days(deal.registered_at, deal.closed_at, tz)))
    median, mean = _durations_summary(durations)
    return TimeToClose(median=median, mean=mean, count=len(durations), excluded=excluded)


def sales_velocity(
    deals: Iterable[DealFact], *, cycle_days: float | None = None, tz: tzinfo = UTC
) -> Decimal | None:
    """Sales velocity: the revenue the pipeline is expected to produce per day, computed as the number of
    open deals multiplied by the win rate and by the average won deal size, divided by the average
    sales cycle length in days. Leading
    indicator: it projects revenue from the current pipeline.

    The sales cycle is ``cycle_days`` when given (must be a positive, finite number), otherwise the mean
    time to close of the won deals. Computed from the unrounded win rate and average deal size and
    rounded once to cents per day (ROUND_HALF_UP). None when there is no closed deal, no won deal, or
    no measurable positive cycle. 0 when there is no open deal.
    """
    deals = list(deals)
    if cycle_days is not None and not (math.isfinite(cycle_days) and cycle_days > 0):
        raise ValueError(f"cycle_days must be a positive finite number, got {cycle_days!r}")
    won, lost, won_amount = _outcome_sums(deals)
    if won == 0:  # also covers "no closed deal"
        return None
    cycle = cycle_days if cycle_days is not None else time_to_close_days(deals, tz=tz).mean
    if cycle is None or cycle <= 0:
        return None
    open_count = sum(1 for d in deals if d.outcome is Outcome.OPEN)
    return _velocity(open_count, won + lost, won_amount, cycle)


def _velocity(open_count: int, closed: int, won_amount: Decimal, cycle: float) -> Decimal:
    # win rate * average won size = (won / closed) * (won_amount / won) = won_amount / closed
    velocity = Decimal(open_count) * won_amount / Decimal(closed) / Decimal(repr(float(cycle)))
    return _money(velocity)


def revenue_split(deals: Iterable[DealFact]) -> RevenueSplit:
    """Partner-sourced and partner-influenced revenue: the total amount of won deals that partners
    brought in (sourced) and of won deals that partners helped close (influenced), with each one's
    share of their sum. Lagging indicator: it measures revenue already won.

    Amounts are exact sums; ``total`` = ``sourced`` + ``influenced``. ``sourced_share`` is rounded to 4
    places (ROUND_HALF_UP) and ``influenced_share`` is 1 - ``sourced_share`` so the two always add up to
    exactly 1; both are None when the total is 0.
    """
    sourced = influenced = Decimal(0)
    for deal in deals:
        if deal.outcome is not Outcome.WON:
            continue
        if deal.source == "sourced":
            sourced += deal.amount
        else:
            influenced += deal.amount
    total = sourced + influenced
    if total == 0:
        return RevenueSplit(sourced, influenced, total, None, None)
    sourced_share = _ratio(sourced / total)
    return RevenueSplit(sourced, influenced, total, sourced_share, Decimal(1) - sourced_share)


def revenue_per_partner(deals: Iterable[DealFact]) -> dict[int, Decimal]:
    """Revenue per partner: for each partner, the total amount of its won deals. Lagging indicator:
    it measures revenue already won.

    Every partner with at least one deal in the input appears, with 0 when none is won; keys are in
    order of first appearance. Exact sums.
    """
    result: dict[int, Decimal] = {}
    for deal in deals:
        current = result.get(deal.partner_id, Decimal(0))
        result[deal.partner_id] = current + deal.amount if deal.outcome is Outcome.WON else current
    return result


def average_revenue_per_partner(
    deals: Iterable[DealFact], *, partner_count: int | None = None
) -> Decimal | None:
    """Average revenue per partner: the total amount of won deals divided by the number of partners.
    Lagging indicator: it measures revenue already won.

    The number of partners is ``partner_count`` when given (e.g. every active partner, including those
    without deals), otherwise the number of distinct partners in the input. Rounded to cents
    (ROUND_HALF_UP); None when there is no partner.
    """
    per_partner = revenue_per_partner(deals)
    if partner_count is not None and partner_count < 0:
        raise ValueError(f"partner_count must not be negative, got {partner_count}")
    count = len(per_partner) if partner_count is None else partner_count
    if count == 0:
        return None
    return _money(sum(per_partner.values(), Decimal(0)) / count)


def average_open_deal_age_days(deals: Iterable[DealFact], *, now: datetime, tz: tzinfo = UTC) -> float | None:
    """Open deal age: the mean time, in days, since registration of the deals still open. Leading
    indicator: an ageing pipeline signals deals likely to stall or be lost.

    Days are calendar days from the registration date to today's date in ``tz``; deals registered after
    ``now`` count as 0 days. None when there is no open deal.
    """
    _require_aware(now, "now")
    ages = [
        float(max(0, calendar_days(d.registered_at, now, tz))) for d in deals if d.outcome is Outcome.OPEN
    ]
    return statistics.fmean(ages) if ages else None


def time_in_stage(spans: Iterable[StageSpan], *, now: datetime, tz: tzinfo = UTC) -> dict[str, StageDuration]:
    """Time in stage: for each pipeline stage, how long deals stay in it, in days, reported as the mean
    and the median; a deal still in a stage counts up to now. Leading indicator: long stays show where
    deals stall before they are lost.

    Days are calendar days between the dates (in ``tz``) the deal entered and left. A span ending before
    it starts (bad data, or entered after ``now``) is left
    out and counted in ``excluded``. Stages are in order of first appearance; a stage whose spans were
    all excluded has None mean and median.
    """
    _require_aware(now, "now")
    durations: dict[str, list[float]] = {}
    excluded: dict[str, int] = {}
    for span in spans:
        end = span.left_at if span.left_at is not None else now
        bucket = durations.setdefault(span.stage, [])
        excluded.setdefault(span.stage, 0)
        if end < span.entered_at:
            excluded[span.stage] += 1
        else:
            bucket.append(float(calendar_days(span.entered_at, end, tz)))
    result: dict[str, StageDuration] = {}
    for stage, values in durations.items():
        median, mean = _durations_summary(values)
        result[stage] = StageDuration(
            mean_days=mean, median_days=median, count=len(values), excluded=excluded[stage]
        )
    return result


# --------------------------------------------------------------------------------------------- grouping


def by_partner(deals: Iterable[DealFact]) -> dict[int, list[DealFact]]:
    """Deals grouped by partner id; keys in order of first appearance, deals in input order."""
    groups: dict[int, list[DealFact]] = {}
    for deal in deals:
        groups.setdefault(deal.partner_id, []).append(deal)
    return groups


def period_label(moment: datetime, *, period: Period, tz: tzinfo = UTC) -> str:
    """The label of the period containing ``moment`` seen in ``tz``: "2026-03", "2026-Q1" or "2026"."""
    _require_aware(moment, "moment")
    local = moment.astimezone(tz)
    if period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if period == "quarter":
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    if period == "year":
        return f"{local.year:04d}"
    raise ValueError(f"period must be 'month', 'quarter' or 'year', got {period!r}")


def by_period(
    deals: Iterable[DealFact], *, period: Period, key: PeriodKey, tz: tzinfo = UTC
) -> dict[str, list[DealFact]]:
    """Deals grouped by the calendar period of their registration or close date.

    ``key="registered"`` uses ``registered_at`` for every deal; ``key="closed"`` uses ``closed_at`` and
    keeps only won/lost deals that have one. Periods are calendar periods in ``tz`` (UTC by default).
    Labels ("2026-03", "2026-Q1", "2026") come in chronological order; periods without deals are absent.
    """
    if period not in ("month", "quarter", "year"):
        raise ValueError(f"period must be 'month', 'quarter' or 'year', got {period!r}")
    if key not in ("registered", "closed"):
        raise ValueError(f"key must be 'registered' or 'closed', got {key!r}")
    groups: dict[str, list[DealFact]] = {}
    for deal in deals:
        if key == "registered":
            moment = deal.registered_at
        elif deal.outcome is Outcome.OPEN or deal.closed_at is None:
            continue
        else:
            moment = deal.closed_at
        groups.setdefault(period_label(moment, period=period, tz=tz), []).append(deal)
    return {label: groups[label] for label in sorted(groups)}


# --------------------------------------------------------------------------------------------- summary


def summarize(deals: Iterable[DealFact], *, now: datetime, tz: tzinfo = UTC) -> DealSummary:
    """Every deal metric for one set of deals (one partner, a tier, the whole program), as of ``now``.

    Equivalent to calling each metric function on the same deals; ``sales_velocity`` uses the mean
    time to close of the set as its cycle length.
    """
    _require_aware(now, "now")
    deals = list(deals)
    won, lost, won_amount = _outcome_sums(deals)
    ttc = time_to_close_days(deals, tz=tz)
    velocity = None
    if won and ttc.mean is not None and ttc.mean > 0:
        velocity = sales_velocity(deals, cycle_days=ttc.mean)
    return DealSummary(
        pipeline_value=pipeline_value(deals),
        weighted_pipeline=weighted_pipeline(deals),
        win_rate=_ratio(Decimal(won) / Decimal(won + lost)) if won + lost else None,
        average_won_deal_size=_money(won_amount / won) if won else None,
        time_to_close=ttc,
        sales_velocity=velocity,
        revenue_split=revenue_split(deals),
        won_count=won,
        lost_count=lost,
        open_count=len(deals) - won - lost,
        average_open_deal_age_days=average_open_deal_age_days(deals, now=now, tz=tz),
    )


def summarize_by_partner(
    deals: Iterable[DealFact], *, now: datetime, tz: tzinfo = UTC
) -> dict[int, DealSummary]:
    """:func:`summarize` for each partner's deals; keys in order of first appearance."""
    return {partner_id: summarize(group, now=now, tz=tz) for partner_id, group in by_partner(deals).items()}


@dataclass(frozen=True, slots=True)
class DealGroup:
    """Deals sharing an outcome, a source and a win probability, reduced to their count and total amount
    (what a database ``GROUP BY`` returns)."""

    outcome: Outcome
    source: str
    win_probability: Decimal
    count: int
    amount: Decimal


def summarize_groups(
    groups: Iterable[DealGroup],
    *,
    days_to_close: Mapping[int, int],
    open_ages: Mapping[int, int],
    excluded_from_close: int = 0,
) -> DealSummary:
    """:func:`summarize` from aggregates: ``groups`` of deals, the histogram of won deals' calendar days
    to close (days → number of deals, measurable ones only) and of open deals' ages in calendar days
    (negative ages count as 0). Gives exactly what :func:`summarize` gives for the same deals: the sums
    are exact and rounded at the same points, the medians come from the histogram.
    """
    won = lost = open_count = 0
    won_amount = pipeline = weighted = sourced = influenced = Decimal(0)
    for group in groups:
        outcome = Outcome(group.outcome)
        if outcome is Outcome.WON:
            won += group.count
            won_amount += group.amount
            if group.source == "sourced":
                sourced += group.amount
            else:
                influenced += group.amount
        elif outcome is Outcome.LOST:
            lost += group.count
        else:
            open_count += group.count
            pipeline += group.amount
            weighted += group.amount * group.win_probability
    ttc = _histogram_time_to_close(days_to_close, excluded_from_close)
    velocity = None
    if won and ttc.mean is not None and ttc.mean > 0:
        velocity = _velocity(open_count, won + lost, won_amount, ttc.mean)
    total = sourced + influenced
    if total == 0:
        split = RevenueSplit(sourced, influenced, total, None, None)
    else:
        share = _ratio(sourced / total)
        split = RevenueSplit(sourced, influenced, total, share, Decimal(1) - share)
    age_count = sum(open_ages.values())
    age = (
        statistics.fmean([float(max(0, days)) for days, n in sorted(open_ages.items()) for _ in range(n)])
        if age_count
        else None
    )
    return DealSummary(
        pipeline_value=pipeline,
        weighted_pipeline=_money(weighted),
        win_rate=_ratio(Decimal(won) / Decimal(won + lost)) if won + lost else None,
        average_won_deal_size=_money(won_amount / won) if won else None,
        time_to_close=ttc,
        sales_velocity=velocity,
        revenue_split=split,
        won_count=won,
        lost_count=lost,
        open_count=open_count,
        average_open_deal_age_days=age,
    )


def _histogram_time_to_close(days_to_close: Mapping[int, int], excluded: int) -> TimeToClose:
    values = [float(days) for days, n in sorted(days_to_close.items()) for _ in range(n)]
    median, mean = _durations_summary(values)
    return TimeToClose(median=median, mean=mean, count=len(values), excluded=excluded)
