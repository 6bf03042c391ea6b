"""The monthly level of the rollups: ``PartnerMonth``, each (partner, calendar month) re-aggregated from
its ``PartnerDay`` rows — never maintained by deltas, so a month always equals the sum of its days (the
gauges their largest value), which is what the reads take for whole months.

Every writer of ``PartnerDay`` calls one of these inside its transaction, after its day writes: the
upsert of rows (``store.upsert_rows``: the fold, conversions, the paired figures) refreshes the months it
touched, the pair refresh the months from the earliest day it cleared, the rebuild the whole workspace.
A partner's purge deletes both levels by cascade.

On PostgreSQL two concurrent writers of the same partner would each re-aggregate without seeing the
other's uncommitted days; so a writer takes the partner's advisory lock (``lock_partners``) before it
writes that partner's days, and the second writer re-aggregates after the first has committed."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from django.db import connection

from openprm.activity.models import PartnerMonth
from openprm.activity.rollups import columns
from openprm.core.bulk import analyze_tables
from openprm.core.tasks import workspace_scope

TABLE = PartnerMonth._meta.db_table
_CHUNK = 5_000  # partner ids per statement on SQLite
_LOCK_NAMESPACE = 7303  # PostgreSQL advisory locks (namespace, partner id); 7301/7302 are the workspaces'


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _month_sql(column: str) -> str:
    """SQL for the first day of the month of a ``day`` column (SQLite stores dates as ISO text)."""
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"substr({column}, 1, 7) || '-01'"


def _insert(where: str, params: Sequence[Any], *, join: str = "") -> str:
    """``INSERT … SELECT`` of the months of the ``PartnerDay`` rows ``t`` (joined with ``join``) matching
    ``where``; returns the statement (its parameters: the workspace id, then ``params``)."""
    quote = connection.ops.quote_name
    names = ", ".join(columns.COLUMNS)
    aggregates = ", ".join(
        f"{'MAX' if c in columns.GAUGE_COLUMNS else 'SUM'}(t.{c})" for c in columns.COLUMNS
    )
    return (
        f"INSERT INTO {quote(TABLE)} (workspace_id, partner_id, month, {names}) "  # noqa: S608
        f"SELECT %s, t.partner_id, {_month_sql('t.day')}, {aggregates} "
        f"FROM {quote(columns.TABLE)} AS t {join} "
        f"WHERE {where} GROUP BY t.partner_id, {_month_sql('t.day')}"
    )


def _partner_parts(partner_ids: Collection[int]) -> Iterable[tuple[str, list[Any]]]:
    """SQL conditions on ``partner_id`` selecting the partners: an array on PostgreSQL, chunks on SQLite."""
    ids = sorted({int(p) for p in partner_ids})
    if not ids:
        return
    if connection.vendor == "postgresql":
        yield "partner_id = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
        return
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        yield f"partner_id IN ({', '.join(['%s'] * len(part))})", list(part)


def lock_partners(workspace_id: int, partner_ids: Collection[int]) -> None:
    """Serialize the writers of these partners' rollups until the transaction ends (PostgreSQL; SQLite has
    one writer at a time): taken in partner order before the partners' days are written."""
    if connection.vendor != "postgresql" or not partner_ids:
        return
    ids = "{" + ",".join(map(str, sorted({int(p) for p in partner_ids}))) + "}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(pg_advisory_xact_lock(%s, CAST(mod(p, 2147483647) AS integer))) "
            "FROM (SELECT p FROM unnest(%s::bigint[]) AS p ORDER BY p) AS ordered",
            [_LOCK_NAMESPACE, ids],
        )


def months_refresh(workspace_id: int, keys: Iterable[tuple[int, datetime.date]]) -> None:
    """Re-aggregate the months of these (partner, day or first day of the month) pairs from their days:
    delete their ``PartnerMonth`` rows and insert them anew, one pair of statements per month touched."""
    by_month: dict[datetime.date, set[int]] = defaultdict(set)
    for partner_id, day in keys:
        by_month[month_of(day)].add(partner_id)
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        for month in sorted(by_month):
            following = (month + datetime.timedelta(days=32)).replace(day=1)
            for partner_sql, partner_params in _partner_parts(by_month[month]):
                cursor.execute(
                    f"DELETE FROM {quote(TABLE)} WHERE workspace_id = %s AND month = %s AND {partner_sql}",  # noqa: S608
                    [workspace_id, adapt(month), *partner_params],
                )
                where = f"t.workspace_id = %s AND t.day >= %s AND t.day < %s AND t.{partner_sql}"
                cursor.execute(
                    _insert(where, []),
                    [workspace_id, workspace_id, adapt(month), adapt(following), *partner_params],
                )


def months_refresh_since(workspace_id: int, partner_ids: Collection[int], since: datetime.date) -> None:
    """Re-aggregate every month of these partners from the month of ``since`` on."""
    quote = connection.ops.quote_name
    first = connection.ops.adapt_datefield_value(month_of(since))
    with connection.cursor() as cursor:
        for partner_sql, partner_params in _partner_parts(partner_ids):
            cursor.execute(
                f"DELETE FROM {quote(TABLE)} WHERE workspace_id = %s AND month >= %s AND {partner_sql}",  # noqa: S608
                [workspace_id, first, *partner_params],
            )
            cursor.execute(
                _insert(f"t.workspace_id = %s AND t.day >= %s AND t.{partner_sql}", []),
                [workspace_id, workspace_id, first, *partner_params],
            )


def months_refresh_listed(workspace_id: int, table: str) -> int:
    """Re-aggregate the months listed in ``table`` — (partner_id, month: its first day) pairs, each once
    (PostgreSQL) — from their days; returns the months inserted. The rebuild lists the months it touched."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # temporary tables are never analyzed by themselves
        cursor.execute(
            f"DELETE FROM {quote(TABLE)} AS m USING {table} AS l WHERE m.workspace_id = %s "  # noqa: S608
            "AND m.partner_id = l.partner_id AND m.month = l.month",
            [workspace_id],
        )
        join = f"JOIN {table} AS l ON t.partner_id = l.partner_id"
        within = "t.day >= l.month AND t.day < CAST(l.month + interval '1 month' AS date)"
        cursor.execute(
            _insert(f"t.workspace_id = %s AND {within}", [], join=join), [workspace_id, workspace_id]
        )
        return int(cursor.rowcount)


def months_rebuild(workspace_id: int) -> int:
    """Re-aggregate every month of the workspace (one grouped ``INSERT … SELECT``); returns the rows.
    PostgreSQL's statistics of the table are refreshed after the commit (many rows changed at once)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(TABLE)} WHERE workspace_id = %s", [workspace_id])  # noqa: S608
        cursor.execute(_insert("t.workspace_id = %s", []), [workspace_id, workspace_id])
        rows = int(cursor.rowcount)
    analyze_tables(PartnerMonth, rows=rows)  # PostgreSQL, after the commit, like the other bulk writes
    return rows


def month_cells(*, workspace_id: int) -> dict[tuple[int, datetime.date, str], Any]:
    """Every non-zero cell of the workspace's months (for comparing them with a re-aggregation)."""
    with workspace_scope(workspace_id):
        rows = PartnerMonth.objects.filter(workspace_id=workspace_id).values_list(
            "partner_id", "month", *columns.COLUMNS
        )
        return columns.cells_of(
            (partner_id, month, dict(zip(columns.COLUMNS, values, strict=True)), None)
            for partner_id, month, *values in rows
        )
