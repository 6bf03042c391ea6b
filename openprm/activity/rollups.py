"""Per-partner daily rollups: ``PartnerDayMetric`` (workspace, partner, day, metric) → value.

Every write that feeds a metric adds its delta in the same transaction (``rollups_add``): an event
batch, a click, a conversion. Metrics that pair events with each other — reply times, ticket resolution
times, on-time campaign deliveries — depend on the order of events, not just on their sum, so a batch
marks its partners *dirty* from the earliest day it touched and ``rollups_refresh_pairs`` (run by the job
worker right after the batch commits, and every 30 seconds) recomputes them from there.
``rollups_rebuild`` recomputes everything from the raw rows; it gives the same table as the increments.

Metric names (days are UTC):

* ``events.<type>`` — number of events of the type; ``value.<type>`` — sum of their values;
* ``contact``, ``contact.inbound``, ``contact.outbound`` — communication events (``catalog`` ``contact``);
* ``content.reach`` / ``content.impressions`` / ``content.engagements`` — sums over content posts;
  ``content.followers`` — the largest audience reported that day (a gauge: max, not sum);
* ``clicks``; ``conversions.<kind>`` and ``conversions.<kind>.amount`` (accepted conversions only);
* paired: ``reply.partner.count`` / ``.seconds`` (the partner answering us), ``reply.vendor.*`` (us
  answering the partner), ``ticket.resolved.count`` / ``.seconds``, ``deliverable.on_time`` /
  ``deliverable.late`` — on the day the pair completed; the individual intervals are kept in
  ``PairedInterval`` for exact medians.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from openprm.activity import pairing
from openprm.activity.catalog import BUILTIN_TYPES, CONTENT_PROPERTIES, EventKind
from openprm.activity.models import (
    Click,
    Conversion,
    Event,
    EventType,
    PairedInterval,
    PartnerDayMetric,
    RollupDirty,
    RollupPending,
    RollupState,
)
from openprm.core.scoping import unscoped

Cell = tuple[int, datetime.date, str]  # (partner_id, day, metric)
Sums = defaultdict[Cell, Decimal]
GAUGES = frozenset({"content.followers"})
PAIRED_TYPES = frozenset(
    {
        "support_ticket_opened",
        "support_ticket_resolved",
        "campaign_deliverable_due",
        "campaign_deliverable_submitted",
    }
)


def workspace_kinds(workspace_id: int) -> dict[str, EventKind]:
    """The built-in catalog plus the workspace's custom types."""
    with unscoped():
        custom = {
            t.key: EventKind(
                t.key, t.label, t.category, contact=t.contact, qualifying=t.qualifying, builtin=False
            )
            for t in EventType.objects.filter(workspace_id=workspace_id)
        }
    return {**custom, **BUILTIN_TYPES}


def _day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = Decimal(str(value))
    return number if number.is_finite() else None


def event_deltas(
    rows: Iterable[tuple[int, str, datetime.datetime, str, Decimal | None, Mapping[str, Any]]],
    kinds: Mapping[str, EventKind],
) -> tuple[Sums, dict[Cell, Decimal], dict[int, datetime.date]]:
    """Additive deltas, gauge values and dirty partners (partner → earliest day) of new events.

    ``rows``: (partner_id, type, occurred_at, direction, value, properties) of events just stored.
    """
    sums: Sums = defaultdict(Decimal)
    gauges: dict[Cell, Decimal] = {}
    dirty: dict[int, datetime.date] = {}
    names: dict[str, tuple[str, str, EventKind | None, bool]] = {}  # type → its metric names, kind, paired
    utc = datetime.UTC
    for partner_id, type_key, occurred_at, direction, value, properties in rows:
        day = occurred_at.astimezone(utc).date()
        known = names.get(type_key)
        if known is None:
            known = names[type_key] = (
                f"events.{type_key}",
                f"value.{type_key}",
                kinds.get(type_key),
                type_key in PAIRED_TYPES,
            )
        count_name, value_name, kind, paired = known
        sums[(partner_id, day, count_name)] += 1
        if value is not None:
            sums[(partner_id, day, value_name)] += value
        if kind is not None and kind.contact:
            sums[(partner_id, day, "contact")] += 1
            if direction := direction or kind.direction:
                sums[(partner_id, day, f"contact.{direction}")] += 1
                paired = True
        if type_key == "content_post" and properties:
            for name in CONTENT_PROPERTIES:
                number = _number(properties.get(name))
                if number is None:
                    continue
                cell = (partner_id, day, f"content.{name}")
                if f"content.{name}" in GAUGES:
                    gauges[cell] = max(gauges.get(cell, number), number)
                else:
                    sums[cell] += number
        if paired and (partner_id not in dirty or day < dirty[partner_id]):
            dirty[partner_id] = day
    return sums, gauges, dirty


