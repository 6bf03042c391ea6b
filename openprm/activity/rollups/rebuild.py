"""The rebuild: every rollup of a workspace recomputed from the raw rows (``prm rollups rebuild``); the
result equals what the increments built, which the tests check through ``rollup_cells``.

The paired metrics need the events one by one, in order: PostgreSQL pairs them in SQL (``pairs_sql``: one
statement; the partners only Python can pair stream through ``pairs.rebuild_pairs``), SQLite streams the
events that pair past Python once, sorted by partner; either way the figures go into a temporary table
per partner and day. PostgreSQL then compares what the raw rows give with the stored ``PartnerDay`` rows
and writes only the difference (``rebuild_pg``) — no row is deleted and inserted again with the same
key, which would leave a dead version of every row behind and cost the index a check of each — in two
parts: the events' grouping against the stored events' columns, which a second session runs on this
transaction's snapshot while this one pairs (``core.snapshot``), and the other columns (clicks, accepted
conversions, paired figures) against theirs; it re-aggregates the months of the days it wrote. SQLite
deletes the workspace's rows and inserts them anew in one ``INSERT … SELECT`` (``rebuild_sql``), then
every month. Nothing grows with the number of events but the database's own sort."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from openprm.activity.catalog import EventKind
from openprm.activity.models import (
    PairedInterval,
    PartnerDay,
    RollupDirty,
    RollupPending,
    RollupState,
)
from openprm.activity.rollups import columns, pairs_sql, rebuild_pg, rebuild_sql
from openprm.activity.rollups.deltas import Cell, workspace_kinds
from openprm.activity.rollups.months import months_rebuild, months_refresh_listed
from openprm.activity.rollups.pairs import rebuild_pairs
from openprm.activity.rollups.store import lock, locked_before_transaction, touch
from openprm.core import snapshot
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


SESSION_SETTINGS = (
    # room to sort and group in memory, this transaction only: at 5M events the paired figures' hash
    # aggregate (~190 MB) and the comparisons' hashes stay in memory (hash_mem_multiplier 2); larger
    # sorts spill to disk
    "SET LOCAL work_mem = '256MB'",
    # JIT, whatever the server's default: the statements run the same few dozen aggregates and window
    # steps over millions of rows, and compiled (with optimization, a fraction of a second at 5M events)
    # they took a fifth less CPU; without inlining PostgreSQL's own functions into them, whose compiling
    # cost more than it saved (at 5M events: the grouping 9.8 s of CPU against 10.9 s, the pairing 9.5
    # against 9.75)
    "SET LOCAL jit = on",
    "SET LOCAL jit_inline_above_cost = -1",
)
"""PostgreSQL: the settings of the rebuild's sessions (``SET LOCAL``: its transaction only)."""

SIDE_SETTINGS = ("SET LOCAL max_parallel_workers_per_gather = 0",)
"""PostgreSQL: the second session's own (see ``rollups_rebuild``): it runs beside this one, a core each —
parallel workers of its own would take this session's core."""


def rollups_rebuild(*, workspace_id: int) -> int:
    """Recompute every rollup of the workspace from the raw rows, in one transaction; returns the rows.

    The paired figures go first, into a temporary table (``pairs_sql`` and ``pairs.rebuild_pairs``). On
    PostgreSQL a second session compares the events' columns with the stored rows meanwhile, on this
    transaction's snapshot (``core.snapshot``; in this session, after the pairing, when the rebuild runs
    inside an enclosing transaction), and one statement then writes the rows that differ
    (``rebuild_pg``); on SQLite the rows are deleted and inserted anew (``rebuild_sql.insert_sql``). The
    ``PartnerMonth`` rows of the days written are then re-aggregated (``months``)."""
    touch(workspace_id, status=RollupState.Status.REBUILDING)
    try:
        with locked_before_transaction(workspace_id):
            rows = _rebuild(workspace_id)
    except BaseException:
        # rolled back: the rollups are what they were, up to date with the increments
        with contextlib.suppress(DatabaseError):  # a broken connection: the first error tells
            touch(workspace_id, status=RollupState.Status.READY)
        raise
    now = timezone.now()
    touch(workspace_id, status=RollupState.Status.READY, rebuilt_at=now, filled_at=now, responses_at=now)
    return rows


