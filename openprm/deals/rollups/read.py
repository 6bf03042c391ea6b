"""The reads of deal figures, for the metric engine (see its contract) and the deal pages: named inputs
per partner over a period, which input names a workspace has data for, series by period, and the deal
summary of the pages and ``GET /metrics/deals``. Every read is a GROUP BY over the rollup tables
(``DealDayRollup``, ``DealStageRollup``, ``DealCloseDays``), never over the deals.

Inputs (days are UTC; figures in the workspace's reporting currency, other currencies counted apart):

* flows, summed over the days ``start``..``end``: ``deals.registered[.amount]``, ``deals.registered.all``
  (rejected and expired registrations too), ``deals.won[.amount]``, ``deals.won.sourced[.amount]``,
  ``deals.won.influenced[.amount]``, ``deals.won.measured`` / ``deals.won.days`` (won deals with a
  measurable time to close / their calendar days registration → close: mean = days / measured),
  ``deals.lost[.amount]``, ``deals.cosell.won[.amount]`` (wins where the partner is a co-seller),
  ``deals.other_currency`` (registrations in another currency);
* ``deals.won.days.median`` — the median time to close of the won deals closed in the period (not
  additive: the total is the median over all the partners' deals);
* stocks at the end of ``end`` (names starting ``pipeline.``): ``pipeline.open[.amount]``,
  ``pipeline.open.weighted`` (amount × the stage's win probability, rounded to cents once),
  ``pipeline.open.age_days`` (sum over open deals of calendar days since registration: mean = this /
  ``pipeline.open``), ``pipeline.stage.<stage key>.count`` / ``.amount`` (summed over programs).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.db import connection

from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.deals import metrics
from openprm.deals.models import DealCloseDays, DealDayRollup, DealStageRollup, PipelineStage

Value = Decimal | int | float | None
Grain = Literal["month", "week", "day"]
CENT = Decimal("0.01")

FLOWS: dict[str, str] = {
    "deals.registered": "registered",
    "deals.registered.amount": "registered_amount",
    "deals.registered.all": "registered_all",
    "deals.won": "won",
    "deals.won.amount": "won_amount",
    "deals.won.sourced": "won_sourced",
    "deals.won.sourced.amount": "won_sourced_amount",
    "deals.won.influenced": "won_influenced",
    "deals.won.influenced.amount": "won_influenced_amount",
    "deals.won.measured": "won_measured",
    "deals.won.days": "won_days",
    "deals.lost": "lost",
    "deals.lost.amount": "lost_amount",
    "deals.cosell.won": "cosell_won",
    "deals.cosell.won.amount": "cosell_won_amount",
}
OTHER_CURRENCY = "deals.other_currency"
MEDIAN = "deals.won.days.median"
OPEN_STOCKS = ("pipeline.open", "pipeline.open.amount", "pipeline.open.weighted", "pipeline.open.age_days")
EVER_START = datetime.date(1, 1, 2)  # "since ever" as a period start


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: Any) -> str:
    return _quote(model._meta.db_table)


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


SQL_PARTNER_LIMIT = 50  # past this many partners, read the workspace's rows and keep theirs here


def _kept(partner_ids: Collection[int] | None) -> set[int] | None:
    """The partners to keep in Python (None: the query already filtered, or everyone)."""
    if partner_ids is None or len(partner_ids) <= SQL_PARTNER_LIMIT:
        return None
    return {int(p) for p in partner_ids}


def _partner_filter(partner_ids: Collection[int] | None, params: list[Any]) -> str:
    """The SQL filter on a few partners (a 2,000-id list costs more to plan and test per row than a
    read of the workspace's rows, which ``_kept`` then narrows)."""
    if partner_ids is None or len(partner_ids) > SQL_PARTNER_LIMIT:
        return ""
    ids = sorted({int(p) for p in partner_ids})
    if connection.vendor == "postgresql":
        params.append(ids)
        return " AND partner_id = ANY(%s)"
    params.extend(ids)
    return f" AND partner_id IN ({', '.join(['%s'] * len(ids)) or 'NULL'})"


def _day(value: datetime.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _flow_days(start: datetime.date, end: datetime.date, params: list[Any]) -> str:
    """The rows covering start..end: whole months from the month level, the rest from the day level."""
    first_full = start if start.day == 1 else _next_month(start)
    last_full = end.replace(day=1) if _next_month(end) - datetime.timedelta(days=1) == end else None
    if last_full is None:
        last_full = end.replace(day=1) - datetime.timedelta(days=1)
        last_full = last_full.replace(day=1)
    if first_full > last_full:  # no whole month inside
        params.extend([_day(start), _day(end)])
        return "(grain = 0 AND day BETWEEN %s AND %s)"
    params.extend(
        [
            _day(first_full),
            _day(last_full),
            _day(start),
            _day(first_full - datetime.timedelta(days=1)),
            _day(_next_month(last_full)),
            _day(end),
        ]
    )
    return (
        "((grain = 1 AND day BETWEEN %s AND %s) OR (grain = 0 AND (day BETWEEN %s AND %s "
        "OR day BETWEEN %s AND %s)))"
    )


def _flows(
    workspace_id: int,
    currency: str,
    partner_ids: Collection[int] | None,
    days: tuple[str, list[Any]],
    columns: list[str],
    other_currency: bool,
) -> dict[int, dict[str, Value]]:
    """One GROUP BY: the flows of each partner over ``days`` (a condition on the rows and its
    parameters) in the reporting currency, and its registrations in other currencies."""
    sums = "".join(f", SUM({_quote(FLOWS[name])})" for name in columns)
    query = (
        f"SELECT partner_id, currency, SUM(registered_all){sums} FROM {_table(DealDayRollup)} "  # noqa: S608
        f"WHERE workspace_id = %s AND {days[0]}"
    )
    params: list[Any] = [workspace_id, *days[1]]
    query += _partner_filter(partner_ids, params)
    if not other_currency:
        query += " AND currency = %s"
        params.append(currency)
    query += " GROUP BY partner_id, currency"
    out: dict[int, dict[str, Value]] = {}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        kept = _kept(partner_ids)
        for partner_id, row_currency, registered_all, *values in cursor.fetchall():
            if kept is not None and partner_id not in kept:
                continue
            entry = out.setdefault(partner_id, {})
            if row_currency == currency:
                for name, value in zip(columns, values, strict=True):
                    entry[name] = _number(name, value)
            else:
                entry[OTHER_CURRENCY] = int(entry.get(OTHER_CURRENCY) or 0) + int(registered_all or 0)
            if other_currency:
                entry.setdefault(OTHER_CURRENCY, 0)
    return out


def _period(start: datetime.date, end: datetime.date) -> tuple[str, list[Any]]:
    params: list[Any] = []
    return _flow_days(start, end, params), params


def _cents(value: Any) -> Decimal:
    """A summed amount: exact on PostgreSQL; SQLite sums decimals as floats, rounded back to cents."""
    return Decimal(value or 0).quantize(CENT, ROUND_HALF_UP)


def _number(name: str, value: Any) -> Value:
    if value is None:
        return 0
    if name.endswith(".amount"):
        return _cents(value)
    return int(value)


@dataclasses.dataclass(frozen=True)
class _Stage:
    key: str
    outcome: str
    probability: Decimal


def _stages(workspace_id: int) -> dict[int, _Stage]:
    with unscoped():
        rows = PipelineStage.objects.filter(workspace_id=workspace_id).values_list(
            "pk", "key", "outcome", "win_probability"
        )
        return {pk: _Stage(key, outcome, probability) for pk, key, outcome, probability in rows}


def _stock_rows(
    workspace_id: int, currency: str, partner_ids: Collection[int] | None, at: datetime.date
) -> list[tuple[int, int, int, Decimal, int]]:
    """(partner, stage, deals, amount, registration days) in each stage at the end of ``at``: the sums
    since ever minus what changed after ``at`` (later months, later days of its month)."""
    sign = "CASE WHEN grain = 2 THEN 1 ELSE -1 END"
    query = (
        f"SELECT partner_id, stage_id, SUM({sign} * count), SUM({sign} * amount), SUM({sign} * reg_days) "  # noqa: S608
        f"FROM {_table(DealStageRollup)} WHERE workspace_id = %s AND currency = %s "
        "AND (grain = 2 OR (grain = 1 AND day > %s) OR (grain = 0 AND day > %s AND day < %s))"
    )
    params: list[Any] = [workspace_id, currency, _day(at.replace(day=1)), _day(at), _day(_next_month(at))]
    query += _partner_filter(partner_ids, params)
    query += " GROUP BY partner_id, stage_id"
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        kept = _kept(partner_ids)
        return [
            (p, s, int(n or 0), _cents(a), int(r or 0))
            for p, s, n, a, r in cursor.fetchall()
            if (n or a) and (kept is None or p in kept)
        ]


def _stocks(
    workspace_id: int,
    currency: str,
    partner_ids: Collection[int] | None,
    at: datetime.date,
    names: set[str],
) -> tuple[dict[int, dict[str, Value]], Decimal]:
    """The stocks of each partner at the end of ``at``, and the weighted pipeline of them all (rounded
    once, on the total)."""
    stages = _stages(workspace_id)
    raw: dict[int, dict[str, Any]] = {}
    today = at.toordinal()
    weighted_total = Decimal(0)
    for partner_id, stage_id, count, amount, reg_days in _stock_rows(workspace_id, currency, partner_ids, at):
        stage = stages.get(stage_id)
        if stage is None:
            continue
        entry = raw.setdefault(partner_id, {})
        for name, value in (
            (f"pipeline.stage.{stage.key}.count", count),
            (f"pipeline.stage.{stage.key}.amount", amount),
        ):
            entry[name] = entry.get(name, 0) + value
        if stage.outcome == "open":
            weighted = amount * stage.probability
            weighted_total += weighted
            entry["pipeline.open"] = entry.get("pipeline.open", 0) + count
            entry["pipeline.open.amount"] = entry.get("pipeline.open.amount", Decimal(0)) + amount
            entry["weighted"] = entry.get("weighted", 0) + weighted
            entry["pipeline.open.age_days"] = (
                entry.get("pipeline.open.age_days", 0) + count * today - reg_days
            )
    out: dict[int, dict[str, Value]] = {}
    for partner_id, entry in raw.items():
        values: dict[str, Value] = {k: v for k, v in entry.items() if k in names}
        if "pipeline.open.weighted" in names:
            values["pipeline.open.weighted"] = Decimal(entry.get("weighted", 0)).quantize(CENT, ROUND_HALF_UP)
        out[partner_id] = values
    return out, weighted_total.quantize(CENT, ROUND_HALF_UP)


def _histograms(
    workspace_id: int,
    currency: str,
    partner_ids: Collection[int] | None,
    start: datetime.date,
    end: datetime.date,
    *,
    by_partner: bool = True,
) -> dict[int, dict[int, int]]:
    """Per partner (or, not ``by_partner``, all together under key 0): calendar days to close → won
    deals closed in start..end."""
    params: list[Any] = [workspace_id, currency, _day(start), _day(end)]
    kept = _kept(partner_ids)
    by_partner = by_partner or kept is not None  # narrowed here: grouped by partner first
    partner = "partner_id" if by_partner else "0"
    query = (
        f"SELECT {partner}, days, SUM(count) FROM {_table(DealCloseDays)} "  # noqa: S608
        "WHERE workspace_id = %s AND currency = %s AND day BETWEEN %s AND %s"
    )
    query += _partner_filter(partner_ids, params)
    query += f" GROUP BY {partner}, days" if by_partner else " GROUP BY days"
    out: dict[int, dict[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for partner_id, days, count in cursor.fetchall():
            if count and (kept is None or partner_id in kept):
                out.setdefault(partner_id, {})[int(days)] = int(count)
    return out


def histogram_median(histogram: Mapping[int, int]) -> float | None:
    """The median of the values a histogram (value → how many) describes, as ``statistics.median``."""
    count = sum(histogram.values())
    if not count:
        return None
    ordered = sorted(histogram.items())

    def nth(index: int) -> int:
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        raise IndexError(index)

    if count % 2:
        return float(nth(count // 2))
    return (nth(count // 2 - 1) + nth(count // 2)) / 2


def _reporting_currency(workspace_id: int) -> str:
    return str(Workspace.objects.values_list("currency", flat=True).get(pk=workspace_id))


def inputs(
    workspace_id: int,
    *,
    partner_ids: Collection[int] | None,
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
) -> dict[int, dict[str, Value]]:
    """:func:`metric_inputs`, with ``partner_ids`` None for every partner of the workspace."""
    wanted = set(names)
    currency = _reporting_currency(workspace_id)
    result: dict[int, dict[str, Value]] = {}
    columns = [name for name in FLOWS if name in wanted]
    if columns or OTHER_CURRENCY in wanted:
        other = OTHER_CURRENCY in wanted
        _merge(result, _flows(workspace_id, currency, partner_ids, _period(start, end), columns, other))
    stock_names = {name for name in wanted if name.startswith("pipeline.")}
    weighted_total = Decimal(0)
    if stock_names:
        stocks, weighted_total = _stocks(workspace_id, currency, partner_ids, end, stock_names)
        _merge(result, stocks)
    histograms: dict[int, dict[int, int]] = {}
    if MEDIAN in wanted:
        histograms = _histograms(workspace_id, currency, partner_ids, start, end)
        for partner_id, histogram in histograms.items():
            result.setdefault(partner_id, {})[MEDIAN] = histogram_median(histogram)
    total: dict[str, Value] = {}
    for values in result.values():
        for name, value in values.items():
            if name not in (MEDIAN, "pipeline.open.weighted") and value is not None:
                total[name] = total.get(name, 0) + value  # type: ignore[operator]
    if "pipeline.open.weighted" in wanted:
        total["pipeline.open.weighted"] = weighted_total
    if MEDIAN in wanted:
        merged: dict[int, int] = {}
        for histogram in histograms.values():
            for days, count in histogram.items():
                merged[days] = merged.get(days, 0) + count
        total[MEDIAN] = histogram_median(merged)
    result[0] = total
    return result


def _merge(into: dict[int, dict[str, Value]], values: Mapping[int, Mapping[str, Value]]) -> None:
    for partner_id, entry in values.items():
        into.setdefault(partner_id, {}).update(entry)


def metric_inputs(
    workspace_id: int,
    *,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
) -> dict[int, dict[str, Value]]:
    """Flows summed over the UTC days ``start``..``end``; stocks (``pipeline.*``) at the end of ``end``.
    One dict per partner with a value, plus key 0: the total over all ``partner_ids``."""
    return inputs(workspace_id, partner_ids=partner_ids, start=start, end=end, names=names)


def input_availability(workspace_id: int) -> set[str]:
    """The input names the workspace has any data for: every deal input once it has a deal (the
    rollups hold a row), with the stage inputs of its pipeline stages."""
    with unscoped():
        if not DealDayRollup.objects.filter(workspace_id=workspace_id).exists():
            return set()
    stage_names = {
        f"pipeline.stage.{stage.key}.{part}"
        for stage in _stages(workspace_id).values()
        for part in ("count", "amount")
    }
    return {*FLOWS, OTHER_CURRENCY, MEDIAN, *OPEN_STOCKS, *stage_names}


def periods(
    start: datetime.date, end: datetime.date, grain: Grain
) -> list[tuple[datetime.date, datetime.date]]:
    """The periods of ``grain`` covering ``start``..``end`` (weeks start on Monday), each clipped to it."""
    result: list[tuple[datetime.date, datetime.date]] = []
    day = start
    while day <= end:
        if grain == "day":
            following = day + datetime.timedelta(days=1)
        elif grain == "week":
            following = day + datetime.timedelta(days=7 - day.weekday())
        else:
            following = _next_month(day)
        result.append((day, min(end, following - datetime.timedelta(days=1))))
        day = following
    return result


def series(
    workspace_id: int,
    *,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
    grain: Grain = "month",
) -> dict[datetime.date, dict[str, Value]]:
    """The inputs per period of ``grain`` (keyed by the period's first day, the first one clipped to
    ``start``) over all ``partner_ids`` together: flows summed within the period, stocks at its last day."""
    return {
        first: inputs(workspace_id, partner_ids=partner_ids, start=first, end=last, names=names)[0]
        for first, last in periods(start, end, grain)
    }


# --- the deal summary of the pages and GET /metrics/deals ------------------------------------------------

SUMMARY_NAMES = (
    *FLOWS,
    OTHER_CURRENCY,
    "pipeline.open",
    "pipeline.open.amount",
    "pipeline.open.age_days",
)


@dataclasses.dataclass(frozen=True)
class DealTotals:
    currency: str
    summary: metrics.DealSummary
    other_currency_deals: int


def deal_totals(workspace_id: int, *, partner_ids: Collection[int] | None, on: datetime.date) -> DealTotals:
    """Every deal figure of the pages since ever, the pipeline as at the end of ``on``: what
    :func:`metrics.summarize` gives over the same deals (rounded at the same points)."""
    currency = _reporting_currency(workspace_id)
    flows = _flows(workspace_id, currency, partner_ids, ("grain = 2", []), [*FLOWS], True)  # since ever
    totals: dict[str, Any] = {}
    for entry in flows.values():
        for name, value in entry.items():
            totals[name] = totals.get(name, 0) + (value or 0)
    stages = _stages(workspace_id)
    groups: list[metrics.DealGroup] = []
    open_count, age_days = 0, 0
    for _, stage_id, count, amount, reg_days in _stock_rows(workspace_id, currency, partner_ids, on):
        stage = stages.get(stage_id)
        if stage is None or stage.outcome != "open":
            continue
        groups.append(metrics.DealGroup(metrics.Outcome.OPEN, "sourced", stage.probability, count, amount))
        open_count += count
        age_days += count * on.toordinal() - reg_days
    for source in ("sourced", "influenced"):
        n, amount = totals.get(f"deals.won.{source}", 0), totals.get(f"deals.won.{source}.amount", Decimal(0))
        if n:
            groups.append(metrics.DealGroup(metrics.Outcome.WON, source, Decimal(1), n, amount))
    if totals.get("deals.lost"):
        groups.append(
            metrics.DealGroup(
                metrics.Outcome.LOST, "sourced", Decimal(0), totals["deals.lost"], totals["deals.lost.amount"]
            )
        )
    merged: dict[int, int] = {}
    everyone = _histograms(
        workspace_id, currency, partner_ids, EVER_START, datetime.date.max, by_partner=False
    )
    for histogram in everyone.values():
        for days, count in histogram.items():
            merged[days] = merged.get(days, 0) + count
    won = totals.get("deals.won", 0)
    summary = metrics.summarize_groups(
        groups,
        days_to_close=merged,
        open_ages={},
        excluded_from_close=won - totals.get("deals.won.measured", 0),
    )
    summary = dataclasses.replace(
        summary, average_open_deal_age_days=age_days / open_count if open_count else None
    )
    return DealTotals(
        currency=currency, summary=summary, other_currency_deals=int(totals.get(OTHER_CURRENCY, 0))
    )
