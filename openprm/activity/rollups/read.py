"""Reading the event rollups: the ONLY way anything reads them (the metric engine, selectors, benches).

Every function answers one aggregate query (or one per few thousand partners) over the rollup tables —
never raw events — and returns plain dicts of ``Decimal`` (``float`` for medians). Metric names are the
ones documented in the package docstring; ``events.*`` is the total over every event type. Days are
whole UTC days, ``start`` and ``end`` both included.

Scoping: the caller names the workspace and, usually, the partners (a selector that scoped them by its
actor). When an access scope is active the reads are narrowed to it as well — a partner user's scope
reads only their partner, a staff member restricted to their own partners only those — and a scope of
another workspace is refused. Outside any scope (jobs, CLI) the workspace is read as named.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from decimal import Decimal
from typing import Any, Literal

from django.db import connection

from openprm.activity.models import PairedInterval, PartnerDayMetric
from openprm.activity.rollups.deltas import GAUGES
from openprm.core.scoping import ScopeError, active_scope_or_none
from openprm.partners.models import Partner

By = Literal["partner", "month", "partner_month", "day"]
Key = int | datetime.date | tuple[int, datetime.date]
ALL_EVENTS = "events.*"
INTERVAL_KINDS = ("reply.partner", "reply.vendor", "ticket.resolved")
PLACES = Decimal("0.0001")  # rollup values carry 4 decimal places
_CHUNK = 5_000  # partner ids per query on SQLite (PostgreSQL takes them as one array)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _number(value: Any) -> Decimal:
    """A database number as a Decimal of the rollups' precision (SQLite sums decimals as floats)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(str(value)).quantize(PLACES)