def _rebuild(workspace_id: int) -> int:
    """The rebuild's transaction (see ``rollups_rebuild``); returns the rows."""
    kinds = workspace_kinds(workspace_id)
    outermost = not connection.in_atomic_block
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), workspace_scope(workspace_id):
        if outermost and postgres:  # one snapshot: scans and queue deletion, and the second session's
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        lock(workspace_id, exclusive=True)  # no fold or direct delta meanwhile
        with connection.cursor() as cursor:
            for statement in SESSION_SETTINGS if postgres else ():
                cursor.execute(statement)
            # PostgreSQL replaces the paired intervals and the days where they differ (``pairs_sql``,
            # ``rebuild_pg``); SQLite deletes them and inserts them anew
            emptied = [RollupDirty, RollupPending, *([] if postgres else [PartnerDay, PairedInterval])]
            for model in emptied:  # pending: counted below
                table = quote(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace_id])  # noqa: S608
            paired_table(cursor)
        if postgres:
            rows = _rebuild_postgres(workspace_id, kinds, concurrent=snapshot.usable(outermost=outermost))
        else:
            rebuild_pairs(workspace_id, kinds, into=PAIRED_TABLE)
            with connection.cursor() as cursor:
                for query, params in rebuild_sql.insert_sql(workspace_id, kinds, PAIRED_TABLE):
                    cursor.execute(query, params)
                rows = int(cursor.rowcount)  # the last statement inserted them all
                cursor.execute(f"DROP TABLE {PAIRED_TABLE}")
                cursor.execute(f"DROP TABLE {rebuild_sql.OTHER_TABLE}")
            months_rebuild(workspace_id)  # the months of those days: one grouped INSERT … SELECT
    return rows


def _rebuild_postgres(workspace_id: int, kinds: Mapping[str, EventKind], *, concurrent: bool) -> int:
    """The rows and months on PostgreSQL (see ``rollups_rebuild``); ``concurrent``: the events' columns
    compared by a second session on this transaction's snapshot while this one pairs."""
    events, events_params, event_names = rebuild_pg.events_diff_sql(workspace_id, kinds)
    with (
        snapshot.SnapshotCopy(events, events_params, settings=[*SESSION_SETTINGS, *SIDE_SETTINGS])
        if concurrent
        else nullcontext() as side
    ):
        # the database pairs every partner but those only Python can (``pairs_sql``)
        python_ids = pairs_sql.insert_pairs(workspace_id, kinds, into=PAIRED_TABLE)
        pairs_sql.delete_intervals(workspace_id, python_ids)
        rebuild_pairs(workspace_id, kinds, into=PAIRED_TABLE, partner_ids=python_ids)
        with connection.cursor() as cursor:
            rebuild_pg.events_table(cursor, event_names)
            if side is not None:
                side.load(rebuild_pg.EVENTS_TABLE, ["partner_id", "day", *event_names])
            else:
                listed = ", ".join(["partner_id", "day", *event_names])
                cursor.execute(f"INSERT INTO {rebuild_pg.EVENTS_TABLE} ({listed}) {events}", events_params)
    with connection.cursor() as cursor:
        # the planner's estimates (temporary tables are never analyzed by autovacuum)
        cursor.execute(f"ANALYZE {PAIRED_TABLE}, {rebuild_pg.EVENTS_TABLE}")
        # no JIT for the writing statement: its plan is large (compiling it took 3 s at 5M events) and its
        # rows few (the parts' and the stored rows, once each)
        cursor.execute("SET LOCAL jit = off")
        for query, params in rebuild_pg.write_sql(workspace_id, event_names, PAIRED_TABLE):
            cursor.execute(query, params)
        rows = int(cursor.fetchone()[0])  # the last statement answers the workspace's rows
        cursor.execute(f"DROP TABLE {PAIRED_TABLE}, {rebuild_pg.EVENTS_TABLE}")
    months_refresh_listed(workspace_id, rebuild_pg.TOUCHED_TABLE)  # the months of the days written
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
