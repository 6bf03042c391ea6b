"""The reads of deal figures, for the metric engine (see its contract) and the deal pages: named inputs
per partner over a period, which input names a workspace has data for and series by period (the deal
summary of the pages and ``GET /metrics/deals`` is :mod:`.summary`, on the same helpers). Every read is
a GROUP BY over the rollup tables (``DealDayRollup``, ``DealStageRollup``, ``DealCloseDays``), never
over the deals.

Inputs (days are UTC; figures in the workspace's reporting currency). Deals in another currency are
converted at each day's rate when a rate table is plugged in (:func:`convert_with`: the finance app's FX
table, which this app may not import): a flow's day sums at that day's rate, a stock at the rate of its
day, each converted sum rounded to cents once. What no rate converts (no table, or no rate of the pair
within the table's maximum age) is counted apart: ``deals.other_currency``, and :func:`unconverted` says
which currencies and days.

* flows, summed over the days ``start``..``end``: ``deals.registered[.amount]``, ``deals.registered.all``
  (rejected and expired registrations too), ``deals.won[.amount]``, ``deals.won.sourced[.amount]``,
  ``deals.won.influenced[.amount]``, ``deals.won.measured`` / ``deals.won.days`` (won deals with a
  measurable time to close / their calendar days registration → close: mean = days / measured),
  ``deals.lost[.amount]``, ``deals.cosell.won[.amount]`` (wins where the partner is a co-seller),
  ``deals.other_currency`` (registrations in another currency not converted);
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
import json
from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection

from openprm.core.scoping import unscoped
from openprm.deals.models import ROLLUP_EVER, DealCloseDays, DealDayRollup, DealStageRollup
from openprm.deals.rollups.context import (
    CENT,
    ZERO_CENTS,
    Grain,
    Value,
    _cents,
    _cents_reader,
    _converters,
    _next_month,
    _quote,
    _table,
    _Workspace,
    _workspace,
    histogram_median,
    periods,
)
from openprm.deals.rollups.context import stocks as stock_values
from openprm.deals.rollups.conversion import (
    OTHER_CURRENCY,
    Converter,
    Unconverted,
    as_date,
    convert_days,
    converter_for,
)

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
MEDIAN = "deals.won.days.median"
OPEN_STOCKS = ("pipeline.open", "pipeline.open.amount", "pipeline.open.weighted", "pipeline.open.age_days")
EVER_START = datetime.date(1, 1, 2)  # "since ever" as a period start


SQL_PARTNER_LIMIT = 50  # SQLite: past this many partners, no IN list (see _partner_filter)
# PostgreSQL, reads grouped by partner: past this many partners the workspace's rows are read and theirs
# kept in Python (at 200k deals: 300-600 partners of 2,000 read 1.5-3x faster filtered in SQL, all
# 2,000 faster unfiltered: the planner's estimate for a long array turns the index scans into seq scans).
PG_PARTNER_LIMIT = 500
SINCE_EVER_BEFORE = datetime.date(1970, 1, 1)  # earlier starts: "since ever" minus what lies outside


def _partner_filter(
    partner_ids: Collection[int] | None, params: list[Any], *, grouped: bool = True
) -> tuple[str, set[int] | None]:
    """The SQL condition on the partners and the set of partners to keep in Python (None: the query
    already filtered, or everyone). ``None`` is the whole workspace: no condition at all. PostgreSQL
    takes the partners as one ``bigint[]`` parameter (a hashed test per row; untyped, the driver sends
    ``int2[]`` and every row compares element by element), SQLite as an IN list up to
    ``SQL_PARTNER_LIMIT`` and a JSON list past it. A read grouped by partner for more partners than the
    limit reads the workspace's rows and keeps theirs in Python."""
    if partner_ids is None:
        return "", None
    ids = sorted({int(p) for p in partner_ids})
    limit = PG_PARTNER_LIMIT if connection.vendor == "postgresql" else SQL_PARTNER_LIMIT
    if grouped and len(ids) > limit:
        return "", set(ids)
    return " AND " + _in("partner_id", ids, params), None


def _in(column: str, values: list[int], params: list[Any]) -> str:
    """``column`` is one of ``values`` (integers), as one parameter where the database allows it."""
    if connection.vendor == "postgresql":
        params.append(values)
        return f"{column} = ANY(%s::bigint[])"
    if len(values) <= SQL_PARTNER_LIMIT:
        params.extend(values)
        return f"{column} IN ({', '.join(['%s'] * len(values)) or 'NULL'})"
    params.append(json.dumps(values))
    return f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608


