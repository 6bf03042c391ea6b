"""Leaderboard, Pareto and trends: orderings and changes of one metric's values from the metric engine.

The leaderboard and Pareto name partners, so they cover only the partners the actor may see (staff: the
partner filters apply; partner users get their own partner only, and the pages and API refuse them).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openprm.core.actors import Actor
from openprm.metrics import figures
from openprm.metrics.catalog import Direction, metric
from openprm.metrics.engine import TOTAL, Value
from openprm.metrics.periods import Period
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Partner
from openprm.scorecards import scoring

PARETO_SHARE = Decimal("0.8")


def _number(value: Value) -> Decimal | None:
    raw = value.value
    if raw is None or isinstance(raw, datetime.date):
        return None
    return raw if isinstance(raw, Decimal) else Decimal(str(raw))


@dataclass(frozen=True)
class Standing:
    rank: int
    partner_id: int
    public_id: Any
    name: str
    value: Decimal | None
    share: Decimal | None  # of the set's total (additive metrics), 0–1
    cumulative: Decimal | None  # running share down the ranking, 0–1


@dataclass(frozen=True)
class Leaderboard:
    metric: str
    period: Period
    total: Value
    missing: str
    rows: list[Standing]
    partners: int  # visible partners matching the filters


def _names(ids: Sequence[int]) -> dict[int, tuple[str, Any]]:
    return {
        pk: (name, public)
        for pk, name, public in Partner.objects.filter(pk__in=ids).values_list("pk", "name", "public_id")
    }


def _ranked(*, actor: Actor, period: Period, filters: PartnerFilters | None, metric: str) -> Leaderboard:
    problem = scoring.metric_problem(metric)
    if problem:
        raise LookupError(problem)
    table = figures.metric_table(actor=actor, keys=[metric], period=period, filters=filters)
    lower = scoring.lower_is_better(metric)
    values = {pid: _number(table.value(pid, metric)) for pid in table.partner_ids}
    present = [(v, pid) for pid, v in values.items() if v is not None]
    names = _names([pid for _, pid in present])
    present.sort(key=lambda item: names[item[1]][0].lower())
    present.sort(key=lambda item: item[0], reverse=not lower)
    total = sum((v for v, _ in present if v > 0), Decimal(0))
    rows: list[Standing] = []
    running = Decimal(0)
    rank = 0
    previous: Decimal | None = None
    for index, (value, pid) in enumerate(present, start=1):
        if value != previous:
            rank, previous = index, value
        share = (value / total) if total > 0 and value > 0 else (Decimal(0) if total > 0 else None)
        running += max(value, Decimal(0))
        rows.append(
            Standing(
                rank,
                pid,
                names[pid][1],
                names[pid][0],
                value,
                share.quantize(Decimal("0.0001")) if share is not None else None,
                (running / total).quantize(Decimal("0.0001")) if total > 0 else None,
            )
        )
    missing = table.total(metric).missing
    return Leaderboard(metric, period, table.total(metric), missing, rows, len(table.partner_ids))


def leaderboard(
    *,
    actor: Actor,
    period: Period,
    filters: PartnerFilters | None = None,
    metric: str = "won_revenue",
    limit: int | None = 50,
) -> Leaderboard:
    """The visible partners ranked by ``metric`` over ``period`` (best first: highest, or lowest for a
    lower-is-better metric; equal values share a rank), the top ``limit``."""
    board = _ranked(actor=actor, period=period, filters=filters, metric=metric)
    if limit is not None:
        board = Leaderboard(
            board.metric, board.period, board.total, board.missing, board.rows[:limit], board.partners
        )
    return board


@dataclass(frozen=True)
class Pareto:
    metric: str
    period: Period
    total: Decimal  # the sum over the visible partners
    partners: int  # visible partners matching the filters
    contributors: int  # partners with a positive value
    makers: list[Standing]  # the fewest partners making ``PARETO_SHARE`` of the total, largest first
    share_of_partners: Decimal | None  # len(makers) / partners, 0–1
    share_of_total: Decimal | None  # what the makers make together, 0–1
    missing: str


def pareto(
    *, actor: Actor, period: Period, filters: PartnerFilters | None = None, metric: str = "won_revenue"
) -> Pareto:
    """What share of the visible partners makes 80% of ``metric`` (an additive one, e.g. won revenue),
    and which: the largest contributors until their running total reaches 80%."""
    board = _ranked(actor=actor, period=period, filters=filters, metric=metric)
    rows = [r for r in board.rows if r.value is not None and r.value > 0]
    if scoring.lower_is_better(metric):
        rows.sort(key=lambda r: r.value or 0, reverse=True)
    total = sum((r.value or Decimal(0) for r in rows), Decimal(0))
    makers: list[Standing] = []
    running = Decimal(0)
    for row in rows:
        if total > 0 and running >= total * PARETO_SHARE:
            break
        makers.append(row)
        running += row.value or Decimal(0)
    return Pareto(
        metric=metric,
        period=period,
        total=total,
        partners=board.partners,
        contributors=len(rows),
        makers=makers,
        share_of_partners=(Decimal(len(makers)) / board.partners).quantize(Decimal("0.0001"))
        if board.partners
        else None,
        share_of_total=(running / total).quantize(Decimal("0.0001")) if total > 0 else None,
        missing=board.missing,
    )


@dataclass(frozen=True)
class Trend:
    metric: str
    current: Value
    previous: Value  # the period just before (the month before, for a month: month over month)
    year_before: Value  # the same period a year earlier (year over year)
    change: Decimal | None  # (current − previous) ÷ previous, 0–1 based; None when undefined
    change_yoy: Decimal | None
    better: bool | None  # whether the period-over-period move is good news (None: flat or neutral)


def _change(now: Decimal | None, then: Decimal | None) -> Decimal | None:
    if now is None or then is None or then == 0:
        return None
    return ((now - then) / abs(then)).quantize(Decimal("0.0001"))


def trends(*, actor: Actor, partner: Partner | None, period: Period, keys: Sequence[str]) -> list[Trend]:
    """Each of ``keys`` over ``period``, the period before and the same period a year before, with the
    changes: for ``partner`` (which the actor must see), or for all the actor's partners together."""
    keys = [k for k in keys if not scoring.metric_problem(k)]
    if partner is not None:
        visible = figures.partner_ids(actor=actor)
        if partner.pk not in visible:
            raise Partner.DoesNotExist
    series = figures.metric_series(
        actor=actor,
        keys=keys,
        periods=[period, period.previous(), period.year_before()],
        partners=[partner.pk] if partner is not None else None,
        per_partner=partner is not None,
    )
    who = partner.pk if partner is not None else TOTAL
    out: list[Trend] = []
    for key in keys:
        now, before, last_year = (t.value(who, key) for t in series)
        change = _change(_number(now), _number(before))
        direction = metric(key).direction
        better: bool | None = None
        if change is not None and change != 0 and direction != Direction.NEUTRAL:
            better = (change > 0) != (direction == Direction.LOWER)
        out.append(
            Trend(key, now, before, last_year, change, _change(_number(now), _number(last_year)), better)
        )
    return out
