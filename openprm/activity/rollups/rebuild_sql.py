"""The rebuild's statements: the SQL that writes every ``PartnerDay`` row of a workspace once, with every
column, from the raw rows and the paired figures (``rebuild`` runs them).

The events go through one ``GROUP BY partner, day`` that computes every built-in column at once with
``FILTER`` aggregates (counts and values per built-in type, contact and its directions, content sums and the
followers gauge, the survey figures: the same deltas as ``deltas.day_deltas``). The workspace's own event
types (rare) ride along as two small arrays per row — their types and values — that the row's ``extra``
JSON is counted from; a row without them never looks. The clicks, the accepted conversions and the paired
figures are each unique per partner and day, so they join the events' rows without being grouped again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from openprm.activity.catalog import CONTENT_PROPERTIES, EventKind
from openprm.activity.models import Click, Conversion, Event
from openprm.activity.rollups import columns
from openprm.activity.rollups.deltas import DETRACTOR, PROMOTER, SURVEY_TYPE

CONTENT_TYPE = "content_post"

OTHER_TABLE = "rollups_rebuild_other"
"""SQLite: the rebuild's temporary table of clicks, conversions and paired figures per partner and day."""


def day_sql(column: str) -> str:
    """SQL for the UTC day of a timestamp column (SQLite stores naive UTC text)."""
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AS date)"
    return f"substr({column}, 1, 10)"


def _property(name: str) -> str:
    """SQL for a content post's numeric property (NULL when missing, not a number, or a boolean)."""
    if connection.vendor == "postgresql":
        return (
            f"CASE WHEN jsonb_typeof(properties -> '{name}') = 'number' "
            f"THEN CAST(properties ->> '{name}' AS numeric) END"
        )
    return (
        f"CASE WHEN json_type(properties, '$.{name}') IN ('integer', 'real') "
        f"THEN json_extract(properties, '$.{name}') END"
    )


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


def builtin_types() -> list[str]:
    """The event types with columns of their own (``events_<type>``, ``value_<type>``), in table order."""
    return [
        c.removeprefix("events_") for c in columns.COLUMNS if c.startswith("events_") and c != "events_total"
    ]


def _extra_sql() -> str:
    """SQL for a row's ``extra`` from its arrays of the workspace's own types (``own_t``) and their values
    (``own_v``): {"events.<type>": n, "value.<type>": sum} (value sums of 0 or nothing left out); NULL
    without any."""
    if connection.vendor == "postgresql":
        return (
            "CASE WHEN own_t IS NOT NULL THEN (SELECT jsonb_object_agg(k, x) FROM ("
            "SELECT 'events.' || t AS k, COUNT(*) AS x FROM unnest(own_t) AS u(t) GROUP BY t UNION ALL "
            "SELECT 'value.' || t, SUM(v) FROM unnest(own_t, own_v) AS u(t, v) GROUP BY t "
            "HAVING SUM(v) <> 0) AS f) END"
        )
    return (
        "CASE WHEN own_t IS NOT NULL THEN (SELECT json_group_object(k, x) FROM ("
        "SELECT 'events.' || t.value AS k, COUNT(*) AS x FROM json_each(own_t) AS t GROUP BY t.value "
        "UNION ALL SELECT 'value.' || t.value, SUM(v.value) FROM json_each(own_t) AS t "
        "JOIN json_each(own_v) AS v ON v.key = t.key GROUP BY t.value HAVING SUM(v.value) <> 0)) END"
    )


def _typed(name: str) -> str:
    """The SQL type of a column of the other parts (counts and seconds as bigint, amounts numeric)."""
    return "numeric" if name in columns.DECIMAL_COLUMNS else "bigint"