def _day(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _scope(workspace_id: int) -> tuple[str, list[Any]]:
    """SQL conditions (on ``partner_id``) narrowing a read to the active access scope, if any."""
    scope = active_scope_or_none()
    if scope is None:
        return "", []
    if scope.workspace_id != workspace_id:
        raise ScopeError("rollups of another workspace read inside an access scope")
    sql, params = "", []
    if scope.partner_id is not None:
        sql += " AND partner_id = %s"
        params.append(scope.partner_id)
    if scope.owner_id is not None:
        table = connection.ops.quote_name(Partner._meta.db_table)
        sql += f" AND partner_id IN (SELECT id FROM {table} WHERE workspace_id = %s AND owner_id = %s)"  # noqa: S608
        params += [workspace_id, scope.owner_id]
    return sql, params


def _partner_parts(partner_ids: Collection[int] | None) -> Iterator[tuple[str, list[Any]]]:
    """SQL conditions selecting the partners: none for all, one array on PostgreSQL, chunks on SQLite.
    Nothing at all for an empty collection (no partner, no row)."""
    if partner_ids is None:
        yield "", []
        return
    ids = sorted({int(p) for p in partner_ids})
    if not ids:
        return
    if _postgres():
        yield " AND partner_id = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
        return
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        yield f" AND partner_id IN ({', '.join(['%s'] * len(part))})", list(part)


def _names(metrics: Collection[str]) -> tuple[list[str], bool]:
    """The stored metric names to read, and whether ``events.*`` (every event type) was asked for."""
    wanted = set(metrics)
    return sorted(wanted - {ALL_EVENTS}), ALL_EVENTS in wanted


def _metric_condition(names: Sequence[str], all_events: bool) -> tuple[str, list[Any]]:
    parts, params = [], list[Any]()
    if names:
        parts.append(f"metric IN ({', '.join(['%s'] * len(names))})")
        params += names
    if all_events:
        parts.append("metric LIKE %s")
        params.append("events.%")
    return "(" + " OR ".join(parts) + ")", params


def _rows(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


_TABLE = PartnerDayMetric._meta.db_table


def _cells(
    workspace_id: int,
    *,
    metrics: Collection[str],
    start: datetime.date | None,
    end: datetime.date,
    partner_ids: Collection[int] | None,
    by: By,
) -> dict[Key, dict[str, Decimal]]:
    names, all_events = _names(metrics)
    if not names and not all_events:
        return {}
    quote = connection.ops.quote_name
    if by == "partner":
        group = ["partner_id"]
    elif by == "day":
        group = ["day"]
    else:
        month = "CAST(date_trunc('month', day) AS date)" if _postgres() else "substr(day, 1, 7) || '-01'"
        group = [month] if by == "month" else ["partner_id", month]
    gauges = [n for n in names if n in GAUGES]
    flows = [n for n in names if n not in GAUGES]
    scope_sql, scope_params = _scope(workspace_id)
    found: dict[Key, dict[str, Decimal]] = defaultdict(dict)
    for partner_sql, partner_params in _partner_parts(partner_ids):
        for selected, all_flag, aggregate in ((flows, all_events, "SUM"), (gauges, False, "MAX")):
            if not selected and not all_flag:
                continue
            condition, metric_params = _metric_condition(selected, all_flag)
            where = "workspace_id = %s AND day <= %s"
            params: list[Any] = [workspace_id, end]
            if start is not None:
                where += " AND day >= %s"
                params.append(start)
            keys = ", ".join(group)
            # events.* sums every event type: rows of a type also asked for by name count in both
            query = (
                f"SELECT {keys}, metric, {aggregate}(value) FROM {quote(_TABLE)} "  # noqa: S608
                f"WHERE {where} AND {condition}{partner_sql}{scope_sql} GROUP BY {keys}, metric"
            )
            rows = _rows(query, [*params, *metric_params, *partner_params, *scope_params])
            for row in rows:
                *key_parts, metric, value = row
                key = _key(by, key_parts)
                number = _number(value)
                targets = []
                if metric in selected:
                    targets.append(metric)
                if all_flag and metric.startswith("events."):
                    targets.append(ALL_EVENTS)
                cell = found[key]
                for target in targets:
                    if aggregate == "MAX":
                        cell[target] = max(cell.get(target, number), number)
                    else:
                        cell[target] = cell.get(target, Decimal(0)) + number
    return {key: values for key, values in found.items() if any(values.values())}


def _key(by: By, parts: Sequence[Any]) -> Key:
    if by == "partner":
        return int(parts[0])
    if by == "day":
        return _day(parts[0])
    if by == "month":
        return _day(parts[0])
    return (int(parts[0]), _day(parts[1]))


def sums(
    workspace_id: int,
    *,
    start: datetime.date,
    end: datetime.date,
    metrics: Collection[str],
    partner_ids: Collection[int] | None = None,
    by: By = "partner",
) -> dict[Any, dict[str, Decimal]]:
    """Each metric summed over the days from ``start`` to ``end`` (both included), grouped ``by``:
    partner id, the first day of the month, (partner id, first day of the month) or the day.

    A gauge (``content.followers``) gives its largest value of the group instead of a sum. Only groups
    with a non-zero value appear; within a group, metrics without rows are absent (read them as 0)."""
    return _cells(workspace_id, metrics=metrics, start=start, end=end, partner_ids=partner_ids, by=by)


def stock(
    workspace_id: int,
    *,
    metrics: Collection[str],
    on_or_before: datetime.date,
    partner_ids: Collection[int] | None = None,
) -> dict[int, dict[str, Decimal]]:
    """Each metric summed per partner over its whole history up to ``on_or_before`` (e.g. certifications
    earned and expired: the active ones are their difference)."""
    found = _cells(
        workspace_id, metrics=metrics, start=None, end=on_or_before, partner_ids=partner_ids, by="partner"
    )
    return {key: values for key, values in found.items() if isinstance(key, int)}


def last_days(
    workspace_id: int,
    *,
    metrics: Collection[str],
    on_or_before: datetime.date,
    since: datetime.date | None = None,
    partner_ids: Collection[int] | None = None,
) -> dict[int, datetime.date]:
    """Per partner, the latest day up to ``on_or_before`` (and from ``since``) on which any of the
    metrics is above 0 (e.g. the last contact, the last qualifying event). Partners with none are absent."""
    names, all_events = _names(metrics)
    if not names and not all_events:
        return {}
    condition, metric_params = _metric_condition(names, all_events)
    scope_sql, scope_params = _scope(workspace_id)
    where = "workspace_id = %s AND day <= %s AND value > 0"
    params: list[Any] = [workspace_id, on_or_before]
    if since is not None:
        where += " AND day >= %s"
        params.append(since)
    found: dict[int, datetime.date] = {}
    for partner_sql, partner_params in _partner_parts(partner_ids):
        query = (
            f"SELECT partner_id, MAX(day) FROM {connection.ops.quote_name(_TABLE)} "  # noqa: S608
            f"WHERE {where} AND {condition}{partner_sql}{scope_sql} GROUP BY partner_id"
        )
        for partner_id, day in _rows(query, [*params, *metric_params, *partner_params, *scope_params]):
            found[int(partner_id)] = _day(day)
    return found


def gauge_ends(
    workspace_id: int,
    *,
    metric: str,
    start: datetime.date,
    end: datetime.date,
    partner_ids: Collection[int] | None = None,
    carry_in: bool = True,
) -> dict[int, tuple[Decimal, Decimal]]:
    """Per partner, a gauge's value at the start and at the end of the period (``content.followers``).

    As the engagement figures define the audience (``metrics.formulas.audience``): at the end, the latest
    value reported on or before ``end``; at the start, the latest reported before ``start`` or — for a
    gauge first reported inside the period — the first reported in it. ``carry_in=False``: only values
    reported inside the period (the first and the last of them). Partners with no value are absent."""
    quote = connection.ops.quote_name
    table = quote(_TABLE)
    scope_sql, scope_params = _scope(workspace_id)
    found: dict[int, tuple[Decimal, Decimal]] = {}
    lower = None if carry_in else start
    for partner_sql, partner_params in _partner_parts(partner_ids):
        where = "workspace_id = %s AND metric = %s AND day <= %s"
        params: list[Any] = [workspace_id, metric, end]
        if lower is not None:
            where += " AND day >= %s"
            params.append(lower)
        # per partner: the last day before the period, the first and the last day up to its end
        query = (
            "SELECT g.partner_id, b.value, f.value, l.value FROM ("  # noqa: S608
            "SELECT partner_id, MAX(CASE WHEN day < %s THEN day END) AS before_day, "
            "MIN(CASE WHEN day >= %s THEN day END) AS first_day, MAX(day) AS last_day "
            f"FROM {table} WHERE {where}{partner_sql}{scope_sql} GROUP BY partner_id) g "
            f"LEFT JOIN {table} b ON b.workspace_id = %s AND b.partner_id = g.partner_id "
            "AND b.metric = %s AND b.day = g.before_day "
            f"LEFT JOIN {table} f ON f.workspace_id = %s AND f.partner_id = g.partner_id "
            "AND f.metric = %s AND f.day = g.first_day "
            f"JOIN {table} l ON l.workspace_id = %s AND l.partner_id = g.partner_id "
            "AND l.metric = %s AND l.day = g.last_day"
        )
        rows = _rows(
            query,
            [
                start,
                start,
                *params,
                *partner_params,
                *scope_params,
                *([workspace_id, metric] * 3),
            ],
        )
        for partner_id, before, first, last in rows:
            opening = before if before is not None else first
            if opening is None:
                continue
            found[int(partner_id)] = (_number(opening), _number(last))
    return found


def interval_medians(
    workspace_id: int,
    *,
    kind: str,
    start: datetime.date,
    end: datetime.date,
    partner_ids: Collection[int] | None = None,
) -> dict[int, float]:
    """The exact median, in seconds, of the paired intervals of ``kind`` (``reply.partner``,
    ``reply.vendor``, ``ticket.resolved``) that ended in the period: per partner, and under key 0 over
    all the given partners together. Partners without an interval are absent (and 0 when none has any)."""
    table = connection.ops.quote_name(PairedInterval._meta.db_table)
    scope_sql, scope_params = _scope(workspace_id)
    where = "workspace_id = %s AND kind = %s AND day >= %s AND day <= %s"
    params: list[Any] = [workspace_id, kind, start, end]
    found: dict[int, float] = {}
    if _postgres():
        for partner_sql, partner_params in _partner_parts(partner_ids):
            query = (
                "SELECT partner_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) "  # noqa: S608
                f"FROM {table} WHERE {where}{partner_sql}{scope_sql} "
                "GROUP BY GROUPING SETS ((partner_id), ())"
            )
            for partner_id, median in _rows(query, [*params, *partner_params, *scope_params]):
                if median is not None:
                    found[0 if partner_id is None else int(partner_id)] = float(median)
        return found
    every: list[int] = []
    per_partner: dict[int, list[int]] = defaultdict(list)
    for partner_sql, partner_params in _partner_parts(partner_ids):
        query = f"SELECT partner_id, seconds FROM {table} WHERE {where}{partner_sql}{scope_sql}"  # noqa: S608
        for partner_id, seconds in _rows(query, [*params, *partner_params, *scope_params]):
            per_partner[int(partner_id)].append(int(seconds))
            every.append(int(seconds))
    for partner_id, values in per_partner.items():
        found[partner_id] = float(statistics.median(values))
    if every:
        found[0] = float(statistics.median(every))
    return found
