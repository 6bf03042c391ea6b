"""PostgreSQL's rebuild of the ``PartnerDay`` rows: two comparisons with the stored rows, each over its own
columns, then one statement that writes only the rows that differ (``rebuild`` runs them).

* **The events' columns** (``rebuild_sql.events_sql``: one ``GROUP BY partner, day`` of the events, with
  ``extra``) against the same columns of the stored rows: ``events_diff_sql`` gives the keys where they
  differ, with the events' values (NULLs where the events have no row). It reads only the events and the
  stored rows, so a second session can run it on this transaction's snapshot while this one pairs the
  events (``core.snapshot``); its rows land in ``EVENTS_TABLE``.
* **The other columns** — clicks, accepted conversions, paired figures (``rebuild_sql.other_parts``, each
  at most one row per partner and day) — against theirs, inside ``write_sql``'s statement.

A key in either difference gets its row composed from the fresh values of the columns that differ and the
stored values of the others; a row left with nothing but NULLs is deleted (a row with all NULLs is no
row: the raw rows never make one). Only those rows are updated, inserted or deleted: no row is deleted and
inserted again with the same key, which would leave a dead version behind and cost the index a check of
each; a rebuild mostly finds the rows it would write (the increments equal a rebuild)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection

from openprm.activity.catalog import EventKind
from openprm.activity.models import PartnerDay
from openprm.activity.rollups import columns, rebuild_sql

EVENTS_TABLE = "rollups_rebuild_events"
"""The rebuild's temporary table of the events' columns of the keys where they differ from the stored."""

TOUCHED_TABLE = "rollups_rebuild_touched"
"""The rebuild's temporary table of the (partner, month) pairs whose days it changed."""


def events_diff_sql(workspace_id: int, kinds: Mapping[str, EventKind]) -> tuple[str, list[Any], list[str]]:
    """``SELECT partner_id, day, <the events' columns>`` of the keys whose events' columns differ from the
    stored row's (a missing row counting as NULLs on its side); its parameters and the column names."""
    fresh, params, names = rebuild_sql.events_sql(workspace_id, kinds)
    table = connection.ops.quote_name(columns.TABLE)
    listed = ", ".join(names)
    fresh_row, stored_row = (", ".join(f"{alias}.{n}" for n in names) for alias in ("f", "o"))
    query = (
        "SELECT COALESCE(f.partner_id, o.partner_id) AS partner_id, COALESCE(f.day, o.day) AS day, "  # noqa: S608
        f"{fresh_row} FROM ({fresh}) AS f FULL JOIN (SELECT partner_id, day, {listed} FROM {table} "
        "WHERE workspace_id = %s) AS o ON o.partner_id = f.partner_id AND o.day = f.day "
        f"WHERE ROW({fresh_row}) IS DISTINCT FROM ROW({stored_row})"
    )
    return query, [*params, workspace_id], names


def events_table(cursor: Any, names: list[str]) -> None:
    """(Re)create ``EVENTS_TABLE`` with the stored columns' own types: dropped at commit."""
    fields = {f.column: f for f in PartnerDay._meta.concrete_fields}
    typed = ", ".join(f"{n} {fields[n].db_type(connection)}" for n in names)
    cursor.execute(f"DROP TABLE IF EXISTS {EVENTS_TABLE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {EVENTS_TABLE} (partner_id bigint, day date, {typed}) ON COMMIT DROP"
    )


def _parts_sql(workspace_id: int, paired: str) -> tuple[str, list[Any], list[str]]:
    """The other parts' rows side by side: ``SELECT partner_id, day, <their columns>``, one row a key."""
    parts = rebuild_sql.other_parts(workspace_id, paired)
    names = [n for _, _, part_names in parts for n in part_names]
    union = " UNION ALL ".join(
        "SELECT partner_id, day, "  # noqa: S608
        + ", ".join(
            f"CAST({n if n in part_names else 'NULL'} AS {rebuild_sql.typed(n)}) AS {n}" for n in names
        )
        + f" FROM ({sql}) AS p"
        for sql, _, part_names in parts
    )
    query = (
        f"SELECT partner_id, day, {', '.join(f'MAX({n}) AS {n}' for n in names)} "  # noqa: S608
        f"FROM ({union}) AS u GROUP BY partner_id, day"
    )
    return query, [value for _, part_params, _ in parts for value in part_params], names


