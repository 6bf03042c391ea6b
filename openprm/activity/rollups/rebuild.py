"""The rebuild: every rollup of a workspace recomputed from the raw rows (``prm rollups rebuild``); the
result equals what the increments built, which the tests check through ``rollup_cells``.

The paired metrics need the events one by one, in order: PostgreSQL pairs them in SQL (``pairs_sql``: one
statement; the partners only Python can pair stream through ``pairs.rebuild_pairs``), SQLite streams the
events that pair past Python once, sorted by partner; either way the figures go into a temporary table
per partner and day. Then the database computes every ``PartnerDay`` row in one ``SELECT``
(``rebuild_sql``: the events grouped once per partner and day with the clicks, the accepted conversions
and the paired figures — on PostgreSQL their rows in the same grouping, on SQLite joined to the events'
rows). PostgreSQL compares those rows with the stored ones and writes only
the difference — no row is deleted and inserted again with the same key, which would leave a dead version
of every row behind and cost the index a check of each — and re-aggregates the months of the days it
wrote; SQLite deletes the workspace's rows and inserts them anew, then every month. Nothing grows with
the number of events but the database's own sort."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from openprm.activity.models import (
    PairedInterval,
    PartnerDay,
    RollupDirty,
    RollupPending,
    RollupState,
)
from openprm.activity.rollups import columns, pairs_sql, rebuild_sql
from openprm.activity.rollups.deltas import Cell, workspace_kinds
from openprm.activity.rollups.months import months_rebuild, months_refresh_listed
from openprm.activity.rollups.pairs import rebuild_pairs
from openprm.activity.rollups.store import lock, touch
from openprm.core.tasks import workspace_scope

PAIRED_TABLE = "rollups_rebuild_paired"
"""The rebuild's temporary table of paired figures (per partner and day: ``columns.PAIRED_COLUMNS``)."""


def paired_table(cursor: Any) -> None:
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

    The paired figures go first, into a temporary table (``pairs_sql`` and ``pairs.rebuild_pairs``); then
    one statement makes the ``PartnerDay`` rows what the raw rows give (``rebuild_sql.rows_sql``: each
    row written at most once, with every column), and the ``PartnerMonth`` rows of the days written are
    re-aggregated (``months``)."""
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
            if postgres:  # room to sort and group in memory, this transaction only: at 5M events the
                # paired figures' hash aggregate (~190 MB) and the comparison's hash of the fresh rows
                # (~120 MB) stay in memory (hash_mem_multiplier 2); larger sorts spill to disk
                cursor.execute("SET LOCAL work_mem = '256MB'")
                # JIT, whatever the server's default: the two statements run the same few dozen
                # aggregates and window steps over millions of rows, and compiled (with optimization,
                # a fraction of a second at 5M events) they took a fifth less CPU; without inlining
                # PostgreSQL's own functions into them, whose compiling cost more than it saved (at 5M
                # events: the rows statement 9.8 s of CPU against 10.9 s, the pairing 9.5 against 9.75)
                cursor.execute("SET LOCAL jit = on")
                cursor.execute("SET LOCAL jit_inline_above_cost = -1")
            # PostgreSQL replaces the paired intervals and the days where they differ (``pairs_sql``,
            # ``rebuild_sql``); SQLite deletes them and inserts them anew
            emptied = [RollupDirty, RollupPending, *([] if postgres else [PartnerDay, PairedInterval])]
            for model in emptied:  # pending: counted below
                table = quote(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace_id])  # noqa: S608
            paired_table(cursor)
        if postgres:  # the database pairs every partner but those only Python can (``pairs_sql``)
            python_ids = pairs_sql.insert_pairs(workspace_id, kinds, into=PAIRED_TABLE)
            pairs_sql.delete_intervals(workspace_id, python_ids)
            rebuild_pairs(workspace_id, kinds, into=PAIRED_TABLE, partner_ids=python_ids)
        else:
            rebuild_pairs(workspace_id, kinds, into=PAIRED_TABLE)
        with connection.cursor() as cursor:
            if postgres:  # the planner's estimate of the paired figures (temporary tables are never analyzed)
                cursor.execute(f"ANALYZE {PAIRED_TABLE}")
            for query, params in rebuild_sql.rows_sql(workspace_id, kinds, PAIRED_TABLE):
                cursor.execute(query, params)
            # PostgreSQL: the last statement answers the workspace's rows; SQLite: it inserted them all
            rows = int(cursor.fetchone()[0]) if postgres else int(cursor.rowcount)
            cursor.execute(f"DROP TABLE {PAIRED_TABLE}")
            if not postgres:
                cursor.execute(f"DROP TABLE {rebuild_sql.OTHER_TABLE}")
        if postgres:  # the months of the days written (none when the days were right already)
            months_refresh_listed(workspace_id, rebuild_sql.TOUCHED_TABLE)
        else:
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
