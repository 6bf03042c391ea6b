"""Paired metrics: reply times, ticket resolutions and on-time deliveries depend on the order of events,
not on their sum, so partners whose paired events changed are marked dirty (from the earliest day
touched) and recomputed from there by the job worker after the fold (``rollups_refresh_pairs``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from openprm.activity import pairing
from openprm.activity.catalog import EventKind
from openprm.activity.models import Event, PairedInterval, PartnerDayMetric, RollupDirty
from openprm.activity.rollups.deltas import PAIRED_TYPES, Cell, day_of, workspace_kinds
from openprm.activity.rollups.store import converter, pg_array, reading_cursor, touch, upsert
from openprm.core.tasks import workspace_scope


def _json_text(name: str) -> str:
    """SQL for the text of a top-level property (NULL when missing) on this database."""
    if connection.vendor == "postgresql":
        return f"properties ->> '{name}'"
    return f"json_extract(properties, '$.{name}')"


def _paired_items(
    workspace_id: int, partner_ids: Sequence[int], kinds: Mapping[str, EventKind]
) -> dict[int, list[pairing.Item]]:
    """The partners' events that pair, as ``pairing.Item``: one raw query reading only what pairing
    needs (properties only of the types whose ticket/deliverable id pairs them; of messages, their
    ``thread_id`` and ``in_reply_to``)."""
    types = sorted({k for k, kind in kinds.items() if kind.contact} | PAIRED_TYPES)
    with_ref = [t for t in types if t.startswith(pairing.REF_PREFIXES)]
    implied = {k: kind.direction for k, kind in kinds.items()}

    def marks(values: Sequence[object]) -> str:
        return ", ".join(["%s"] * len(values))

    query = (
        "SELECT partner_id, type, occurred_at, direction, "  # noqa: S608
        f"CASE WHEN type IN ({marks(with_ref)}) THEN properties END, event_id, "
        f"{_json_text('thread_id')}, {_json_text('in_reply_to')} "
        f"FROM {connection.ops.quote_name(Event._meta.db_table)} WHERE workspace_id = %s "
        f"AND partner_id IN ({marks(partner_ids)}) AND type IN ({marks(types)})"
    )
    at_of = converter(Event, "occurred_at")
    properties_of = converter(Event, "properties")
    items: dict[int, list[pairing.Item]] = defaultdict(list)
    with reading_cursor() as cursor:
        cursor.execute(query, [*with_ref, workspace_id, *partner_ids, *types])
        while rows := cursor.fetchmany(10_000):
            for partner_id, type_key, at, direction, properties, event_id, thread, reply_to in rows:
                ref = ""
                if properties is not None:
                    props = (properties_of(properties) if properties_of else properties) or {}
                    ref = str(props.get("ticket_id") or props.get("deliverable_id") or "")
                items[partner_id].append(
                    pairing.Item(
                        type=type_key,
                        at=at_of(at) if at_of else at,
                        direction=direction or implied.get(type_key, ""),
                        ref=ref,
                        event_id=event_id,
                        thread="" if thread is None else str(thread),
                        reply_to="" if reply_to is None else str(reply_to),
                    )
                )
    return items


def _insert_intervals(workspace_id: int, rows: Sequence[tuple[int, str, datetime.date, int]]) -> None:
    """Store (partner_id, kind, day, seconds) intervals: arrays on PostgreSQL, ``executemany`` on SQLite."""
    if not rows:
        return
    table = connection.ops.quote_name(PairedInterval._meta.db_table)
    columns = "(workspace_id, partner_id, kind, day, seconds)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            partners, kinds, days, seconds = zip(*rows, strict=True)
            names = sorted(set(kinds))
            position = {name: i for i, name in enumerate(names, 1)}
            cursor.execute(
                f"INSERT INTO {table} {columns} SELECT %s, p, (%s::text[])[k], d, s "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::int[], %s::date[], %s::bigint[]) AS interval(p, k, d, s)",
                [
                    workspace_id,
                    names,
                    pg_array(partners),
                    pg_array(map(position.__getitem__, kinds)),
                    pg_array(days),
                    pg_array(seconds),
                ],
            )
            return
        adapt_day = connection.ops.adapt_datefield_value
        cursor.executemany(
            f"INSERT INTO {table} {columns} VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
            [[workspace_id, p, k, adapt_day(d), s] for p, k, d, s in rows],
        )


def repair(
    workspace_id: int,
    since_by_partner: Mapping[int, datetime.date],
    kinds: Mapping[str, EventKind] | None = None,
) -> None:
    """Recompute the paired intervals and metrics of these partners from the earliest ``since`` on.

    Reads each partner's whole message, ticket and deliverable history (a pairing may reach far back):
    the job worker's work, up to a thousand partners per query, never a page's."""
    if not since_by_partner:
        return
    since = min(since_by_partner.values())
    partner_ids = sorted(since_by_partner)
    items = _paired_items(workspace_id, partner_ids, kinds or workspace_kinds(workspace_id))
    with workspace_scope(workspace_id):
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
    intervals: list[tuple[int, str, datetime.date, int]] = []
    cells: dict[Cell, Decimal] = {}
    for partner_id in partner_ids:
        found = [i for i in pairing.pair(items.get(partner_id, [])) if day_of(i.end) >= since]
        intervals += [(partner_id, i.kind, day_of(i.end), i.seconds) for i in found]
        cells.update(pairing.interval_metrics(partner_id, found))
    _insert_intervals(workspace_id, intervals)
    upsert(workspace_id, cells, gauge=False)


def rollups_refresh_pairs(*, workspace_id: int, chunk: int = 1_000) -> int:
    """Recompute the paired metrics of the workspace's dirty partners; returns how many were done.

    The dirty marks are locked while their partners are recomputed: a fold that marks one of them again
    waits and marks it anew, so nothing that arrives meanwhile is missed."""
    done = 0
    kinds = workspace_kinds(workspace_id)
    while True:
        with transaction.atomic(), workspace_scope(workspace_id):
            marks = RollupDirty.objects.filter(workspace_id=workspace_id).order_by("partner_id")
            if connection.vendor == "postgresql":
                marks = marks.select_for_update(skip_locked=True)
            batch = list(marks[:chunk])
            if not batch:
                break
            repair(workspace_id, {m.partner_id: m.since for m in batch}, kinds)
            RollupDirty.objects.filter(pk__in=[m.pk for m in batch]).delete()
        done += len(batch)
    if done:
        touch(workspace_id, responses_at=timezone.now())
    return done
