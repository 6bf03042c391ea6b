"""The rebuild: every rollup of a workspace recomputed from the raw rows (``prm rollups rebuild``); the
result equals what the increments built, which the tests check through ``rollup_cells``."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from openprm.activity.models import (
    Click,
    Conversion,
    PairedInterval,
    PartnerDayMetric,
    RollupDirty,
    RollupPending,
    RollupState,
)
from openprm.activity.rollups.deltas import (
    Cell,
    Counts,
    add_into,
    click_deltas,
    conversion_deltas,
    day_deltas,
    workspace_kinds,
)
from openprm.activity.rollups.pairs import repair
from openprm.activity.rollups.store import event_day_rows, lock, rollups_add, touch
from openprm.core.tasks import workspace_scope


def rollups_rebuild(*, workspace_id: int, chunk: int = 20_000) -> int:
    """Recompute every rollup of the workspace from the raw rows, in one transaction; returns the cells."""
    touch(workspace_id, status=RollupState.Status.REBUILDING)
    kinds = workspace_kinds(workspace_id)
    sums: Counts = defaultdict(int)
    gauges: dict[Cell, Decimal] = {}
    dirty: dict[int, datetime.date] = {}
    outermost = not connection.in_atomic_block
    with transaction.atomic(), workspace_scope(workspace_id):
        if outermost and connection.vendor == "postgresql":  # one snapshot: scans and queue deletion
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        lock(workspace_id, exclusive=True)  # no fold or direct delta meanwhile
        PartnerDayMetric.objects.filter(workspace_id=workspace_id).delete()
        PairedInterval.objects.filter(workspace_id=workspace_id).delete()
        RollupDirty.objects.filter(workspace_id=workspace_id).delete()
        RollupPending.objects.filter(workspace_id=workspace_id).delete()  # their events are counted below
        day_deltas(event_day_rows(workspace_id, chunk=chunk), kinds, sums, gauges, dirty)
        clicks = (
            Click.objects.filter(workspace_id=workspace_id).order_by().values_list("partner_id", "clicked_at")
        )
        add_into(sums, click_deltas(clicks.iterator(chunk_size=chunk)))
        conversions = (
            Conversion.objects.filter(workspace_id=workspace_id)
            .order_by()
            .values_list("partner_id", "kind", "occurred_at", "amount", "status")
        )
        add_into(sums, conversion_deltas(conversions.iterator(chunk_size=chunk)))
        rollups_add(workspace_id=workspace_id, sums=sums, gauges=gauges)
        partners = sorted(dirty.items())
        for start in range(0, len(partners), 500):
            repair(workspace_id, dict(partners[start : start + 500]), kinds)
    now = timezone.now()
    touch(workspace_id, status=RollupState.Status.READY, rebuilt_at=now, filled_at=now, responses_at=now)
    with workspace_scope(workspace_id):
        return PartnerDayMetric.objects.filter(workspace_id=workspace_id).count()


def rollup_cells(*, workspace_id: int) -> dict[Cell, Decimal]:
    """Every non-zero cell of the workspace (for comparing increments with a rebuild)."""
    with workspace_scope(workspace_id):
        rows = PartnerDayMetric.objects.filter(workspace_id=workspace_id).values_list(
            "partner_id", "day", "metric", "value"
        )
        return {(p, d, m): v for p, d, m, v in rows if v}