def _day(value: datetime.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


EVER_ROWS = "(grain = 2 AND day = %s)"  # the since-ever rows (the day makes the key prefix exact)


def _after(at: datetime.date, params: list[Any]) -> str:
    """The month and day rows of what happened after the end of ``at``: later months, then the later
    days of its month."""
    params.extend([_day(at.replace(day=1)), _day(at), _day(_next_month(at))])
    return "(grain = 1 AND day > %s) OR (grain = 0 AND day > %s AND day < %s)"


def _before(start: datetime.date, params: list[Any]) -> str:
    """The month and day rows of what happened before ``start``: earlier months, then the earlier days
    of its month."""
    first = start.replace(day=1)
    params.extend([_day(first), _day(first), _day(start)])
    return "(grain = 1 AND day < %s) OR (grain = 0 AND day >= %s AND day < %s)"


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


@dataclasses.dataclass(frozen=True)
class _Rows:
    """Which rollup rows a read sums: a condition and its parameters; ``signed``: the since-ever rows
    count +1 and the others (what lies outside the period) -1."""

    condition: str
    params: list[Any]
    signed: bool = False
    first: datetime.date = EVER_START  # the days covered (the day rows other currencies convert from)
    last: datetime.date = datetime.date.max

    def column(self, name: str) -> str:
        return self.total(_quote(name))

    def total(self, expression: str) -> str:
        if not self.signed:
            return f"SUM({expression})"
        return f"SUM(CASE WHEN grain = 2 THEN {expression} ELSE -({expression}) END)"

    def presence(self) -> str:
        """A column that is 0 exactly when the period holds no row of the group (every row counts a
        registration, a close or a co-sold win; counts are never negative): what a signed read needs
        to leave out the groups a read of the period's own rows would not have found."""
        if not self.signed:
            return "1"
        return self.total("registered_all + won + lost + cosell_won")


def _period(start: datetime.date, end: datetime.date) -> _Rows:
    """The rows of the flows over start..end: for a period starting before any data could
    (``SINCE_EVER_BEFORE``), the since-ever rows minus what lies outside it (few rows: nothing past the
    end when it is today); else whole months and the partial months' days."""
    params: list[Any] = []
    if start < SINCE_EVER_BEFORE:
        params.append(_day(ROLLUP_EVER))
        after = _after(end, params)
        before = _before(start, params)
        return _Rows(f"({EVER_ROWS} OR {after} OR {before})", params, True, start, end)
    return _Rows(_flow_days(start, end, params), params, False, start, end)


def _since_ever() -> _Rows:
    return _Rows(EVER_ROWS, [_day(ROLLUP_EVER)])


def _flows(
    workspace_id: int,
    currency: str,
    partner_ids: Collection[int] | None,
    rows: _Rows,
    columns: list[str],
    other_currency: bool,
    converter: Converter | None = None,
) -> dict[int, dict[str, Value]]:
    """One GROUP BY: the flows of each partner over ``rows`` in the reporting currency, and its
    registrations in other currencies (with a rate table: the other currencies converted, see
    :func:`_converted`, which only runs when the GROUP BY found another currency: a workspace in one
    currency pays nothing for conversion)."""
    sums = "".join(f", {rows.column(FLOWS[name])}" for name in columns)
    query = (
        f"SELECT partner_id, currency, {rows.presence()}, {rows.column('registered_all')}{sums} "  # noqa: S608
        f"FROM {_table(DealDayRollup)} WHERE workspace_id = %s AND {rows.condition}"
    )
    params: list[Any] = [workspace_id, *rows.params]
    where, kept = _partner_filter(partner_ids, params)
    query += where
    converter = converter_for(workspace_id, currency) if converter is None else converter
    if not other_currency and converter is None:  # other currencies are neither converted nor counted
        query += " AND currency = %s"
        params.append(currency)
    query += " GROUP BY partner_id, currency"
    convert = _converters(columns)
    out: dict[int, dict[str, Value]] = {}
    others = False  # another currency among the rows: its days are read and converted below
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for partner_id, row_currency, present, registered_all, *values in cursor.fetchall():
            if (kept is not None and partner_id not in kept) or not present:
                continue
            entry = out.setdefault(partner_id, {})
            if row_currency == currency:
                entry.update(zip(columns, [f(v) for f, v in zip(convert, values, strict=True)], strict=True))
            elif converter is not None:
                others = True
            else:
                entry[OTHER_CURRENCY] = int(entry.get(OTHER_CURRENCY) or 0) + int(registered_all or 0)
            if other_currency:
                entry.setdefault(OTHER_CURRENCY, 0)
    if converter is not None and others:
        for partner_id, values in _converted(converter, partner_ids, rows, columns).items():
            entry = out.setdefault(partner_id, {})
            _add(entry, values)
            if other_currency:
                entry.setdefault(OTHER_CURRENCY, 0)
    return out


def _add(into: dict[str, Value], values: Mapping[str, Value]) -> None:
    for name, value in values.items():
        into[name] = into.get(name, 0) + value  # type: ignore[operator]


def _converted(
    converter: Converter, partner_ids: Collection[int] | None, rows: _Rows, columns: list[str]
) -> dict[int, dict[str, Value]]:
    """The flows in other currencies of each partner over ``rows``' days, converted day by day: one
    query over the day rows (each day's sums at that day's rate, rounded to cents), then the rates of
    their days in one more. Days no rate converts count their registrations in ``deals.other_currency``
    (and in ``converter.apart``)."""
    sums = "".join(f", {_quote(FLOWS[name])}" for name in columns)
    query = (
        f"SELECT partner_id, currency, day, registered_all{sums} FROM {_table(DealDayRollup)} "  # noqa: S608
        "WHERE workspace_id = %s AND grain = 0 AND day BETWEEN %s AND %s AND currency <> %s"
    )
    params: list[Any] = [converter.workspace_id, _day(rows.first), _day(rows.last), converter.currency]
    where, kept = _partner_filter(partner_ids, params, grouped=False)
    query += where
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        found = [row for row in cursor.fetchall() if kept is None or row[0] in kept]
    return convert_days(converter, found, columns, _cents)


def _flow_totals(
    workspace_id: int,
    currency: str,
    partner_ids: Collection[int] | None,
    rows: _Rows,
    converter: Converter | None = None,
) -> dict[str, Value]:
    """The flows of the partners together (no partner None: the whole workspace) over ``rows``: one
    aggregate per currency, summed in the database; other currencies' days converted (one more query,
    only when there is another currency)."""
    columns = [*FLOWS]
    sums = "".join(f", {rows.column(FLOWS[name])}" for name in columns)
    query = (
        f"SELECT currency, {rows.column('registered_all')}{sums} "  # noqa: S608
        f"FROM {_table(DealDayRollup)} WHERE workspace_id = %s AND {rows.condition}"
    )
    params: list[Any] = [workspace_id, *rows.params]
    where, _ = _partner_filter(partner_ids, params, grouped=False)
    converter = converter_for(workspace_id, currency) if converter is None else converter
    query += where + " GROUP BY currency"
    convert = _converters(columns)
    totals: dict[str, Value] = {OTHER_CURRENCY: 0}
    others = False
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for row_currency, registered_all, *values in cursor.fetchall():
            if row_currency == currency:
                totals.update(zip(columns, [f(v) for f, v in zip(convert, values, strict=True)], strict=True))
            elif converter is not None:
                others = True
            else:
                totals[OTHER_CURRENCY] = int(totals[OTHER_CURRENCY] or 0) + int(registered_all or 0)
    if converter is not None and others:
        for values in _converted(converter, partner_ids, rows, columns).values():
            _add(totals, values)
    return totals


def _stock_rows(
    workspace_id: int,
    currency: str,
    partner_ids: Collection[int] | None,
    at: datetime.date,
    *,
    stage_ids: Collection[int] | None = None,
    by_partner: bool = True,
    converter: Converter | None = None,
) -> list[tuple[int, int, int, Decimal, int]]:
    """(partner, stage, deals, amount, registration days) in each stage (of ``stage_ids``, None: all) at
    the end of ``at``: the sums since ever minus what changed after ``at`` (later months, later days of
    its month). Not ``by_partner``: the partners together, under partner 0. With a rate table, the
    stages' amounts in other currencies are converted at the rate of ``at`` (of today for a later day:
    the stock then is today's; no rate: left out, in ``converter.apart``), each partner's stage rounded
    to cents, also when the partners are read together (so the deal pages' pipeline is the sum of the
    metric engine's per partner)."""
    if stage_ids is not None and not stage_ids:
        return []
    converter = converter_for(workspace_id, currency) if converter is None else converter
    sign = "CASE WHEN grain = 2 THEN 1 ELSE -1 END"
    params: list[Any] = []
    partner = "partner_id"
    if not by_partner:  # the reporting currency summed over the partners, other currencies per partner
        partner = "CASE WHEN currency = %s THEN 0 ELSE partner_id END"
        params.append(currency)
    params += [workspace_id, _day(ROLLUP_EVER)]
    query = (
        f"SELECT {partner}, stage_id, currency, SUM({sign} * count), SUM({sign} * amount), "  # noqa: S608
        f"SUM({sign} * reg_days) FROM {_table(DealStageRollup)} WHERE workspace_id = %s "
        f"AND ({EVER_ROWS} OR {_after(at, params)})"
    )
    if converter is None:
        query += " AND currency = %s"
        params.append(currency)
    if stage_ids is not None:
        query += " AND " + _in("stage_id", sorted(stage_ids), params)
    where, kept = _partner_filter(partner_ids, params, grouped=by_partner)
    query += where
    query += " GROUP BY partner_id, stage_id, currency" if by_partner else " GROUP BY 1, stage_id, currency"
    cents = _cents_reader()
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        found = [
            (p, s, c, int(n or 0), cents(a), int(r or 0))
            for p, s, c, n, a, r in cursor.fetchall()
            if (n or a) and (kept is None or p in kept)
        ]
    merged: dict[tuple[int, int], list[Any]] = {}
    rate_day = min(at, datetime.datetime.now(datetime.UTC).date())  # a later day's stock is today's
    for p, s, row_currency, n, a, r in found:
        if row_currency != currency:
            rate = converter.rate(row_currency, rate_day) if converter is not None else None
            if rate is None:
                if converter is not None:
                    converter.left_out(row_currency, rate_day, n, stock=True)
                continue
            a = (a * rate).quantize(CENT, ROUND_HALF_UP)
        entry = merged.setdefault((p if by_partner else 0, s), [0, ZERO_CENTS, 0])
        entry[0] += n
        entry[1] += a
        entry[2] += r
    return [(p, s, n, a, r) for (p, s), (n, a, r) in merged.items()]


def _histograms(
    workspace_id: int,
    currency: str,
    partner_ids: Collection[int] | None,
    start: datetime.date,
    end: datetime.date,
    *,
    by_partner: bool = True,
    converter: Converter | None = None,
) -> dict[int, dict[int, int]]:
    """Per partner (or, not ``by_partner``, all together under key 0): calendar days to close → won
    deals closed in start..end; with a rate table, those in other currencies closed on days a rate
    converts too (they count in the won deals, so in their median). One query: the other currencies'
    rows come per close day (a workspace in one currency reads exactly what it did before)."""
    converter = converter_for(workspace_id, currency) if converter is None else converter
    partner = "partner_id" if by_partner else "0"
    params: list[Any] = [currency, workspace_id, _day(start), _day(end)]
    query = (
        f"SELECT {partner}, days, SUM(count), currency, "  # noqa: S608
        f"CASE WHEN currency = %s THEN NULL ELSE day END FROM {_table(DealCloseDays)} "
        "WHERE workspace_id = %s AND day BETWEEN %s AND %s"
    )
    if converter is None:
        query += " AND currency = %s"
        params.append(currency)
    where, kept = _partner_filter(partner_ids, params, grouped=by_partner)
    query += where + f" GROUP BY {'partner_id, ' if by_partner else ''}days, currency, 5"
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        found = [row for row in cursor.fetchall() if row[2] and (kept is None or row[0] in kept)]
    others = [row for row in found if row[3] != currency]
    if others and converter is not None:
        converter.load([as_date(row[4]) for row in others])
        found = [
            row for row in found if row[3] == currency or converter.rate(row[3], as_date(row[4])) is not None
        ]
    out: dict[int, dict[int, int]] = {}
    for partner_id, days, count, *_ in found:
        histogram = out.setdefault(partner_id, {})
        histogram[int(days)] = histogram.get(int(days), 0) + int(count)
    return out


def inputs(
    workspace_id: int,
    *,
    partner_ids: Collection[int] | None,
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
    context: _Workspace | None = None,
    converter: Converter | None = None,
) -> dict[int, dict[str, Value]]:
    """:func:`metric_inputs`, with ``partner_ids`` None for every partner of the workspace (``context``:
    the workspace's currency and stages, when the caller already read them; ``converter``: the rates
    of a whole series, loaded once — see :func:`inputs_of_periods`)."""
    wanted = set(names)
    context = context or _workspace(workspace_id)
    currency = context.currency
    converter = converter or converter_for(workspace_id, currency)
    result: dict[int, dict[str, Value]] = {}
    columns = [name for name in FLOWS if name in wanted]
    if columns or OTHER_CURRENCY in wanted:
        other = OTHER_CURRENCY in wanted
        period = _period(start, end)
        _merge(result, _flows(workspace_id, currency, partner_ids, period, columns, other, converter))
    stock_names = {name for name in wanted if name.startswith("pipeline.")}
    weighted_total = Decimal(0)
    if stock_names:
        rows = _stock_rows(workspace_id, currency, partner_ids, end, converter=converter)
        stocks, weighted_total = stock_values(context, rows, end, stock_names)
        _merge(result, stocks)
    histograms: dict[int, dict[int, int]] = {}
    if MEDIAN in wanted:
        histograms = _histograms(workspace_id, currency, partner_ids, start, end, converter=converter)
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


def unconverted(
    workspace_id: int, *, partner_ids: Collection[int] | None, start: datetime.date, end: datetime.date
) -> list[Unconverted]:
    """What the figures of ``start``..``end`` leave out, per currency with their days: the registrations
    in other currencies that no rate converts (what ``deals.other_currency`` counts) and the open deals
    in them left out of the pipeline at the end (no rate of ``min(end, today)``: ``open_deals``, that
    day among the days); empty without a rate table."""
    context = _workspace(workspace_id)
    converter = converter_for(workspace_id, context.currency)
    if converter is None:
        return []
    converter.expect(min(end, datetime.datetime.now(datetime.UTC).date()))  # the stock's, in one load
    _converted(converter, partner_ids, _period(start, end), [])
    open_stages = [pk for pk, stage in context.stages.items() if stage.outcome == "open"]
    _stock_rows(
        workspace_id,
        context.currency,
        partner_ids,
        end,
        stage_ids=open_stages,
        by_partner=False,
        converter=converter,
    )
    return sorted(converter.apart.values(), key=lambda u: u.currency)


def input_availability(workspace_id: int) -> set[str]:
    """The input names the workspace has any data for: every deal input once it has a deal (the
    rollups hold a row), with the stage inputs of its pipeline stages."""
    with unscoped():
        if not DealDayRollup.objects.filter(workspace_id=workspace_id).exists():
            return set()
    stage_names = {
        f"pipeline.stage.{stage.key}.{part}"
        for stage in _workspace(workspace_id).stages.values()
        for part in ("count", "amount")
    }
    return {*FLOWS, OTHER_CURRENCY, MEDIAN, *OPEN_STOCKS, *stage_names}


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
    spans = periods(start, end, grain)
    found = inputs_of_periods(workspace_id, partner_ids=partner_ids, spans=spans, names=names)
    return {first: values[0] for (first, _), values in zip(spans, found, strict=True)}


def inputs_of_periods(
    workspace_id: int,
    *,
    partner_ids: Collection[int] | None,
    spans: Sequence[tuple[datetime.date, datetime.date]],
    names: Collection[str],
) -> list[dict[int, dict[str, Value]]]:
    """:func:`inputs` of each (start, end) of ``spans``, with the workspace read once and one converter:
    the rates of the whole range (to today at most, where the stocks' rates stop) in one query, made
    only if some period holds another currency."""
    context = _workspace(workspace_id)
    converter = converter_for(workspace_id, context.currency)
    if converter is not None and spans:
        today = datetime.datetime.now(datetime.UTC).date()
        first = max(min(s for s, _ in spans), SINCE_EVER_BEFORE)
        converter.expect(min(first, today), min(max(e for _, e in spans), today))
    return [
        inputs(
            workspace_id,
            partner_ids=partner_ids,
            start=first,
            end=last,
            names=names,
            context=context,
            converter=converter,
        )
        for first, last in spans
    ]
