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
from collections import defaultdict
from collections.abc import Iterable, Mapping
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
    for partner_id, type_key, occurred_at, direction, value, properties in rows:
        day = _day(occurred_at)
        sums[(partner_id, day, f"events.{type_key}")] += 1
        if value is not None:
            sums[(partner_id, day, f"value.{type_key}")] += Decimal(value)
        kind = kinds.get(type_key)
        paired = type_key in PAIRED_TYPES
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
    if not cells:
        return
    quote = connection.ops.quote_name
    table = quote(PartnerDayMetric._meta.db_table)
    update = (
        f"CASE WHEN excluded.value > {table}.value THEN excluded.value ELSE {table}.value END"
        if gauge
        else f"{table}.value + excluded.value"
    )
    query = (
        f"INSERT INTO {table} (workspace_id, partner_id, day, metric, value) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT (workspace_id, partner_id, metric, day) DO UPDATE SET value = {update}"
    )
    adapt_day = connection.ops.adapt_datefield_value
    adapt_number = connection.ops.adapt_decimalfield_value
    params = [  # a fixed order, so concurrent batches lock the same rows in the same order
        [workspace_id, partner_id, adapt_day(day), metric, adapt_number(value, 24, 4)]
        for (partner_id, day, metric), value in sorted(cells.items())
    ]
    with connection.cursor() as cursor:
        cursor.executemany(query, params)


def rollups_add(
    *,
    workspace_id: int,
    sums: Mapping[Cell, Decimal | int] | None = None,
    gauges: Mapping[Cell, Decimal] | None = None,
    dirty: Mapping[int, datetime.date] | None = None,
) -> None:
    """Add deltas to the rollups (inside the caller's transaction) and mark partners for re-pairing."""
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


def _pair_events(workspace_id: int, partner_id: int) -> list[pairing.Item]:
    """The partner's messages, tickets and deliverables: the whole history, as a pairing may reach far
    back (the job worker does this, a partner at a time, never a page)."""
    kinds = workspace_kinds(workspace_id)
    contact_types = [k for k, kind in kinds.items() if kind.contact]
    with unscoped():
        rows = Event.objects.filter(
            workspace_id=workspace_id, partner_id=partner_id, type__in=[*contact_types, *sorted(PAIRED_TYPES)]
        ).values_list("type", "occurred_at", "direction", "properties")
    items = []
    for type_key, occurred_at, direction, properties in rows:
        kind = kinds.get(type_key)
        items.append(
            pairing.Item(
                type=type_key,
                at=occurred_at,
                direction=direction or (kind.direction if kind else ""),
                ref=str(
                    (properties or {}).get("ticket_id") or (properties or {}).get("deliverable_id") or ""
                ),
            )
        )
    return items


def _repair_partner(workspace_id: int, partner_id: int, since: datetime.date) -> None:
    intervals = [i for i in pairing.pair(_pair_events(workspace_id, partner_id)) if _day(i.end) >= since]
    with unscoped():
        PairedInterval.objects.filter(
            workspace_id=workspace_id, partner_id=partner_id, day__gte=since
        ).delete()
        PartnerDayMetric.objects.filter(
            Q(metric__startswith="reply.")
            | Q(metric__startswith="ticket.")
            | Q(metric__startswith="deliverable."),
            workspace_id=workspace_id,
            partner_id=partner_id,
            day__gte=since,
        ).delete()
        PairedInterval.objects.bulk_create(
            PairedInterval(
                workspace_id=workspace_id,
                partner_id=partner_id,
                kind=i.kind,
                day=_day(i.end),
                seconds=i.seconds,
            )
            for i in intervals
        )
    _upsert(workspace_id, pairing.interval_metrics(partner_id, intervals), gauge=False)


def rollups_refresh_pairs(*, workspace_id: int, limit: int | None = None) -> int:
    """Recompute the paired metrics of the workspace's dirty partners; returns how many were done."""
    done = 0
    with unscoped():
        dirty = list(RollupDirty.objects.filter(workspace_id=workspace_id).order_by("partner_id")[:limit])
    for entry in dirty:
        with transaction.atomic(), unscoped():
            current = RollupDirty.objects.select_for_update().filter(pk=entry.pk).first()
            if current is None:
                continue
            _repair_partner(workspace_id, current.partner_id, current.since)
            current.delete()
        done += 1
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
    with transaction.atomic(), unscoped():
        PartnerDayMetric.objects.filter(workspace_id=workspace_id).delete()
        PairedInterval.objects.filter(workspace_id=workspace_id).delete()
        RollupDirty.objects.filter(workspace_id=workspace_id).delete()
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
        for partner_id, since in sorted(dirty.items()):
            _repair_partner(workspace_id, partner_id, since)
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
