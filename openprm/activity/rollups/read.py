"""Reading the event rollups: the ONLY way anything reads them (the metric engine, selectors, benches).

Every function answers with one aggregate query (per few thousand partners on SQLite) over the rollup
tables — never raw events — and returns plain dicts of ``Decimal`` (``float`` for medians). Metric names
are the ones documented in the package docstring; ``events.*`` is the total over every event type. Days
are whole UTC days, ``start`` and ``end`` both included.

Scoping: the caller names the workspace and, usually, the partners (a selector that scoped them by its
actor). When an access scope is active the reads are narrowed to it as well — a partner user's scope
reads only their partner, a staff member restricted to their own partners only those — and a scope of
another workspace is refused. Outside any scope (jobs, CLI) the workspace is read as named.
"""

from __future__ import annotations

import calendar
import datetime
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from decimal import Decimal
from typing import Any, Literal

from django.db import connection
from django.db.models import OuterRef, Subquery

from openprm.activity.models import PairedInterval, PartnerDay, PartnerMonth
from openprm.activity.rollups import columns
from openprm.core.scoping import ScopeError, active_scope_or_none
from openprm.partners.models import Partner

By = Literal["partner", "month", "partner_month", "day"]
Key = int | datetime.date | tuple[int, datetime.date]
ALL_EVENTS = columns.ALL_EVENTS
INTERVAL_KINDS = ("reply.partner", "reply.vendor", "ticket.resolved")
_CHUNK = 5_000  # partner ids per query on SQLite (PostgreSQL takes them as one array)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _day(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _rows(query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def _scope(workspace_id: int) -> tuple[str, list[Any]]:
    """SQL conditions (on ``t.partner_id``) narrowing a read to the active access scope, if any."""
    scope = active_scope_or_none()
    if scope is None:
        return "", []
    if scope.workspace_id != workspace_id:
        raise ScopeError("rollups of another workspace read inside an access scope")
    sql, params = "", []
    if scope.partner_id is not None:
        sql += " AND t.partner_id = %s"
        params.append(scope.partner_id)
    if scope.owner_id is not None:
        table = connection.ops.quote_name(Partner._meta.db_table)
        sql += f" AND t.partner_id IN (SELECT id FROM {table} WHERE workspace_id = %s AND owner_id = %s)"  # noqa: S608
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
        yield " AND t.partner_id = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
        return
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        yield f" AND t.partner_id IN ({', '.join(['%s'] * len(part))})", list(part)


def _where(workspace_id: int, start: datetime.date | None, end: datetime.date) -> tuple[str, list[Any]]:
    """Rows of the workspace from ``start`` (or ever) to ``end``, narrowed to the active scope."""
    where = "t.workspace_id = %s AND t.day <= %s"
    params: list[Any] = [workspace_id, end]
    if start is not None:
        where += " AND t.day >= %s"
        params.append(start)
    scope_sql, scope_params = _scope(workspace_id)
    return where + scope_sql, params + scope_params


def _split(metrics: Collection[str]) -> tuple[list[str], list[str]]:
    """The asked metrics that have a column (as columns) and those kept in ``extra`` (as names)."""
    own = sorted({columns.COLUMN_OF[m] for m in metrics if m in columns.COLUMN_OF}, key=columns.COLUMNS.index)
    return own, sorted({m for m in metrics if m not in columns.COLUMN_OF})


def _group(by: By) -> list[str]:
    if by == "partner":
        return ["t.partner_id"]
    if by == "day":
        return ["t.day"]
    month = "CAST(date_trunc('month', t.day) AS date)" if _postgres() else "substr(t.day, 1, 7) || '-01'"
    return [month] if by == "month" else ["t.partner_id", month]


def _key(by: By, parts: Sequence[Any]) -> Key:
    if by == "partner":
        return int(parts[0])
    if by in ("day", "month"):
        return _day(parts[0])
    return (int(parts[0]), _day(parts[1]))