def events_sql(
    workspace_id: int,
    kinds: Mapping[str, EventKind],
    others: Sequence[tuple[str, list[Any], list[str]]] = (),
) -> tuple[str, list[Any], list[str]]:
    """The events' part of the rows: a ``SELECT partner_id, day, <columns>`` grouping the workspace's
    events by partner and day (the same deltas as ``deltas.day_deltas``); returns it, its parameters and
    the names of its columns after the two keys (``extra`` last, then the columns of ``others``).

    Each event is looked at once below the grouping: its type as a number (``ti``: 1… for the built-in
    types, in table order; 0 for the workspace's own), whether it is contact (``c``) and its direction
    (``d``: given, else implied by its type), so that the grouping's aggregates compare integers.

    ``others`` — parts each unique per partner and day, (``SELECT partner_id, day, <columns>``, its
    parameters, the names of its columns), see ``other_parts`` — join the events' rows in the same
    grouping: their rows go below it next to the events' (no ``ti``: counted as no event) and each of
    their columns is its part's one value there (``MAX``). One sort by partner and day then yields every
    row, in key order, where full joins on partner and day would hash or sort the grouped rows again."""
    postgres = connection.vendor == "postgresql"
    builtin = builtin_types()
    number = {type_key: i for i, type_key in enumerate(builtin, 1)}
    contact = sorted(k for k, kind in kinds.items() if kind.contact)
    implied = sorted((k, kind.direction) for k, kind in kinds.items() if kind.contact and kind.direction)
    ti = f"CASE type {' '.join(f'WHEN %s THEN {number[t]}' for t in builtin)} ELSE 0 END"
    c = f"type IN ({_marks(contact)})" if contact else "FALSE"
    implied_sql = f"CASE type {' '.join('WHEN %s THEN %s' for _ in implied)} ELSE '' END" if implied else "''"
    d = f"CASE WHEN direction <> '' THEN direction ELSE {implied_sql} END"
    quote = connection.ops.quote_name
    looked = (
        f"SELECT partner_id, {day_sql('occurred_at')} AS day, type, value, {ti} AS ti, {c} AS c, "  # noqa: S608
        f"{d} AS d, CASE WHEN type = %s THEN properties END AS properties "
        f"FROM {quote(Event._meta.db_table)} WHERE workspace_id = %s"
    )
    looked_params: list[Any] = [*builtin, *contact, *[v for pair in implied for v in pair], CONTENT_TYPE]
    looked_params.append(workspace_id)
    other_names = [n for _, _, part_names in others for n in part_names]
    if others:  # the parts' rows below the grouping, with the events' (NULLs where a row has nothing)
        # the events in partner order: where the table lies in that order, the planner reads them so from
        # the index on (workspace, partner, time) and sorts each partner's by day alone, not 5M rows
        looked = (
            f"SELECT partner_id, day, type, value, ti, c, d, properties, "  # noqa: S608
            f"{', '.join(f'CAST(NULL AS {_typed(n)}) AS {n}' for n in other_names)} "
            f"FROM ({looked} ORDER BY partner_id OFFSET 0) AS v"
        )
        for sql, part_params, part_names in others:
            values = ", ".join(
                f"CAST({n} AS {_typed(n)})" if n in part_names else f"CAST(NULL AS {_typed(n)})"
                for n in other_names
            )
            looked += (
                " UNION ALL SELECT partner_id, day, CAST(NULL AS varchar), CAST(NULL AS numeric), "  # noqa: S608
                f"CAST(NULL AS integer), FALSE, CAST(NULL AS text), CAST(NULL AS jsonb), {values} "
                f"FROM ({sql}) AS p"
            )
            looked_params += part_params

    # events_total: every event (the parts' rows have no ``ti``)
    total = "NULLIF(COUNT(ti), 0)" if others else "COUNT(*)"
    selected: list[tuple[str, str]] = [(total, columns.TOTAL_COLUMN)]
    selected += [(f"NULLIF(COUNT(*) FILTER (WHERE ti = {number[t]}), 0)", f"events_{t}") for t in builtin]
    # most events carry no value: the null test first
    selected += [
        (f"NULLIF(SUM(value) FILTER (WHERE value IS NOT NULL AND ti = {number[t]}), 0)", f"value_{t}")
        for t in builtin
    ]
    selected += [
        ("NULLIF(COUNT(*) FILTER (WHERE c), 0)", "contact"),
        ("NULLIF(COUNT(*) FILTER (WHERE c AND d = 'inbound'), 0)", "contact_inbound"),
        ("NULLIF(COUNT(*) FILTER (WHERE c AND d = 'outbound'), 0)", "contact_outbound"),
    ]
    post = f"properties IS NOT NULL AND ti = {number[CONTENT_TYPE]}"
    for name in CONTENT_PROPERTIES:
        column = columns.COLUMN_OF[f"content.{name}"]
        aggregate = "MAX" if column in columns.GAUGE_COLUMNS else "SUM"
        figure = f"{aggregate}({_property(name)}) FILTER (WHERE {post})"
        selected.append((figure if aggregate == "MAX" else f"NULLIF({figure}, 0)", column))
    survey = f"value IS NOT NULL AND ti = {number[SURVEY_TYPE]}"
    selected += [
        (f"NULLIF(COUNT(*) FILTER (WHERE {survey}), 0)", "survey_responses"),
        (f"NULLIF(SUM(value) FILTER (WHERE {survey}), 0)", "survey_score"),
        (f"NULLIF(COUNT(*) FILTER (WHERE {survey} AND value >= {PROMOTER}), 0)", "survey_promoters"),
        (f"NULLIF(COUNT(*) FILTER (WHERE {survey} AND value <= {DETRACTOR}), 0)", "survey_detractors"),
    ]
    # the workspace's own (and any unknown) types: their types and values, for ``extra``
    collect = "array_agg" if postgres else "json_group_array"
    selected += [
        (f"{collect}(type) FILTER (WHERE ti = 0)", "own_t"),
        (f"{collect}(value) FILTER (WHERE ti = 0)", "own_v"),
    ]
    selected += [(f"MAX({n})", n) for n in other_names]
    grouped = (
        f"SELECT partner_id, day, {', '.join(f'{sql} AS {name}' for sql, name in selected)} "  # noqa: S608
        # OFFSET 0: each event's ``ti``, ``c`` and ``d`` computed once, not once per aggregate asking
        f"FROM ({looked}{' OFFSET 0' if postgres and not others else ''}) AS e GROUP BY partner_id, day"
    )
    kept = [name for _, name in selected if name not in ("own_t", "own_v", *other_names)]
    query = (
        f"SELECT partner_id, day, {', '.join(kept)}, {_extra_sql()} AS extra"  # noqa: S608
        f"{''.join(f', {n}' for n in other_names)} FROM ({grouped}) AS g"
    )
    return query, looked_params, [*kept, columns.EXTRA, *other_names]


