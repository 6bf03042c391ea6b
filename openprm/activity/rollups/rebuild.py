"""The rebuild: every rollup of a workspace recomputed from the raw rows (``prm rollups rebuild``); the
result equals what the increments built, which the tests check through ``rollup_cells``.

The database does the summing: one ``INSERT … SELECT`` groups the events by partner, day and type and
pivots the groups into ``PartnerDay`` rows (the same deltas as ``deltas.day_deltas``: counts, values,
contact and its directions, content sums and the followers gauge, the survey figures, the workspace's
own types in ``extra``); clicks and accepted conversions are grouped into the same rows by two more.
Only the paired metrics need the events one by one, in order: the events of the paired types stream past
once, sorted by partner, and each partner's are paired as soon as the next partner's begin
(``pairs.rebuild_pairs``).
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
from openprm.activity.rollups import columns
from openprm.activity.rollups.deltas import DETRACTOR, PROMOTER, SURVEY_TYPE, Cell, workspace_kinds
from openprm.activity.rollups.pairs import rebuild_pairs
from openprm.activity.rollups.store import lock, touch
from openprm.core.tasks import workspace_scope

CONTENT_TYPE = "content_post"


def _day(column: str) -> str:
    """SQL for the UTC day of a timestamp column (SQLite stores naive UTC text)."""
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AS date)"
    return f"substr({column}, 1, 10)"


def _in(values: Sequence[str], params: list[Any], *, negate: bool = False) -> str:
    """``type IN (...)`` (or NOT IN) with its values appended to ``params``; never empty SQL."""
    if not values:
        return "TRUE" if negate else "FALSE"
    params.extend(values)
    return f"type {'NOT ' if negate else ''}IN ({', '.join(['%s'] * len(values))})"


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


def event_rows_sql(workspace_id: int, kinds: Mapping[str, EventKind]) -> tuple[str, list[Any]]:
    """The ``INSERT … SELECT`` that writes every event's deltas into fresh ``PartnerDay`` rows."""
    postgres = connection.vendor == "postgresql"
    quote = connection.ops.quote_name
    builtin = [
        c.removeprefix("events_") for c in columns.COLUMNS if c.startswith("events_") and c != "events_total"
    ]
    contact = sorted(k for k, kind in kinds.items() if kind.contact)
    implied = {
        d: sorted(k for k, kind in kinds.items() if kind.contact and kind.direction == d)
        for d in ("inbound", "outbound")
    }
    content = list(CONTENT_PROPERTIES)
    params: list[Any] = []

    # level 1: one group per partner, day and type (what the raw GROUP BY reads)
    inner_params: list[Any] = [PROMOTER, DETRACTOR] + [CONTENT_TYPE] * len(content) + [workspace_id]
    props = ", ".join(
        f"{'MAX' if columns.COLUMN_OF[f'content.{name}'] in columns.GAUGE_COLUMNS else 'SUM'}"
        f"(CASE WHEN type = %s THEN {_property(name)} END) AS p_{name}"
        for name in content
    )
    inner = (
        f"SELECT partner_id, {_day('occurred_at')} AS day, type, COUNT(*) AS n, SUM(value) AS v, "  # noqa: S608
        "SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END) AS n_in, "
        "SUM(CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END) AS n_out, "
        "SUM(CASE WHEN direction = '' THEN 1 ELSE 0 END) AS n_none, "
        "COUNT(value) AS n_v, SUM(CASE WHEN value >= %s THEN 1 ELSE 0 END) AS n_hi, "
        "SUM(CASE WHEN value <= %s THEN 1 ELSE 0 END) AS n_lo, "
        f"{props} FROM {quote(Event._meta.db_table)} WHERE workspace_id = %s GROUP BY partner_id, 2, type"
    )

    # level 2: the groups of a partner and day pivoted into one row
    selected: list[str] = ["SUM(n)"]
    names: list[str] = [columns.TOTAL_COLUMN]
    for type_key in builtin:
        selected.append("SUM(CASE WHEN type = %s THEN n END)")
        params.append(type_key)
        names.append(f"events_{type_key}")
    for type_key in builtin:
        selected.append("NULLIF(SUM(CASE WHEN type = %s THEN v END), 0)")
        params.append(type_key)
        names.append(f"value_{type_key}")
    selected.append(f"SUM(CASE WHEN {_in(contact, params)} THEN n END)")
    names.append("contact")
    for direction, short in (("inbound", "n_in"), ("outbound", "n_out")):
        explicit = f"SUM(CASE WHEN {_in(contact, params)} THEN {short} ELSE 0 END)"
        implicit = f"SUM(CASE WHEN {_in(implied[direction], params)} THEN n_none ELSE 0 END)"
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
        selected.append(f"NULLIF(SUM(CASE WHEN type = %s THEN {group} END), 0)")
        params.append(SURVEY_TYPE)
        names.append(column)
    # the workspace's own (and any unknown) types: {"events.<type>": n, "value.<type>": v} in extra
    own_counts = _in(builtin, params, negate=True)
    own_values = _in(builtin, params, negate=True)
    if postgres:
        extra = (
            "NULLIF(COALESCE(jsonb_object_agg('events.' || type, n) FILTER (WHERE "
            f"{own_counts}), '{{}}') || COALESCE(jsonb_object_agg('value.' || type, v) FILTER (WHERE "
            f"{own_values} AND v <> 0), '{{}}'), '{{}}')"
        )
    else:
        extra = (
            "NULLIF(json_patch(json_group_object('events.' || type, n) FILTER (WHERE "
            f"{own_counts}), json_group_object('value.' || type, v) FILTER (WHERE "
            f"{own_values} AND v <> 0)), '{{}}')"
        )
    selected.append(extra)
    names.append("extra")
    query = (
        f"INSERT INTO {quote(columns.TABLE)} (workspace_id, partner_id, day, {', '.join(names)}) "  # noqa: S608
        f"SELECT %s, partner_id, day, {', '.join(selected)} FROM ({inner}) AS g GROUP BY partner_id, day"
    )
    return query, [workspace_id, *params, *inner_params]