def _upsert(workspace_id: int, cells: Mapping[Cell, Decimal], *, gauge: bool) -> None:
    """Add (or, for gauges, raise to) each cell's value; PostgreSQL takes the cells as arrays, a few
    thousand per statement, SQLite one statement per cell in one ``executemany``."""
    if not cells:
        return
    quote = connection.ops.quote_name
    table = quote(PartnerDayMetric._meta.db_table)
    update = (
        f"CASE WHEN excluded.value > {table}.value THEN excluded.value ELSE {table}.value END"
        if gauge
        else f"{table}.value + excluded.value"
    )
    conflict = f"ON CONFLICT (workspace_id, partner_id, metric, day) DO UPDATE SET value = {update}"
    ordered = sorted(cells.items())  # a fixed order, so concurrent writers lock rows in the same order
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            query = (
                f"INSERT INTO {table} (workspace_id, partner_id, day, metric, value) "  # noqa: S608
                "SELECT %s, p, d, m, v FROM unnest(%s::bigint[], %s::date[], %s::text[], %s::numeric[]) "
                f"AS cell(p, d, m, v) {conflict}"
            )
            for start in range(0, len(ordered), 5_000):
                part = ordered[start : start + 5_000]
                cursor.execute(
                    query,
                    [
                        workspace_id,
                        [p for (p, _, _), _ in part],
                        [d for (_, d, _), _ in part],
                        [m for (_, _, m), _ in part],
                        [v for _, v in part],
                    ],
                )
            return
        adapt_day = connection.ops.adapt_datefield_value
        adapt_number = connection.ops.adapt_decimalfield_value
        cursor.executemany(
            f"INSERT INTO {table} (workspace_id, partner_id, day, metric, value) "  # noqa: S608
            f"VALUES (%s, %s, %s, %s, %s) {conflict}",
            [[workspace_id, p, adapt_day(d), m, adapt_number(v, 24, 4)] for (p, d, m), v in ordered],
        )


_LOCK_NAMESPACE = 7301  # PostgreSQL advisory locks: (namespace, workspace id)