def write_sql(workspace_id: int, event_names: list[str], paired: str) -> list[tuple[str, list[Any]]]:
    """The statements that make the stored rows what the raw rows give, from ``EVENTS_TABLE`` (filled) and
    the other parts: they list the months of the days written in ``TOUCHED_TABLE``, and the last answers
    one row, how many rows the workspace has."""
    table = connection.ops.quote_name(columns.TABLE)
    parts, params, part_names = _parts_sql(workspace_id, paired)
    names = [*event_names, *part_names]
    listed = ", ".join(names)

    def row(alias: str, of: list[str]) -> str:
        return f"ROW({', '.join(f'{alias}.{n}' for n in of)})"

    stored = (
        f"SELECT partner_id, day, {', '.join(part_names)}, "  # noqa: S608
        f"ROW({', '.join(event_names)}) IS NULL AS events_null FROM {table} WHERE workspace_id = %s"
    )
    # the keys whose other columns differ, with their fresh values; and stored rows of nothing but NULLs
    fresh_row, stored_row = row("f", part_names), row("o", part_names)
    others = (
        "SELECT COALESCE(f.partner_id, o.partner_id) AS partner_id, COALESCE(f.day, o.day) AS day, "  # noqa: S608
        f"{', '.join(f'f.{n} AS {n}' for n in part_names)} FROM ({parts}) AS f FULL JOIN ({stored}) AS o "
        f"ON o.partner_id = f.partner_id AND o.day = f.day WHERE {fresh_row} IS DISTINCT FROM {stored_row} "
        f"OR (f.partner_id IS NULL AND o.events_null AND {stored_row} IS NULL)"
    )
    keys = f"SELECT partner_id, day FROM others UNION SELECT partner_id, day FROM {EVENTS_TABLE}"  # noqa: S608
    on = "{0}.partner_id = k.partner_id AND {0}.day = k.day"
    fresh = [f"CASE WHEN e.partner_id IS NULL THEN s.{n} ELSE e.{n} END AS {n}" for n in event_names]
    fresh += [f"CASE WHEN p.partner_id IS NULL THEN s.{n} ELSE p.{n} END AS {n}" for n in part_names]
    composed = (
        f"SELECT k.partner_id, k.day, s.partner_id IS NOT NULL AS stored, {', '.join(fresh)} "  # noqa: S608
        f"FROM ({keys}) AS k LEFT JOIN {EVENTS_TABLE} AS e ON {on.format('e')} "
        f"LEFT JOIN others AS p ON {on.format('p')} "
        f"LEFT JOIN {table} AS s ON s.workspace_id = %s AND {on.format('s')}"
    )
    empty = f"ROW({listed}) IS NULL"
    # the keys to write — n(ew), c(hanged) or g(one) — with their columns
    differ = (
        f"SELECT partner_id, day, CASE WHEN {empty} THEN 'g' WHEN stored THEN 'c' ELSE 'n' END AS what, "  # noqa: S608
        f"{listed} FROM ({composed}) AS c WHERE stored OR NOT ({empty})"
    )
    key = "t.workspace_id = %s AND t.partner_id = d.partner_id AND t.day = d.day"
    statement = (
        f"WITH others AS MATERIALIZED ({others}), diff AS MATERIALIZED ({differ}), "  # noqa: S608
        f"gone AS (DELETE FROM {table} AS t USING diff AS d WHERE {key} AND d.what = 'g'), "
        f"changed AS (UPDATE {table} AS t SET {', '.join(f'{n} = d.{n}' for n in names)} FROM diff AS d "
        f"WHERE {key} AND d.what = 'c'), "
        f"added AS (INSERT INTO {table} (workspace_id, partner_id, day, {listed}) "
        f"SELECT %s, partner_id, day, {listed} FROM diff WHERE what = 'n' ORDER BY partner_id, day), "
        f"touched AS (INSERT INTO {TOUCHED_TABLE} (partner_id, month) SELECT DISTINCT partner_id, "
        "CAST(date_trunc('month', day) AS date) FROM diff) "
        # the rows there are: those stored (every sub-statement sees the table as it was), new ones, gone ones
        f"SELECT (SELECT COUNT(*) FROM {table} WHERE workspace_id = %s) "
        "+ COUNT(*) FILTER (WHERE what = 'n') - COUNT(*) FILTER (WHERE what = 'g') FROM diff"
    )
    return [
        (f"DROP TABLE IF EXISTS {TOUCHED_TABLE}", []),
        (f"CREATE TEMPORARY TABLE {TOUCHED_TABLE} (partner_id bigint, month date) ON COMMIT DROP", []),
        (statement, [*params, workspace_id, workspace_id, *[workspace_id] * 4]),
    ]