def _click_and_conversion_sql(workspace_id: int) -> list[tuple[str, list[Any]]]:
    quote = connection.ops.quote_name
    table = quote(columns.TABLE)
    clicks = (
        f"INSERT INTO {table} (workspace_id, partner_id, day, clicks) "  # noqa: S608
        f"SELECT %s, partner_id, {_day('clicked_at')}, COUNT(*) FROM {quote(Click._meta.db_table)} "
        "WHERE workspace_id = %s GROUP BY partner_id, 3 "
        "ON CONFLICT (workspace_id, partner_id, day) DO UPDATE SET clicks = excluded.clicks"
    )
    kinds = [c.removeprefix("conversions_") for c in columns.COLUMNS if c.startswith("conversions_")]
    kinds = [k for k in kinds if not k.endswith("_amount")]
    selected, names, params = [], [], []
    for kind in kinds:
        selected += [
            "NULLIF(SUM(CASE WHEN kind = %s THEN 1 ELSE 0 END), 0)",
            "NULLIF(SUM(CASE WHEN kind = %s THEN amount END), 0)",
        ]
        params += [kind, kind]
        names += [f"conversions_{kind}", f"conversions_{kind}_amount"]
    conversions = (
        f"INSERT INTO {table} (workspace_id, partner_id, day, {', '.join(names)}) "  # noqa: S608
        f"SELECT %s, partner_id, {_day('occurred_at')}, {', '.join(selected)} "
        f"FROM {quote(Conversion._meta.db_table)} "
        "WHERE workspace_id = %s AND partner_id IS NOT NULL AND status = %s GROUP BY partner_id, 3 "
        "ON CONFLICT (workspace_id, partner_id, day) DO UPDATE SET "
        + ", ".join(f"{n} = excluded.{n}" for n in names)
    )
    return [
        (clicks, [workspace_id, workspace_id]),
        (conversions, [workspace_id, *params, workspace_id, Conversion.Status.ACCEPTED.value]),
    ]


def rollups_rebuild(*, workspace_id: int) -> int:
    """Recompute every rollup of the workspace from the raw rows, in one transaction; returns the rows."""
    touch(workspace_id, status=RollupState.Status.REBUILDING)
    kinds = workspace_kinds(workspace_id)
    outermost = not connection.in_atomic_block
    quote = connection.ops.quote_name
    with transaction.atomic(), workspace_scope(workspace_id):
        if outermost and connection.vendor == "postgresql":  # one snapshot: scans and queue deletion
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        lock(workspace_id, exclusive=True)  # no fold or direct delta meanwhile
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # room to sort and group in memory, this transaction only
                cursor.execute("SET LOCAL work_mem = '64MB'")
            for model in (PartnerDay, PairedInterval, RollupDirty, RollupPending):  # pending: counted below
                table = quote(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace_id])  # noqa: S608
            cursor.execute(*event_rows_sql(workspace_id, kinds))
            for query, params in _click_and_conversion_sql(workspace_id):
                cursor.execute(query, params)
        rebuild_pairs(workspace_id, kinds)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote(columns.TABLE)} WHERE workspace_id = %s",  # noqa: S608
                [workspace_id],
            )
            rows = int(cursor.fetchone()[0])
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
