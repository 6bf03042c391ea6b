"""The rebuild: every rollup of a workspace recomputed from the raw rows (``prm rollups rebuild``); the
result equals what the increments built, which the tests check through ``rollup_cells``.

Each ``PartnerDay`` row is written once (no row is inserted and then updated, which on PostgreSQL would
leave a dead version of every row and its index entry behind). The paired metrics need the events one by
one, in order: the events of the paired types stream past once, sorted by partner, each partner's are
paired as soon as the next partner's begin, and the figures go into a temporary table (``COPY`` on
PostgreSQL) with the intervals (``pairs.rebuild_pairs``). Then the database does the summing in one
``INSERT … SELECT``: the events grouped by partner, day and type and pivoted into one row per partner and
day (the same deltas as ``deltas.day_deltas``: counts, values, contact and its directions, content sums
and the followers gauge, the survey figures, the workspace's own types in ``extra``), joined with the
clicks, the accepted conversions and the paired figures, each grouped by partner and day.
Nothing grows with the number of events but the database's own sort."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from openprm.activity.catalog import CONTENT_PROPERTIES, EventKind
from openprm.activity.models import (
    Click,
    Conversion,
    Event,
    PairedInterval,
    PartnerDay,
    RollupDirty,
    RollupPending,
    RollupState,
)
from openprm.activity.rollups import columns, pairs_sql
from openprm.activity.rollups.deltas import DETRACTOR, PROMOTER, SURVEY_TYPE, Cell, workspace_kinds
from openprm.activity.rollups.months import months_rebuild
from openprm.activity.rollups.pairs import rebuild_pairs
from openprm.activity.rollups.store import lock, touch
from openprm.core.tasks import workspace_scope

CONTENT_TYPE = "content_post"


def _day(column: str) -> str:
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


def _event_columns_sql(workspace_id: int, kinds: Mapping[str, EventKind]) -> tuple[str, list[Any], list[str]]:
    """The events' part of the rows: a ``SELECT partner_id, day, <columns>`` that groups the events by
    partner and day (the same deltas as ``deltas.day_deltas``); returns it, its parameters and the names of
    its columns after the two keys.

    Two levels: one group per partner, day and type (what the raw GROUP BY reads), each numbered by its
    type (``ti``: 1… for the types with columns or a role, 0 for the rest), then the groups of a partner
    and day pivoted into one row by aggregates that compare integers, not type names. A partner and day
    has at most one group per type, so a type's own columns take that group's figures (``MAX … FILTER``)."""
    postgres = connection.vendor == "postgresql"
    builtin = [
        c.removeprefix("events_") for c in columns.COLUMNS if c.startswith("events_") and c != "events_total"
    ]
    contact = sorted(k for k, kind in kinds.items() if kind.contact)
    implied = {
        d: sorted(k for k, kind in kinds.items() if kind.contact and kind.direction == d)
        for d in ("inbound", "outbound")
    }
    named = [*builtin, *sorted({*contact, SURVEY_TYPE, CONTENT_TYPE} - set(builtin))]
    number = {type_key: i for i, type_key in enumerate(named, 1)}  # 0: a type without a role of its own
    own = f"(ti = 0 OR ti > {len(builtin)})"  # the workspace's own (and unknown) types: extra

    def among(type_keys: Sequence[str]) -> str:
        if not type_keys:
            return "FALSE"
        return f"ti IN ({', '.join(str(number[t]) for t in type_keys)})"

    content = list(CONTENT_PROPERTIES)

    # level 1: one group per partner, day and type, numbered
    inner_params: list[Any] = [*named, PROMOTER, DETRACTOR, *[CONTENT_TYPE] * len(content), workspace_id]
    numbered = " ".join(f"WHEN %s THEN {i}" for i in range(1, len(named) + 1))
    props = ", ".join(
        f"{'MAX' if columns.COLUMN_OF[f'content.{name}'] in columns.GAUGE_COLUMNS else 'SUM'}"
        f"(CASE WHEN type = %s THEN {_property(name)} END) AS p_{name}"
        for name in content
    )
    inner = (
        f"SELECT partner_id, {_day('occurred_at')} AS day, type, CASE type {numbered} ELSE 0 END AS ti, "  # noqa: S608
        "COUNT(*) AS n, SUM(value) AS v, "
        "COUNT(*) FILTER (WHERE direction = 'inbound') AS n_in, "
        "COUNT(*) FILTER (WHERE direction = 'outbound') AS n_out, "
        "COUNT(*) FILTER (WHERE direction = '') AS n_none, "
        "COUNT(value) AS n_v, COUNT(*) FILTER (WHERE value >= %s) AS n_hi, "
        "COUNT(*) FILTER (WHERE value <= %s) AS n_lo, "
        f"{props} FROM {connection.ops.quote_name(Event._meta.db_table)} WHERE workspace_id = %s "
        "GROUP BY partner_id, 2, type"
    )

    # level 2: the groups of a partner and day pivoted into one row
    selected: list[str] = ["SUM(n)"]
    names: list[str] = [columns.TOTAL_COLUMN]
    for type_key in builtin:
        selected.append(f"MAX(n) FILTER (WHERE ti = {number[type_key]})")
        names.append(f"events_{type_key}")
    for type_key in builtin:
        selected.append(f"NULLIF(MAX(v) FILTER (WHERE ti = {number[type_key]}), 0)")
        names.append(f"value_{type_key}")
    selected.append(f"SUM(n) FILTER (WHERE {among(contact)})")
    names.append("contact")
    for direction, short in (("inbound", "n_in"), ("outbound", "n_out")):
        explicit = f"COALESCE(SUM({short}) FILTER (WHERE {among(contact)}), 0)"
        implicit = f"COALESCE(SUM(n_none) FILTER (WHERE {among(implied[direction])}), 0)"
        selected.append(f"NULLIF({explicit} + {implicit}, 0)")
        names.append(f"contact_{direction}")
    for name in content:
        column = columns.COLUMN_OF[f"content.{name}"]
        selected.append(f"MAX(p_{name})" if column in columns.GAUGE_COLUMNS else f"NULLIF(SUM(p_{name}), 0)")
        names.append(column)
    # the survey figures: the survey responses with a score, their sum, promoters and detractors
    for column, group in (
        ("survey_responses", "n_v"),
        ("survey_score", "v"),
        ("survey_promoters", "n_hi"),
        ("survey_detractors", "n_lo"),
    ):
        selected.append(f"NULLIF(MAX({group}) FILTER (WHERE ti = {number[SURVEY_TYPE]}), 0)")
        names.append(column)
    # the workspace's own (and any unknown) types: {"events.<type>": n, "value.<type>": v} in extra
    if postgres:
        extra = (
            f"NULLIF(COALESCE(jsonb_object_agg('events.' || type, n) FILTER (WHERE {own}), '{{}}') "
            f"|| COALESCE(jsonb_object_agg('value.' || type, v) FILTER (WHERE {own} AND v <> 0), '{{}}'), "
            "'{}')"
        )
    else:
        extra = (
            f"NULLIF(json_patch(json_group_object('events.' || type, n) FILTER (WHERE {own}), "
            f"json_group_object('value.' || type, v) FILTER (WHERE {own} AND v <> 0)), '{{}}')"
        )
    selected.append(extra)
    names.append("extra")
    query = (
        f"SELECT partner_id, day, {', '.join(f'{s} AS {n}' for s, n in zip(selected, names, strict=True))} "  # noqa: S608
        f"FROM ({inner}) AS g GROUP BY partner_id, day"
    )
    return query, inner_params, names


def _other_columns_sql(workspace_id: int, paired: str) -> tuple[str, list[Any], list[str]]:
    """The rest of the rows: clicks, accepted conversions and the paired figures (from the ``paired``
    table that ``pairs.rebuild_pairs`` filled), each grouped by partner and day, in one ``SELECT
    partner_id, day, <columns>``; returns it, its parameters and the names of its columns."""
    quote = connection.ops.quote_name
    kinds = [c.removeprefix("conversions_") for c in columns.COLUMNS if c.startswith("conversions_")]
    kinds = [k for k in kinds if not k.endswith("_amount")]
    conversion_names: list[str] = []
    conversion_sums: list[str] = []
    conversion_params: list[Any] = []
    for kind in kinds:
        conversion_sums += [
            "NULLIF(SUM(CASE WHEN kind = %s THEN 1 ELSE 0 END), 0)",
            "NULLIF(SUM(CASE WHEN kind = %s THEN amount END), 0)",
        ]
        conversion_params += [kind, kind]
        conversion_names += [f"conversions_{kind}", f"conversions_{kind}_amount"]
    paired_names = list(columns.PAIRED_COLUMNS)
    names = ["clicks", *conversion_names, *paired_names]

    def part(values: Mapping[str, str]) -> str:  # typed NULLs: PostgreSQL matches UNION types pairwise
        nothing = {
            n: f"CAST(NULL AS {'numeric' if n in columns.DECIMAL_COLUMNS else 'bigint'})" for n in names
        }
        return ", ".join(f"{values.get(n, nothing[n])} AS {n}" for n in names)

    clicks = (
        f"SELECT partner_id, {_day('clicked_at')} AS day, {part({'clicks': 'COUNT(*)'})} "  # noqa: S608
        f"FROM {quote(Click._meta.db_table)} WHERE workspace_id = %s GROUP BY partner_id, 2"
    )
    conversions = (
        f"SELECT partner_id, {_day('occurred_at')} AS day, "  # noqa: S608
        f"{part(dict(zip(conversion_names, conversion_sums, strict=True)))} "
        f"FROM {quote(Conversion._meta.db_table)} "
        "WHERE workspace_id = %s AND partner_id IS NOT NULL AND status = %s GROUP BY partner_id, 2"
    )
    figures = f"SELECT partner_id, day, {part({n: n for n in paired_names})} FROM {paired}"  # noqa: S608
    query = (
        f"SELECT partner_id, day, {', '.join(f'SUM({n}) AS {n}' for n in names)} "  # noqa: S608
        f"FROM ({clicks} UNION ALL {conversions} UNION ALL {figures}) AS parts GROUP BY partner_id, day"
    )
    params = [workspace_id, *conversion_params, workspace_id, Conversion.Status.ACCEPTED.value]
    return query, params, names


def rows_sql(workspace_id: int, kinds: Mapping[str, EventKind], paired: str) -> list[tuple[str, list[Any]]]:
    """The statements that write every ``PartnerDay`` row of the workspace, each once, in one ``INSERT …
    SELECT``: the events' part and the rest (clicks, conversions, paired figures) in a full join on
    partner and day. PostgreSQL hashes or merges the two; SQLite joins by nested loops, so there the rest
    goes first into a temporary table keyed by partner and day (``OTHER_TABLE``) that the join looks up."""
    quote = connection.ops.quote_name
    events, event_params, event_names = _event_columns_sql(workspace_id, kinds)
    other, other_params, other_names = _other_columns_sql(workspace_id, paired)
    statements: list[tuple[str, list[Any]]] = []
    if connection.vendor != "postgresql":
        statements += [
            (f"DROP TABLE IF EXISTS {OTHER_TABLE}", []),
            (
                # typed keys, or SQLite cannot look them up
                f"CREATE TEMPORARY TABLE {OTHER_TABLE} (partner_id integer, day text, "
                f"{', '.join(other_names)}, PRIMARY KEY (partner_id, day))",
                [],
            ),
            (f"INSERT INTO {OTHER_TABLE} {other}", other_params),
        ]
        other, other_params = OTHER_TABLE, []
    else:
        other = f"({other})"
    selected = [f"e.{n}" for n in event_names] + [f"o.{n}" for n in other_names]
    query = (
        f"INSERT INTO {quote(columns.TABLE)} (workspace_id, partner_id, day, "  # noqa: S608
        f"{', '.join([*event_names, *other_names])}) "
        f"SELECT %s, COALESCE(e.partner_id, o.partner_id), COALESCE(e.day, o.day), {', '.join(selected)} "
        f"FROM ({events}) AS e FULL JOIN {other} AS o ON o.partner_id = e.partner_id AND o.day = e.day"
    )
    return [*statements, (query, [workspace_id, *event_params, *other_params])]


OTHER_TABLE = "rollups_rebuild_other"
"""SQLite: the rebuild's temporary table of clicks, conversions and paired figures per partner and day."""