def _conversion_kinds() -> list[str]:
    found = [c.removeprefix("conversions_") for c in columns.COLUMNS if c.startswith("conversions_")]
    return [k for k in found if not k.endswith("_amount")]


def other_parts(workspace_id: int, paired: str) -> list[tuple[str, list[Any], list[str]]]:
    """The rest of the rows, each part unique per partner and day: (``SELECT partner_id, day,
    <columns>``, its parameters, the names of its columns) of the clicks, of the accepted conversions
    (grouped) and of the paired figures (the table ``paired`` that the pairing filled: one row per partner
    and day)."""
    quote = connection.ops.quote_name
    clicks = (
        f"SELECT partner_id, {day_sql('clicked_at')} AS day, COUNT(*) AS clicks "  # noqa: S608
        f"FROM {quote(Click._meta.db_table)} WHERE workspace_id = %s GROUP BY partner_id, 2"
    )
    sums: list[str] = []
    params: list[Any] = []
    names: list[str] = []
    for kind in _conversion_kinds():
        sums += [
            "NULLIF(COUNT(*) FILTER (WHERE kind = %s), 0)",
            "NULLIF(SUM(amount) FILTER (WHERE kind = %s), 0)",
        ]
        params += [kind, kind]
        names += [f"conversions_{kind}", f"conversions_{kind}_amount"]
    conversions = (
        f"SELECT partner_id, {day_sql('occurred_at')} AS day, "  # noqa: S608
        f"{', '.join(f'{s} AS {n}' for s, n in zip(sums, names, strict=True))} "
        f"FROM {quote(Conversion._meta.db_table)} "
        "WHERE workspace_id = %s AND partner_id IS NOT NULL AND status = %s GROUP BY partner_id, 2"
    )
    figures = list(columns.PAIRED_COLUMNS)
    return [
        (clicks, [workspace_id], ["clicks"]),
        (conversions, [*params, workspace_id, Conversion.Status.ACCEPTED.value], names),
        (f"SELECT partner_id, day, {', '.join(figures)} FROM {paired}", [], figures),  # noqa: S608
    ]