def _lock(workspace_id: int, *, exclusive: bool = False) -> None:
    """Writers of the rollup table share a lock that a rebuild takes exclusively (PostgreSQL; on SQLite
    every write transaction already excludes the others). Held until the transaction ends."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [_LOCK_NAMESPACE, workspace_id])


def rollups_add(
    *,
    workspace_id: int,
    sums: Mapping[Cell, Decimal | int] | None = None,
    gauges: Mapping[Cell, Decimal] | None = None,
    dirty: Mapping[int, datetime.date] | None = None,
) -> None:
    """Add deltas to the rollups (inside the caller's transaction) and mark partners for re-pairing."""
    _lock(workspace_id)
    _upsert(workspace_id, {cell: Decimal(v) for cell, v in (sums or {}).items() if v}, gauge=False)
    _upsert(workspace_id, dict(gauges or {}), gauge=True)
    if dirty:
        _mark_dirty(workspace_id, dirty)


def _mark_dirty(workspace_id: int, dirty: Mapping[int, datetime.date]) -> None:
    quote = connection.ops.quote_name
    table = quote(RollupDirty._meta.db_table)
    query = (
        f"INSERT INTO {table} (workspace_id, partner_id, since) VALUES (%s, %s, %s) "  # noqa: S608
        f"ON CONFLICT (workspace_id, partner_id) DO UPDATE SET since = "
        f"CASE WHEN excluded.since < {table}.since THEN excluded.since ELSE {table}.since END"
    )
    adapt_day = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.executemany(query, [[workspace_id, p, adapt_day(d)] for p, d in sorted(dirty.items())])


FOLD_DELAY = 5.0  # seconds: clicks are folded at most this long after they were recorded
_fold_scheduled: dict[int, float] = {}  # workspace → when this process last scheduled a delayed fold


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
    with unscoped():  # a queue row concerns the workspace, whoever's write queued it (even a visitor's)
        RollupPending.objects.create(
            workspace_id=workspace_id, event_ranges=ranges, click_ids=list(click_ids)
        )
    if event_ids:
        transaction.on_commit(lambda: _enqueue_fold(workspace_id))
    else:
        transaction.on_commit(lambda: rollups_fold_soon(workspace_id))


def _enqueue_fold(workspace_id: int) -> None:
    from openprm.activity.tasks import fold_rollups

    fold_rollups(workspace_id)


def rollups_fold_soon(workspace_id: int) -> None:
    """Schedule a fold ``FOLD_DELAY`` seconds from now unless this process already has one pending."""
    from openprm.activity.tasks import fold_rollups

    if fold_rollups.huey.immediate:  # no worker: fold now
        fold_rollups(workspace_id)
        return
    now = time.monotonic()
    if now - _fold_scheduled.get(workspace_id, -FOLD_DELAY) < FOLD_DELAY:
        return  # the fold scheduled earlier will take this one too
    _fold_scheduled[workspace_id] = now
    fold_rollups.schedule(args=(workspace_id,), delay=FOLD_DELAY)


def rollups_fold(*, workspace_id: int, batches: int = 10) -> int:
    """Add the deltas of queued batches to the rollups, ``batches`` at a time until none is left;
    returns how many were applied. Concurrent folds take disjoint batches (PostgreSQL: SKIP LOCKED)."""
    applied = 0
    kinds = workspace_kinds(workspace_id)
    while True:
        with transaction.atomic(), unscoped():
            _lock(workspace_id)
            pending = RollupPending.objects.filter(workspace_id=workspace_id).order_by("pk")
            if connection.vendor == "postgresql":
                pending = pending.select_for_update(skip_locked=True)
            rows = list(pending[:batches])
            if not rows:
                break
            ranges = Q()
            for row in rows:
                for first, last in row.event_ranges:
                    ranges |= Q(pk__gte=first, pk__lte=last)
            sums: Sums = defaultdict(Decimal)
            gauges: dict[Cell, Decimal] = {}
            dirty: dict[int, datetime.date] = {}
            if ranges:
                events = (
                    Event.objects.filter(ranges, workspace_id=workspace_id)
                    .order_by()
                    .values_list("partner_id", "type", "occurred_at", "direction", "value", "properties")
                )
                sums, gauges, dirty = event_deltas(events.iterator(chunk_size=10_000), kinds)
            click_ids = [pk for row in rows for pk in row.click_ids]
            for start in range(0, len(click_ids), 5_000):
                clicks = Click.objects.filter(
                    workspace_id=workspace_id, pk__in=click_ids[start : start + 5_000]
                )
                _add(sums, click_deltas(clicks.values_list("partner_id", "clicked_at")))
            rollups_add(workspace_id=workspace_id, sums=sums, gauges=gauges, dirty=dirty)
            RollupPending.objects.filter(pk__in=[r.pk for r in rows]).delete()
            applied += len(rows)
    if applied:
        rollups_filled(workspace_id=workspace_id)
    return applied


def click_deltas(rows: Iterable[tuple[int, datetime.datetime]]) -> Sums:
    """(partner_id, clicked_at) of new clicks → ``clicks`` per partner and day."""
    sums: Sums = defaultdict(Decimal)
    for partner_id, at in rows:
        sums[(partner_id, _day(at), "clicks")] += 1
    return sums


def conversion_deltas(
    rows: Iterable[tuple[int | None, str, datetime.datetime, Decimal, str]], *, sign: int = 1
) -> Sums:
    """(partner_id, kind, occurred_at, amount, status) of conversions → counts and amounts.

    Only attributed, accepted conversions count; ``sign=-1`` takes one back (a status change)."""
    sums: Sums = defaultdict(Decimal)
    for partner_id, kind, occurred_at, amount, status in rows:
        if partner_id is None or status != Conversion.Status.ACCEPTED:
            continue
        day = _day(occurred_at)
        sums[(partner_id, day, f"conversions.{kind}")] += sign
        sums[(partner_id, day, f"conversions.{kind}.amount")] += sign * Decimal(amount)
    return sums


def _touch(workspace_id: int, **fields: Any) -> None:
    with unscoped():
        state, _ = RollupState.objects.get_or_create(workspace_id=workspace_id)
        for name, value in fields.items():
            setattr(state, name, value)
        state.save()


def rollups_filled(*, workspace_id: int) -> None:
    """Record that an incremental update happened (shown as the rollups' freshness)."""
    with unscoped():
        updated = RollupState.objects.filter(workspace_id=workspace_id).update(filled_at=timezone.now())
    if not updated:
        _touch(workspace_id, filled_at=timezone.now())


# --- paired metrics ------------------------------------------------------------------------------------


def _repair(workspace_id: int, since_by_partner: Mapping[int, datetime.date]) -> None:
    """Recompute the paired intervals and metrics of these partners from the earliest ``since`` on.

    Reads each partner's whole message, ticket and deliverable history (a pairing may reach far back):
    the job worker's work, a few hundred partners per query, never a page's."""
    if not since_by_partner:
        return
    since = min(since_by_partner.values())
    partner_ids = sorted(since_by_partner)
    kinds = workspace_kinds(workspace_id)
    types = sorted({k for k, kind in kinds.items() if kind.contact} | PAIRED_TYPES)
    items: dict[int, list[pairing.Item]] = defaultdict(list)
    with unscoped():
        rows = Event.objects.filter(workspace_id=workspace_id, partner_id__in=partner_ids, type__in=types)
        for partner_id, type_key, occurred_at, direction, properties in rows.order_by().values_list(
            "partner_id", "type", "occurred_at", "direction", "properties"
        ):
            kind = kinds.get(type_key)
            props = properties or {}
            items[partner_id].append(
                pairing.Item(
                    type=type_key,
                    at=occurred_at,
                    direction=direction or (kind.direction if kind else ""),
                    ref=str(props.get("ticket_id") or props.get("deliverable_id") or ""),
                )
            )
        PairedInterval.objects.filter(
            workspace_id=workspace_id, partner_id__in=partner_ids, day__gte=since
        ).delete()
        PartnerDayMetric.objects.filter(
            Q(metric__startswith="reply.")
            | Q(metric__startswith="ticket.")
            | Q(metric__startswith="deliverable."),
            workspace_id=workspace_id,
            partner_id__in=partner_ids,
            day__gte=since,
        ).delete()
        intervals: list[PairedInterval] = []
        cells: dict[Cell, Decimal] = {}
        for partner_id in partner_ids:
            found = [i for i in pairing.pair(items.get(partner_id, [])) if _day(i.end) >= since]
            intervals += [
                PairedInterval(
                    workspace_id=workspace_id,
                    partner_id=partner_id,
                    kind=i.kind,
                    day=_day(i.end),
                    seconds=i.seconds,
                )
                for i in found
            ]
            cells.update(pairing.interval_metrics(partner_id, found))
        PairedInterval.objects.bulk_create(intervals, batch_size=5_000)
    _upsert(workspace_id, cells, gauge=False)


def rollups_refresh_pairs(*, workspace_id: int, chunk: int = 500) -> int:
    """Recompute the paired metrics of the workspace's dirty partners; returns how many were done.

    The dirty marks are locked while their partners are recomputed: a fold that marks one of them again
    waits and marks it anew, so nothing that arrives meanwhile is missed."""
    done = 0
    while True:
        with transaction.atomic(), unscoped():
            marks = RollupDirty.objects.filter(workspace_id=workspace_id).order_by("partner_id")
            if connection.vendor == "postgresql":
                marks = marks.select_for_update(skip_locked=True)
            batch = list(marks[:chunk])
            if not batch:
                break
            _repair(workspace_id, {m.partner_id: m.since for m in batch})
            RollupDirty.objects.filter(pk__in=[m.pk for m in batch]).delete()
        done += len(batch)
    if done:
        _touch(workspace_id, responses_at=timezone.now())
    return done


# --- rebuild ---------------------------------------------------------------------------------------------


def rollups_rebuild(*, workspace_id: int, chunk: int = 20_000) -> int:
    """Recompute every rollup of the workspace from the raw rows, in one transaction; returns the cells."""
    _touch(workspace_id, status=RollupState.Status.REBUILDING)
    kinds = workspace_kinds(workspace_id)
    sums: Sums = defaultdict(Decimal)
    gauges: dict[Cell, Decimal] = {}
    dirty: dict[int, datetime.date] = {}
    outermost = not connection.in_atomic_block
    with transaction.atomic(), unscoped():
        if outermost and connection.vendor == "postgresql":  # one snapshot: scans and queue deletion
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _lock(workspace_id, exclusive=True)  # no fold or direct delta meanwhile
        PartnerDayMetric.objects.filter(workspace_id=workspace_id).delete()
        PairedInterval.objects.filter(workspace_id=workspace_id).delete()
        RollupDirty.objects.filter(workspace_id=workspace_id).delete()
        RollupPending.objects.filter(workspace_id=workspace_id).delete()  # their events are counted below
        events = (
            Event.objects.filter(workspace_id=workspace_id)
            .order_by()
            .values_list("partner_id", "type", "occurred_at", "direction", "value", "properties")
        )
        batch: list[Any] = []
        for row in events.iterator(chunk_size=chunk):
            batch.append(row)
            if len(batch) >= chunk:
                _merge(sums, gauges, dirty, event_deltas(batch, kinds))
                batch.clear()
        _merge(sums, gauges, dirty, event_deltas(batch, kinds))
        clicks = (
            Click.objects.filter(workspace_id=workspace_id).order_by().values_list("partner_id", "clicked_at")
        )
        _add(sums, click_deltas(clicks.iterator(chunk_size=chunk)))
        conversions = (
            Conversion.objects.filter(workspace_id=workspace_id)
            .order_by()
            .values_list("partner_id", "kind", "occurred_at", "amount", "status")
        )
        _add(sums, conversion_deltas(conversions.iterator(chunk_size=chunk)))
        rollups_add(workspace_id=workspace_id, sums=sums, gauges=gauges)
        partners = sorted(dirty.items())
        for start in range(0, len(partners), 500):
            _repair(workspace_id, dict(partners[start : start + 500]))
    now = timezone.now()
    _touch(workspace_id, status=RollupState.Status.READY, rebuilt_at=now, filled_at=now, responses_at=now)
    with unscoped():
        return PartnerDayMetric.objects.filter(workspace_id=workspace_id).count()


def _merge(
    sums: Sums,
    gauges: dict[Cell, Decimal],
    dirty: dict[int, datetime.date],
    found: tuple[Sums, dict[Cell, Decimal], dict[int, datetime.date]],
) -> None:
    more_sums, more_gauges, more_dirty = found
    _add(sums, more_sums)
    for cell, value in more_gauges.items():
        gauges[cell] = max(gauges.get(cell, value), value)
    for partner_id, day in more_dirty.items():
        if partner_id not in dirty or day < dirty[partner_id]:
            dirty[partner_id] = day


def _add(sums: Sums, more: Mapping[Cell, Decimal]) -> None:
    for cell, value in more.items():
        sums[cell] += value


def rollup_cells(*, workspace_id: int) -> dict[Cell, Decimal]:
    """Every non-zero cell of the workspace (for comparing increments with a rebuild)."""
    with unscoped():
        rows = PartnerDayMetric.objects.filter(workspace_id=workspace_id).values_list(
            "partner_id", "day", "metric", "value"
        )
        return {(p, d, m): v for p, d, m, v in rows if v}
