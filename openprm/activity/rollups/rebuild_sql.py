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


def typed(name: str) -> str:
    """The SQL type of a column of the other parts (counts and seconds as bigint, amounts numeric)."""
    return "numeric" if name in columns.DECIMAL_COLUMNS else "bigint"


def events_sql(workspace_id: int, kinds: Mapping[str, EventKind]) -> tuple[str, list[Any], list[str]]:
    """The events' part of the rows: a ``SELECT partner_id, day, <columns>`` grouping the workspace's
    events by partner and day (the same deltas as ``deltas.day_deltas``); returns it, its parameters and
    the names of its columns after the two keys (``extra`` last).

    Each event is looked at once below the grouping: its type as a number (``ti``: 1… for the built-in
    types, in table order; 0 for the workspace's own), whether it is contact (``c``) and its direction
    (``d``: given, else implied by its type), so that the grouping's aggregates compare integers."""
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

    # events_total: every event (the parts' rows have no ``ti``)
    selected: list[tuple[str, str]] = [("COUNT(*)", columns.TOTAL_COLUMN)]
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
    grouped = (
        f"SELECT partner_id, day, {', '.join(f'{sql} AS {name}' for sql, name in selected)} "  # noqa: S608
        # PostgreSQL, OFFSET 0: each event's ``ti``, ``c`` and ``d`` computed once, not once per aggregate
        # asking; the events in partner order: where the table lies in that order, the planner reads them
        # so from the index on (workspace, partner, time) and sorts each partner's by day alone, not 5M rows
        f"FROM ({looked}{' ORDER BY partner_id OFFSET 0' if postgres else ''}) AS e GROUP BY partner_id, day"
    )
    kept = [name for _, name in selected if name not in ("own_t", "own_v")]
    query = f"SELECT partner_id, day, {', '.join(kept)}, {_extra_sql()} AS extra FROM ({grouped}) AS g"  # noqa: S608
    return query, looked_params, [*kept, columns.EXTRA]


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


def insert_sql(workspace_id: int, kinds: Mapping[str, EventKind], paired: str) -> list[tuple[str, list[Any]]]:
    """SQLite (the workspace's rows deleted before): the statements that insert every ``PartnerDay`` row
    of the workspace as the raw rows make it. SQLite joins by nested loops, so the other parts go first
    into a temporary table keyed by partner and day (``OTHER_TABLE``) that a full join of the events'
    rows looks up. (PostgreSQL compares with the stored rows instead: ``rebuild_pg``.)"""
    parts = other_parts(workspace_id, paired)
    events, params, event_names = events_sql(workspace_id, kinds)
    names = [n for _, _, part_names in parts for n in part_names]

    def typed_null(n: str) -> str:  # typed NULLs: the parts' columns side by side, summed per key
        return "CAST(NULL AS " + ("numeric" if n in columns.DECIMAL_COLUMNS else "integer") + ")"

    union = " UNION ALL ".join(
        "SELECT partner_id, day, "  # noqa: S608
        + ", ".join(n if n in part_names else f"{typed_null(n)} AS {n}" for n in names)
        + f" FROM ({sql}) AS p"
        for sql, _, part_names in parts
    )
    listed = ", ".join([*event_names, *names])
    keys = "COALESCE(e.partner_id, o.partner_id), COALESCE(e.day, o.day)"
    selected = ", ".join([*(f"e.{n}" for n in event_names), *(f"o.{n}" for n in names)])
    table = connection.ops.quote_name(columns.TABLE)
    return [
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
        (
            f"INSERT INTO {table} (workspace_id, partner_id, day, {listed}) "  # noqa: S608
            f"SELECT %s, {keys}, {selected} FROM ({events}) AS e FULL JOIN {OTHER_TABLE} AS o "
            "ON o.partner_id = e.partner_id AND o.day = e.day",
            [workspace_id, *params],
        ),
    ]