def fresh_sql(
    workspace_id: int, kinds: Mapping[str, EventKind], paired: str
) -> tuple[list[tuple[str, list[Any]]], str, list[Any], list[str]]:
    """Every ``PartnerDay`` row of the workspace as the raw rows make it: (the statements to run first,
    a ``SELECT partner_id, day, <columns>``, its parameters, the names of its columns). PostgreSQL groups
    the events and the rows of the rest (``other_parts``: each at most one row per partner and day) in
    one ``GROUP BY`` (``events_sql``): its rows come out sorted by partner and day, ready to be merged
    with the stored ones. SQLite joins by nested loops, so there the rest goes first into a temporary
    table keyed by partner and day (``OTHER_TABLE``) that a full join of the events' rows looks up."""
    parts = other_parts(workspace_id, paired)
    if connection.vendor == "postgresql":  # one grouping of the events and the parts' rows together
        query, params, names = events_sql(workspace_id, kinds, others=parts)
        return [], query, params, names
    events, params, event_names = events_sql(workspace_id, kinds)
    statements: list[tuple[str, list[Any]]] = []
    names = [n for _, _, part_names in parts for n in part_names]

    def typed(n: str) -> str:  # typed NULLs: the parts' columns side by side, summed per key
        return "CAST(NULL AS " + ("numeric" if n in columns.DECIMAL_COLUMNS else "integer") + ")"

    union = " UNION ALL ".join(
        "SELECT partner_id, day, "  # noqa: S608
        + ", ".join(n if n in part_names else f"{typed(n)} AS {n}" for n in names)
        + f" FROM ({sql}) AS p"
        for sql, _, part_names in parts
    )
    statements += [
        (f"DROP TABLE IF EXISTS {OTHER_TABLE}", []),
        (  # typed keys, or SQLite cannot look them up
            f"CREATE TEMPORARY TABLE {OTHER_TABLE} (partner_id integer, day text, {', '.join(names)}, "
            "PRIMARY KEY (partner_id, day))",
            [],
        ),
        (
            f"INSERT INTO {OTHER_TABLE} SELECT partner_id, day, "  # noqa: S608
            f"{', '.join(f'SUM({n})' for n in names)} FROM ({union}) AS u GROUP BY partner_id, day",
            [value for _, part_params, _ in parts for value in part_params],
        ),
    ]
    parts = [(OTHER_TABLE, [], names)]
    sources = [f"({events}) AS e"]
    selected = [f"e.{n}" for n in event_names]
    aliases = ["e"]

    def key(k: str) -> str:
        return f"COALESCE({', '.join(f'{a}.{k}' for a in aliases)})" if len(aliases) > 1 else f"e.{k}"

    for i, (sql, part_params, part_names) in enumerate(parts):
        alias = f"o{i}"
        on = f"{alias}.partner_id = {key('partner_id')} AND {alias}.day = {key('day')}"
        sources.append(f"FULL JOIN {sql if sql == OTHER_TABLE else f'({sql})'} AS {alias} ON {on}")
        params += part_params
        selected += [f"{alias}.{n}" for n in part_names]
        aliases.append(alias)
    names = [*event_names, *[n for _, _, part_names in parts for n in part_names]]
    query = (
        f"SELECT {key('partner_id')} AS partner_id, {key('day')} AS day, "  # noqa: S608
        f"{', '.join(f'{s} AS {n}' for s, n in zip(selected, names, strict=True))} FROM {' '.join(sources)}"
    )
    return statements, query, params, names


TOUCHED_TABLE = "rollups_rebuild_touched"
"""PostgreSQL: the rebuild's temporary table of the (partner, month) pairs whose days it changed."""


def rows_sql(workspace_id: int, kinds: Mapping[str, EventKind], paired: str) -> list[tuple[str, list[Any]]]:
    """The statements that make the workspace's ``PartnerDay`` rows equal to what the raw rows give.

    SQLite (the rows deleted before): one ``INSERT … SELECT`` of them all. PostgreSQL: one statement that
    compares them with the stored rows (a full join on partner and day) and writes only the difference —
    rows inserted, changed or deleted — and lists the months of the days it wrote in ``TOUCHED_TABLE``;
    it answers one row: how many rows the workspace has. Deleting every row and inserting the same keys
    again would cost the index a check of each dead duplicate, and a rebuild mostly finds the rows it
    would write (the increments equal a rebuild)."""
    quote = connection.ops.quote_name
    table = quote(columns.TABLE)
    statements, fresh, params, names = fresh_sql(workspace_id, kinds, paired)
    listed = ", ".join(names)
    if connection.vendor != "postgresql":
        insert = (
            f"INSERT INTO {table} (workspace_id, partner_id, day, {listed}) "  # noqa: S608
            f"SELECT %s, partner_id, day, {listed} FROM ({fresh}) AS f"
        )
        return [*statements, (insert, [workspace_id, *params])]
    fresh_row, stored_row = (", ".join(f"{alias}.{n}" for n in names) for alias in ("f", "o"))
    same = f"ROW({fresh_row}) IS NOT DISTINCT FROM ROW({stored_row})"
    # the keys that differ — n(ew), c(hanged) or g(one) — with the new columns (none of the same rows)
    differ = (
        "SELECT COALESCE(f.partner_id, o.partner_id) AS partner_id, COALESCE(f.day, o.day) AS day, "  # noqa: S608
        "CASE WHEN o.partner_id IS NULL THEN 'n' WHEN f.partner_id IS NULL THEN 'g' ELSE 'c' END AS what, "
        f"{', '.join(f'f.{n} AS {n}' for n in names)} "
        f"FROM ({fresh}) AS f FULL JOIN (SELECT partner_id, day, {listed} FROM {table} "
        "WHERE workspace_id = %s) AS o ON o.partner_id = f.partner_id AND o.day = f.day "
        f"WHERE o.partner_id IS NULL OR f.partner_id IS NULL OR NOT ({same})"
    )
    key = "t.workspace_id = %s AND t.partner_id = d.partner_id AND t.day = d.day"
    statement = (
        f"WITH diff AS MATERIALIZED ({differ}), "  # noqa: S608
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
        (statement, [*params, *[workspace_id] * 5]),
    ]