def _extra_each() -> str:
    """A FROM item listing each row's ``extra`` entries as ``e.key``, ``e.value``."""
    if _postgres():
        return "CROSS JOIN LATERAL jsonb_each_text(t.extra) AS e"
    return "CROSS JOIN json_each(t.extra) AS e"


def _cells(
    workspace_id: int,
    *,
    metrics: Collection[str],
    start: datetime.date | None,
    end: datetime.date,
    partner_ids: Collection[int] | None,
    by: By,
    nonzero: bool = False,
) -> dict[Key, dict[str, Decimal]]:
    """``nonzero``: read only the rows where one of the (count) columns asked is above 0 — the same sums
    (counts are never negative), and a sparse stock such as certifications reads its partial index.

    Column metrics over a range holding whole calendar months, grouped other than by day, read those
    months from ``PartnerMonth`` and only the edge days from ``PartnerDay`` (a year for 2,000 partners:
    ~38,000 rows instead of ~730,000); the stock keeps its partial index of days (measured as fast)."""
    own, extra = _split(metrics)
    if not own and not extra:
        return {}
    sparse = ""
    if nonzero and own and not extra and all(c.startswith("events_") for c in own):
        sparse = " AND (" + " OR ".join(f"t.{c} > 0" for c in own) + ")"
    table = connection.ops.quote_name(columns.TABLE)
    group = _group(by)
    keys = ", ".join(group)
    positions = ", ".join(str(i + 1) for i in range(len(group)))
    where, params = _where(workspace_id, start, end)
    found: dict[Key, dict[str, Decimal]] = defaultdict(dict)
    aggregates = ", ".join(f"{'MAX' if c in columns.GAUGE_COLUMNS else 'SUM'}(t.{c})" for c in own)
    whole = None if extra or sparse or by == "day" or start is None else _whole_months(start, end)
    for partner_sql, partner_params in _partner_parts(partner_ids):
        if own:
            if whole is None or start is None:
                query = (
                    f"SELECT {keys}, {aggregates} FROM {table} AS t "  # noqa: S608
                    f"WHERE {where}{partner_sql}{sparse} GROUP BY {positions}"
                )
                query_params = [*params, *partner_params]
            else:
                rows_sql, query_params = _month_rows(
                    workspace_id,
                    own,
                    start=start,
                    end=end,
                    whole=whole,
                    partner=(partner_sql, partner_params),
                )
                query = f"SELECT {keys}, {aggregates} FROM ({rows_sql}) AS t GROUP BY {positions}"  # noqa: S608
            for row in _rows(query, query_params):
                cell = found[_key(by, row[: len(group)])]
                for column, value in zip(own, row[len(group) :], strict=True):
                    if value:
                        cell[columns.METRIC_OF[column]] = columns.decimal(value)
        if extra:
            number = "CAST(e.value AS numeric)" if _postgres() else "e.value"
            query = (
                f"SELECT {keys}, e.key, SUM({number}) FROM {table} AS t {_extra_each()} "  # noqa: S608
                f"WHERE t.extra IS NOT NULL AND e.key IN ({', '.join(['%s'] * len(extra))}) AND {where}"
                f"{partner_sql} GROUP BY {positions}, e.key"
            )
            for row in _rows(query, [*extra, *params, *partner_params]):
                *parts, name, value = row
                if value:
                    found[_key(by, parts)][name] = columns.decimal(value)
    return {key: values for key, values in found.items() if values}


