"""The fold: rows queued by the services (``rollups_queue``) are added to the rollups by the job worker
after their commit (``rollups_fold``), many batches summed per transaction, each row counted once.

The rollups sit below the task layer (``activity.tasks`` imports them), so they name the fold job
(``FOLD_JOB``) to the task base instead of importing it."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from openprm.activity.models import Click, RollupDirty, RollupPending
from openprm.activity.rollups.deltas import Cell, Counts, add_into, click_deltas, day_deltas, workspace_kinds
from openprm.activity.rollups.store import event_day_rows, lock, rollups_add, rollups_filled
from openprm.core.health import QueueState
from openprm.core.scoping import unscoped
from openprm.core.tasks import enqueue_after_commit, job, workspace_scope

FOLD_DELAY = 5.0  # seconds: clicks are folded at most this long after they were recorded
FOLD_JOB = "openprm.activity.tasks.fold_rollups"  # the job that folds a workspace's queue, then re-pairs


def rollups_queue(*, workspace_id: int, event_ids: Sequence[int] = (), click_ids: Sequence[int] = ()) -> None:
    """Queue stored events or clicks (inside their transaction) for ``rollups_fold``.

    A batch of events gets its fold job right after commit; clicks, one per request, share a fold
    scheduled ``FOLD_DELAY`` seconds after the first of them (one job per process and interval).
    Takes no lock: a rebuild reads one snapshot, so a row queued meanwhile is either in it (counted
    by the rebuild, its queue entry deleted by it) or not (left for the fold)."""
    ranges: list[list[int]] = []
    for pk in sorted(event_ids):
        if ranges and pk == ranges[-1][1] + 1:
            ranges[-1][1] = pk
        else:
            ranges.append([pk, pk])
    with workspace_scope(workspace_id):  # whoever's write queued it (a visitor's click too)
        RollupPending.objects.create(
            workspace_id=workspace_id, event_ranges=ranges, click_ids=list(click_ids)
        )
    if event_ids:
        enqueue_after_commit(FOLD_JOB, workspace_id=workspace_id)
    else:
        transaction.on_commit(lambda: rollups_fold_soon(workspace_id))


def rollups_fold_soon(workspace_id: int) -> None:
    """Fold ``FOLD_DELAY`` seconds from now unless this process already scheduled a fold that will take
    this work too (inline without a worker). Call it after the commit."""
    job(FOLD_JOB).delay_coalesced(workspace_id, delay=FOLD_DELAY)


FOLD_EVENTS = 100_000  # events (and clicks) per fold transaction: bounds its memory and its length
FOLD_BATCHES = 1_000  # queued batches looked at per fold transaction


def _merged(ranges: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    """Id ranges sorted, overlapping and adjacent ones merged (fewer conditions in the event query)."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted((int(first), int(last)) for first, last in ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def _take(workspace_id: int, *, events: int, batches: int) -> list[tuple[int, list[Any], list[int]]]:
    """Lock the oldest queued batches that fit in ``events`` events and clicks (at least one, at most
    ``batches``): (pk, event ranges, click ids) each.

    PostgreSQL: SKIP LOCKED, a page at a time, each page sized from the batches seen so far, so that a
    concurrent fold finds the batches beyond this one's budget free (at most a page's rest stays locked)."""
    pending = RollupPending.objects.filter(workspace_id=workspace_id).order_by("pk")
    if connection.vendor == "postgresql":
        pending = pending.select_for_update(skip_locked=True)
    taken: list[tuple[int, list[Any], list[int]]] = []
    size, after, limit = 0, 0, min(10, batches)
    while True:
        page = list(pending.filter(pk__gt=after).values_list("pk", "event_ranges", "click_ids")[:limit])
        for pk, ranges, clicks in page:
            count = sum(last - first + 1 for first, last in ranges) + len(clicks)
            if taken and size + count > events:
                return taken
            taken.append((pk, ranges, clicks))
            size += count
            if len(taken) == batches or size >= events:
                return taken
        if len(page) < limit:
            return taken
        after = page[-1][0]
        average = max(size / len(taken), 1)
        limit = max(1, min(batches - len(taken), int((events - size) / average)))


def rollups_fold(*, workspace_id: int, events: int = FOLD_EVENTS, batches: int = FOLD_BATCHES) -> int:
    """Add the deltas of queued batches to the rollups until none is left; returns how many were applied.

    Each transaction takes the oldest batches up to ``events`` events and clicks (``_take``), sums their
    deltas together (one upsert per cell however many batches touched it) and deletes their queue rows:
    each event and click is counted exactly once. Concurrent folds take disjoint batches."""
    applied = 0
    kinds = workspace_kinds(workspace_id)
    while True:
        with transaction.atomic(), workspace_scope(workspace_id):
            lock(workspace_id)
            taken = _take(workspace_id, events=events, batches=batches)
            if not taken:
                break
            ranges = [bounds for _, event_ranges, _ in taken for bounds in event_ranges]
            click_ids = [pk for _, _, clicks in taken for pk in clicks]
            sums: Counts = defaultdict(int)
            gauges: dict[Cell, Decimal] = {}
            dirty: dict[int, datetime.date] = {}
            if ranges:
                day_deltas(event_day_rows(workspace_id, _merged(ranges)), kinds, sums, gauges, dirty)
            for start in range(0, len(click_ids), 5_000):
                clicks = Click.objects.filter(
                    workspace_id=workspace_id, pk__in=click_ids[start : start + 5_000]
                )
                add_into(sums, click_deltas(clicks.values_list("partner_id", "clicked_at")))
            rollups_add(workspace_id=workspace_id, sums=sums, gauges=gauges, dirty=dirty)
            RollupPending.objects.filter(pk__in=[pk for pk, _, _ in taken]).delete()
            applied += len(taken)
    if applied:
        rollups_filled(workspace_id=workspace_id)
    return applied


def rollups_queue_state(*, workspace_id: int | None = None, count_items: bool = False) -> QueueState:
    """What waits for the job worker: queued batches (one query; with ``count_items`` their events and
    clicks too, read from the queue rows) and the oldest batch's age. All workspaces when None."""
    with unscoped() if workspace_id is None else workspace_scope(workspace_id):  # health: all of them
        pending = RollupPending.objects.all()
        if workspace_id is not None:
            pending = pending.filter(workspace_id=workspace_id)
        found = pending.aggregate(n=Count("pk"), oldest=Min("created_at"))
        detail = None
        if count_items and found["n"]:
            events = clicks = 0
            for ranges, click_ids in pending.values_list("event_ranges", "click_ids").iterator():
                events += sum(last - first + 1 for first, last in ranges)
                clicks += len(click_ids)
            detail = {"events": events, "clicks": clicks}
    oldest = found["oldest"]
    age = None if oldest is None else max((timezone.now() - oldest).total_seconds(), 0.0)
    return QueueState(pending=found["n"], oldest_age_seconds=age, detail=detail)


def rollups_workspaces_behind() -> list[int]:
    """Workspaces with queued batches or partners awaiting re-pairing, for the schedule's catch-up.
    Spans workspaces, hence ``unscoped``."""
    with unscoped():
        workspaces = set(RollupPending.objects.values_list("workspace_id", flat=True))
        workspaces |= set(RollupDirty.objects.values_list("workspace_id", flat=True))
    return sorted(workspaces)