PAIRED_TABLE = "rollups_rebuild_paired"
"""The rebuild's temporary table of paired figures (per partner and day: ``columns.PAIRED_COLUMNS``)."""


def _paired_table(cursor: Any) -> None:
    """(Re)create the temporary table of paired figures: no index, dropped at commit on PostgreSQL."""
    postgres = connection.vendor == "postgresql"
    figures = ", ".join(
        f"{c} {'bigint' if c.endswith('_seconds') else 'integer'}" for c in columns.PAIRED_COLUMNS
    )
    cursor.execute(f"DROP TABLE IF EXISTS {PAIRED_TABLE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {PAIRED_TABLE} (partner_id bigint, day {'date' if postgres else 'text'}, "
        f"{figures}){' ON COMMIT DROP' if postgres else ''}"
    )


def rollups_rebuild(*, workspace_id: int) -> int:
    """Recompute every rollup of the workspace from the raw rows, in one transaction; returns the rows.

    The paired figures go first, into a temporary table (``pairs.rebuild_pairs``: streamed, COPY on
    PostgreSQL); then one ``INSERT … SELECT`` writes each ``PartnerDay`` row once, with every column, and
    another the ``PartnerMonth`` rows from them (``months.months_rebuild``)."""
    touch(workspace_id, status=RollupState.Status.REBUILDING)
    kinds = workspace_kinds(workspace_id)
    outermost = not connection.in_atomic_block
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), workspace_scope(workspace_id):
        if outermost and postgres:  # one snapshot: scans and queue deletion
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        lock(workspace_id, exclusive=True)  # no fold or direct delta meanwhile
        with connection.cursor() as cursor:
            if postgres:  # room to sort and group in memory, this transaction only
                cursor.execute("SET LOCAL work_mem = '64MB'")
                # no JIT: the statements' estimated costs set it compiling (with optimization: seconds)
                # expressions that a scan runs through anyway
                cursor.execute("SET LOCAL jit = off")
            # PostgreSQL replaces the paired intervals in ``pairs_sql`` (only the rows that differ)
            emptied = [PartnerDay, RollupDirty, RollupPending, *([] if postgres else [PairedInterval])]
            for model in emptied:  # pending: counted below
                table = quote(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace_id])  # noqa: S608
            _paired_table(cursor)
        if postgres:  # the database pairs every partner but those only Python can (``pairs_sql``)
            python_ids = pairs_sql.python_partners(workspace_id, kinds)
            pairs_sql.insert_pairs(workspace_id, kinds, into=PAIRED_TABLE, skip=python_ids)
            pairs_sql.delete_intervals(workspace_id, python_ids)
            rebuild_pairs(workspace_id, kinds, into=PAIRED_TABLE, partner_ids=python_ids)
        else:
            rebuild_pairs(workspace_id, kinds, into=PAIRED_TABLE)
        with connection.cursor() as cursor:
            if postgres:  # the planner's estimate of the paired figures (temporary tables are never analyzed)
                cursor.execute(f"ANALYZE {PAIRED_TABLE}")
            for query, params in rows_sql(workspace_id, kinds, PAIRED_TABLE):
                cursor.execute(query, params)
            rows = int(cursor.rowcount)  # of the last statement: the one INSERT into PartnerDay
            cursor.execute(f"DROP TABLE {PAIRED_TABLE}")
            if not postgres:
                cursor.execute(f"DROP TABLE {OTHER_TABLE}")
        months_rebuild(workspace_id)  # the months of those days: one grouped INSERT … SELECT
    now = timezone.now()
    touch(workspace_id, status=RollupState.Status.READY, rebuilt_at=now, filled_at=now, responses_at=now)
    return rows


def rollup_cells(*, workspace_id: int) -> dict[Cell, Decimal]:
    """Every non-zero cell of the workspace (for comparing increments with a rebuild)."""
    with workspace_scope(workspace_id):
        rows = PartnerDay.objects.filter(workspace_id=workspace_id).values_list(
            "partner_id", "day", "extra", *columns.COLUMNS
        )
        return columns.cells_of(
            (partner_id, day, dict(zip(columns.COLUMNS, values, strict=True)), extra)
            for partner_id, day, extra, *values in rows
        )