def _next_month(day: datetime.date) -> datetime.date | None:
    """The first day of the month after ``day``'s (None after the last representable month)."""
    if day.year == datetime.MAXYEAR and day.month == 12:
        return None
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _whole_months(start: datetime.date, end: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """The first days of the first and the last calendar month lying wholly within ``start``..``end``
    (None when there is none). Open ends such as ``date.max`` are fine."""
    first = start if start.day == 1 else _next_month(start)
    if end.day == calendar.monthrange(end.year, end.month)[1]:
        last = end.replace(day=1)
    elif end.year == datetime.MINYEAR and end.month == 1:
        return None
    else:
        last = (end.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    return (first, last) if first is not None and first <= last else None


def _month_rows(
    workspace_id: int,
    own: Sequence[str],
    *,
    start: datetime.date,
    end: datetime.date,
    whole: tuple[datetime.date, datetime.date],
    partner: tuple[str, list[Any]],
) -> tuple[str, list[Any]]:
    """The rows of a read over whole months and edge days: the ``PartnerMonth`` rows of the whole months
    (their ``day``: the month's first) and the ``PartnerDay`` rows of the edge days before and after them,
    ``UNION ALL``, each narrowed to the scope and to the ``partner`` condition; returns the SQL and its
    parameters."""
    quote = connection.ops.quote_name
    first, last = whole
    after_start = _next_month(last)
    scope_sql, scope_params = _scope(workspace_id)
    partner_sql, partner_params = partner
    names = ", ".join(f"t.{c}" for c in own)
    months_sql = (
        f"SELECT t.partner_id, t.month AS day, {names} FROM {quote(PartnerMonth._meta.db_table)} AS t "  # noqa: S608
        f"WHERE t.workspace_id = %s AND t.month >= %s AND t.month <= %s{scope_sql}{partner_sql}"
    )
    months_params: list[Any] = [workspace_id, first, last, *scope_params, *partner_params]
    edges, edge_params = [], []
    if start < first:
        edges.append("(t.day >= %s AND t.day < %s)")
        edge_params += [start, first]
    if after_start is not None and after_start <= end:
        edges.append("(t.day >= %s AND t.day <= %s)")
        edge_params += [after_start, end]
    if not edges:
        return months_sql, months_params
    days_sql = (
        f"SELECT t.partner_id, t.day, {names} FROM {quote(columns.TABLE)} AS t "  # noqa: S608
        f"WHERE t.workspace_id = %s AND ({' OR '.join(edges)}){scope_sql}{partner_sql}"
    )
    days_params = [workspace_id, *edge_params, *scope_params, *partner_params]
    return f"{months_sql} UNION ALL {days_sql}", [*months_params, *days_params]


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
    with a non-zero value appear; within a group, metrics without a value are absent (read them as 0)."""
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
        workspace_id,
        metrics=metrics,
        start=None,
        end=on_or_before,
        partner_ids=partner_ids,
        by="partner",
        nonzero=True,
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
    found = _last_days(workspace_id, metrics, on_or_before, since, partner_ids, "partner")
    return {int(key): day for key, day in found.items() if isinstance(key, int)}


def last_days_by(
    workspace_id: int,
    *,
    metrics: Collection[str],
    start: datetime.date,
    end: datetime.date,
    partner_ids: Collection[int] | None = None,
    by: By = "partner_month",
) -> dict[Any, datetime.date]:
    """:func:`last_days` within each group of ``by`` (``partner_month``: (partner id, first day of the
    month); ``month``: over all the partners) of the days ``start``..``end`` — a trend's latest days in one
    query (the latest up to a month's end is the latest of the groups up to it)."""
    return _last_days(workspace_id, metrics, end, start, partner_ids, by)


def _last_days(
    workspace_id: int,
    metrics: Collection[str],
    on_or_before: datetime.date,
    since: datetime.date | None,
    partner_ids: Collection[int] | None,
    by: By,
) -> dict[Key, datetime.date]:
    own, extra = _split(metrics)
    if not own and not extra:
        return {}
    positive, positive_params = _positive(own, extra)
    table = connection.ops.quote_name(columns.TABLE)
    where, params = _where(workspace_id, since, on_or_before)
    group = _group(by)
    positions = ", ".join(str(i + 1) for i in range(len(group)))
    found: dict[Key, datetime.date] = {}
    for partner_sql, partner_params in _partner_parts(partner_ids):
        query = (
            f"SELECT {', '.join(group)}, MAX(t.day) FROM {table} AS t "  # noqa: S608
            f"WHERE {where}{partner_sql} AND {positive} GROUP BY {positions}"
        )
        for *parts, day in _rows(query, [*params, *partner_params, *positive_params]):
            found[_key(by, parts)] = _day(day)
    return found


def _positive(own: Sequence[str], extra: Sequence[str]) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) that any of the columns or ``extra`` metrics is above 0."""
    conditions = [f"t.{c} > 0" for c in own]
    params: list[Any] = []
    for name in extra:
        if _postgres():
            conditions.append("CAST(t.extra ->> %s AS numeric) > 0")
            params.append(name)
        else:
            conditions.append("json_extract(t.extra, %s) > 0")
            params.append(f'$."{name}"')
    return f"({' OR '.join(conditions)})", params


def active_at(
    workspace_id: int,
    *,
    metrics: Collection[str],
    ends: Collection[datetime.date],
    window: int,
    partner_ids: Collection[int] | None = None,
) -> dict[datetime.date, set[int]]:
    """Per day of ``ends``, the partners with a day among the ``window`` days up to it (itself included)
    on which any of the metrics is above 0 (the active partners at each period's end), in two queries
    for any number of ends: the ``PartnerMonth`` rows of every month the windows touch — a month lying
    wholly inside a window makes its partners active there — then, only for the partners not active by
    whole months and with activity in an edge month, the edge days from ``PartnerDay``. Metrics whose
    month sums may hide a day's (amounts, ``extra`` types) read every window's days."""
    found: dict[datetime.date, set[int]] = {end: set() for end in ends}
    own, extra = _split(metrics)
    if not found or window < 1 or (not own and not extra) or (partner_ids is not None and not partner_ids):
        return found
    by_months = not extra and not any(c in columns.DECIMAL_COLUMNS for c in own)
    pieces = {
        end: _pieces(datetime.date.fromordinal(max(1, end.toordinal() - window + 1)), end) for end in found
    }
    (positive, positive_params), (scope_sql, scope_params) = _positive(own, extra), _scope(workspace_id)
    where = f"t.workspace_id = %s AND {positive}{scope_sql}"
    where_params = [workspace_id, *positive_params, *scope_params]
    months: dict[datetime.date, set[int]] = defaultdict(set)
    if by_months:
        touched = sorted({lo.replace(day=1) for each in pieces.values() for lo, _ in each})
        table = connection.ops.quote_name(PartnerMonth._meta.db_table)
        for partner_sql, partner_params in _partner_parts(partner_ids):
            query = (
                f"SELECT t.partner_id, t.month FROM {table} AS t WHERE {where} "  # noqa: S608
                f"AND t.month >= %s AND t.month <= %s{partner_sql}"
            )
            for partner_id, month in _rows(query, [*where_params, touched[0], touched[-1], *partner_params]):
                months[_day(month)].add(int(partner_id))
    edges: dict[tuple[datetime.date, datetime.date], set[int] | None] = {}  # None: every partner
    waiting: dict[tuple[datetime.date, datetime.date], list[datetime.date]] = defaultdict(list)
    everyone = None if partner_ids is None else {int(p) for p in partner_ids}
    for end, each in pieces.items():
        whole = [lo for lo, hi in each if lo.day == 1 and hi.day == calendar.monthrange(hi.year, hi.month)[1]]
        found[end].update(*(months.get(lo, ()) for lo in whole))  # empty unless by_months
        for lo, hi in each if not by_months else [p for p in each if p[0] not in whole]:
            wanted = months.get(lo.replace(day=1), set()) - found[end] if by_months else everyone
            if wanted is None or wanted:
                current = edges.get((lo, hi), set())
                edges[(lo, hi)] = None if wanted is None or current is None else current | wanted
                waiting[(lo, hi)].append(end)
    for edge, partner_id in _edge_days(where, where_params, edges):
        for end in waiting[edge]:
            found[end].add(partner_id)
    return found


def _pieces(start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    """The days ``start``..``end`` split at month boundaries: (first, last) of each piece."""
    out = []
    while start <= end:
        following = _next_month(start)
        out.append((start, end if following is None else min(end, following - datetime.timedelta(days=1))))
        if following is None:
            break
        start = following
    return out


def _edge_days(
    where: str, where_params: list[Any], edges: dict[tuple[datetime.date, datetime.date], set[int] | None]
) -> Iterator[tuple[tuple[datetime.date, datetime.date], int]]:
    """(edge, partner) for the partners of each edge (None, for all the edges: every partner) with a day
    inside it meeting ``where``: one query joining the edges, as rows of VALUES, to their days (on
    PostgreSQL a nested loop of index probes: no parallel scan, whose start-up cost more than the work)."""
    if not edges:
        return
    order, postgres = list(edges), _postgres()
    listed = all(partners is not None for partners in edges.values())
    day, partners = ("%s::date", "%s::bigint[]") if postgres else ("%s", "%s")
    row = f"(%s, {day}, {day}{', ' + partners if listed else ''})"
    params: list[Any] = []
    for number, (lo, hi) in enumerate(order):  # the partners as a PostgreSQL array or a JSON array
        ids = ("{%s}" if postgres else "[%s]") % ",".join(map(str, sorted(edges[(lo, hi)] or ())))
        params += [number, lo, hi, ids] if listed else [number, lo, hi]
    member = "= ANY(e.partners)" if postgres else "IN (SELECT value FROM json_each(e.partners))"
    query = (
        f"WITH e(k, lo, hi{', partners' if listed else ''}) AS (VALUES {', '.join([row] * len(order))}) "  # noqa: S608
        f"SELECT DISTINCT e.k, t.partner_id FROM e JOIN {connection.ops.quote_name(columns.TABLE)} AS t "
        f"ON t.day >= e.lo AND t.day <= e.hi{f' AND t.partner_id {member}' if listed else ''} WHERE {where}"
    )
    for number, partner_id in _rows(query, [*params, *where_params]):
        yield order[int(number)], int(partner_id)


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
    column = columns.COLUMN_OF.get(metric)
    if column not in columns.GAUGE_COLUMNS:
        raise ValueError(f"{metric} is not a gauge")
    table = connection.ops.quote_name(columns.TABLE)
    where, params = _where(workspace_id, None if carry_in else start, end)
    found: dict[int, tuple[Decimal, Decimal]] = {}

    def at(alias: str, day: str) -> str:
        return (
            f"LEFT JOIN {table} AS {alias} ON {alias}.workspace_id = %s "
            f"AND {alias}.partner_id = g.partner_id AND {alias}.day = g.{day}"
        )

    for partner_sql, partner_params in _partner_parts(partner_ids):
        # per partner: the last day reported before the period, the first in it, the last up to its end
        query = (
            f"SELECT g.partner_id, b.{column}, f.{column}, l.{column} FROM ("  # noqa: S608
            "SELECT t.partner_id, MAX(CASE WHEN t.day < %s THEN t.day END) AS before_day, "
            "MIN(CASE WHEN t.day >= %s THEN t.day END) AS first_day, MAX(t.day) AS last_day "
            f"FROM {table} AS t WHERE {where}{partner_sql} AND t.{column} IS NOT NULL "
            f"GROUP BY t.partner_id) AS g "
            f"{at('b', 'before_day')} {at('f', 'first_day')} {at('l', 'last_day')}"
        )
        rows = _rows(
            query, [start, start, *params, *partner_params, workspace_id, workspace_id, workspace_id]
        )
        for partner_id, before, first, last in rows:
            opening = before if before is not None else first
            if opening is None or last is None:
                continue
            found[int(partner_id)] = (columns.decimal(opening), columns.decimal(last))
    return found


def gauge_latest(
    workspace_id: int, *, metric: str, on_or_before: datetime.date, partner_ids: Collection[int] | None = None
) -> dict[int, tuple[datetime.date, Decimal]]:
    """Per partner, the latest value of a gauge reported on or before the day, with its day."""
    column = columns.COLUMN_OF.get(metric)
    if column not in columns.GAUGE_COLUMNS:
        raise ValueError(f"{metric} is not a gauge")
    table = connection.ops.quote_name(columns.TABLE)
    where, params = _where(workspace_id, None, on_or_before)
    found: dict[int, tuple[datetime.date, Decimal]] = {}
    for partner_sql, partner_params in _partner_parts(partner_ids):
        query = (
            f"SELECT g.partner_id, g.last_day, l.{column} FROM ("  # noqa: S608
            f"SELECT t.partner_id, MAX(t.day) AS last_day FROM {table} AS t "
            f"WHERE {where}{partner_sql} AND t.{column} IS NOT NULL GROUP BY t.partner_id) AS g "
            f"JOIN {table} AS l ON l.workspace_id = %s AND l.partner_id = g.partner_id AND l.day = g.last_day"
        )
        for partner_id, day, value in _rows(query, [*params, *partner_params, workspace_id]):
            found[int(partner_id)] = (_day(day), columns.decimal(value))
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
    all the given partners together. Partners without an interval are absent (key 0 too when none has)."""
    found = kind_medians(workspace_id, kinds=[kind], start=start, end=end, partner_ids=partner_ids)
    return found.get(kind, {})


def kind_medians(
    workspace_id: int,
    *,
    kinds: Collection[str],
    start: datetime.date,
    end: datetime.date,
    partner_ids: Collection[int] | None = None,
) -> dict[str, dict[int, float]]:
    """``interval_medians`` of several kinds in one query: kind → partner (0: all of them) → median."""
    table = connection.ops.quote_name(PairedInterval._meta.db_table)
    where, params = _where(workspace_id, start, end)
    wanted = sorted(set(kinds))
    if not wanted:
        return {}
    marks = ", ".join(["%s"] * len(wanted))
    found: dict[str, dict[int, float]] = defaultdict(dict)
    if _postgres():
        for partner_sql, partner_params in _partner_parts(partner_ids):
            query = (
                "SELECT t.kind, t.partner_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY t.seconds) "  # noqa: S608
                f"FROM {table} AS t WHERE t.kind IN ({marks}) AND {where}{partner_sql} "
                "GROUP BY GROUPING SETS ((t.kind, t.partner_id), (t.kind))"
            )
            for kind, partner_id, median in _rows(query, [*wanted, *params, *partner_params]):
                if median is not None:
                    found[kind][0 if partner_id is None else int(partner_id)] = float(median)
        return dict(found)
    every: dict[str, list[int]] = defaultdict(list)
    per_partner: dict[tuple[str, int], list[int]] = defaultdict(list)
    for partner_sql, partner_params in _partner_parts(partner_ids):
        query = (
            f"SELECT t.kind, t.partner_id, t.seconds FROM {table} AS t "  # noqa: S608
            f"WHERE t.kind IN ({marks}) AND {where}{partner_sql}"
        )
        for kind, partner_id, seconds in _rows(query, [*wanted, *params, *partner_params]):
            per_partner[(kind, int(partner_id))].append(int(seconds))
            every[kind].append(int(seconds))
    for (kind, partner_id), values in per_partner.items():
        found[kind][partner_id] = float(statistics.median(values))
    for kind, values in every.items():
        found[kind][0] = float(statistics.median(values))
    return dict(found)


def last_contact_subquery() -> Subquery:
    """The day of a partner's last contact, as a subquery on ``OuterRef("pk")`` (for partner lists:
    one index probe per listed partner, within the active scope's workspace)."""
    return Subquery(
        PartnerDay.objects.filter(partner_id=OuterRef("pk"), contact__gt=0).order_by("-day").values("day")[:1]
    )
