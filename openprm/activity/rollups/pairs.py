"""Paired metrics: reply times, ticket resolutions and on-time deliveries depend on the order of events,
not on their sum, so partners whose paired events changed are marked dirty (from the earliest day
touched) and recomputed from there by the job worker after the fold (``rollups_refresh_pairs``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from openprm.activity import pairing
from openprm.activity.catalog import EventKind
from openprm.activity.models import Event, PairedInterval, RollupDirty
from openprm.activity.rollups import columns, months
from openprm.activity.rollups.deltas import PAIRED_TYPES, Cell, day_of, workspace_kinds
from openprm.activity.rollups.store import converter, reading_cursor, touch, upsert
from openprm.core.tasks import workspace_scope


def _json_text(name: str) -> str:
    """SQL for the text of a top-level property (NULL when missing) on this database."""
    if connection.vendor == "postgresql":
        return f"properties ->> '{name}'"
    return f"json_extract(properties, '$.{name}')"


def _json_type(name: str) -> str:
    """SQL for the JSON type of a top-level property ('string' for text on both databases; 'null' or
    NULL when null or missing)."""
    if connection.vendor == "postgresql":
        return f"jsonb_typeof(properties -> '{name}')"
    return f"replace(json_type(properties, '$.{name}'), 'text', 'string')"


def _ref_sql() -> str:
    """SQL for an item's ``ref`` where the database can tell it exactly — what ``_items`` would make of
    the properties (``ticket_id``, else ``deliverable_id``, else ""): a non-empty text ``ticket_id``; a
    non-empty text ``deliverable_id`` without a ``ticket_id``; "" without either. NULL otherwise (a
    number, a boolean, an empty text …): then the properties are read and Python decides."""
    ticket, deliverable = _json_type("ticket_id"), _json_type("deliverable_id")
    return (
        f"CASE WHEN {ticket} = 'string' AND {_json_text('ticket_id')} <> '' THEN {_json_text('ticket_id')} "
        f"WHEN COALESCE({ticket}, 'null') = 'null' AND {deliverable} = 'string' "
        f"AND {_json_text('deliverable_id')} <> '' THEN {_json_text('deliverable_id')} "
        f"WHEN COALESCE({ticket}, 'null') = 'null' AND COALESCE({deliverable}, 'null') = 'null' THEN '' END"
    )


def paired_types(kinds: Mapping[str, EventKind]) -> tuple[list[str], list[str]]:
    """The types whose events pair (the contact types and ``PAIRED_TYPES``), sorted, and those of them
    whose ticket or deliverable id pairs them (their ``ref``, see ``_ref_sql``)."""
    types = sorted({k for k, kind in kinds.items() if kind.contact} | PAIRED_TYPES)
    return types, [t for t in types if t.startswith(pairing.REF_PREFIXES)]


def _paired_query(
    workspace_id: int,
    kinds: Mapping[str, EventKind],
    partner_ids: Sequence[int] | None,
    *,
    ordered: bool = False,
) -> tuple[str, list[object]]:
    """One raw query reading only what pairing needs of the events that pair (of the types whose ticket or
    deliverable id pairs them, the ref — and the properties only where the database cannot tell the ref,
    see ``_ref_sql``; of messages, their ``thread_id`` and ``in_reply_to``): of the given partners, or of
    all; sorted by partner (for streaming) when ``ordered`` or of all."""
    types, with_ref = paired_types(kinds)

    def marks(values: Sequence[object]) -> str:
        return ", ".join(["%s"] * len(values))

    # PostgreSQL: the time as microseconds since the epoch (an int; parsing timestamps costs more)
    at = (
        "CAST(EXTRACT(EPOCH FROM occurred_at) * 1000000 AS bigint)"
        if connection.vendor == "postgresql"
        else "occurred_at"
    )
    inner = (
        f"SELECT partner_id, type, {at} AS at, direction, "  # noqa: S608
        f"CASE WHEN type IN ({marks(with_ref)}) THEN {_ref_sql()} END AS ref, "
        f"type IN ({marks(with_ref)}) AS with_ref, properties, event_id, "
        f"{_json_text('thread_id')} AS thread, {_json_text('in_reply_to')} AS reply_to "
        f"FROM {connection.ops.quote_name(Event._meta.db_table)} WHERE workspace_id = %s "
        f"AND type IN ({marks(types)})"
    )
    params: list[object] = [*with_ref, *with_ref, workspace_id, *types]
    if partner_ids is not None:
        inner += f" AND partner_id IN ({marks(partner_ids)})"
        params += partner_ids
    query = (
        "SELECT partner_id, type, at, direction, ref, "  # noqa: S608
        "CASE WHEN with_ref AND ref IS NULL THEN properties END, "
        f"event_id, thread, reply_to FROM ({inner}) AS e"
    )
    if partner_ids is None or ordered:
        query += " ORDER BY partner_id"
    return query, params


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def _from_epoch(microseconds: Any) -> datetime.datetime:
    return _EPOCH + microseconds * _MICROSECOND


def _items(
    workspace_id: int,
    kinds: Mapping[str, EventKind],
    partner_ids: Sequence[int] | None,
    *,
    ordered: bool = False,
) -> Iterator[tuple[int, pairing.Item]]:
    """(partner_id, item) of the partners' events that pair (see ``_paired_query``)."""
    implied = {k: kind.direction for k, kind in kinds.items()}
    at_of = _from_epoch if connection.vendor == "postgresql" else converter(Event, "occurred_at")

    properties_of = converter(Event, "properties")
    query, params = _paired_query(workspace_id, kinds, partner_ids, ordered=ordered)
    with reading_cursor() as cursor:
        cursor.execute(query, params)
        while rows := cursor.fetchmany(20_000):
            for partner_id, type_key, at, direction, ref, properties, event_id, thread, reply_to in rows:
                if ref is None:
                    ref = ""
                    if properties is not None:
                        props = (properties_of(properties) if properties_of else properties) or {}
                        ref = str(props.get("ticket_id") or props.get("deliverable_id") or "")
                yield (
                    partner_id,
                    pairing.Item(
                        type=type_key,
                        at=at_of(at) if at_of else at,
                        direction=direction or implied.get(type_key, ""),
                        ref=ref,
                        event_id=event_id,
                        thread="" if thread is None else str(thread),
                        reply_to="" if reply_to is None else str(reply_to),
                    ),
                )


def _paired_items(
    workspace_id: int, partner_ids: Sequence[int], kinds: Mapping[str, EventKind]
) -> dict[int, list[pairing.Item]]:
    """The partners' events that pair, as ``pairing.Item``, per partner."""
    items: dict[int, list[pairing.Item]] = defaultdict(list)
    for partner_id, item in _items(workspace_id, kinds, partner_ids):
        items[partner_id].append(item)
    return items


def _append(table: str, names: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Append rows of ints, dates, None and strings without tabs, backslashes or line breaks to a table:
    ``COPY`` of text built by one ``join`` per chunk on PostgreSQL (no per-value adaptation), one
    ``executemany`` on SQLite (dates as ISO text, as Django stores them)."""
    if not rows:
        return
    target = f"{table} ({', '.join(names)})"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for start in range(0, len(rows), 10_000):
                    copy.write(
                        "".join(
                            "\t".join(["\\N" if value is None else str(value) for value in row]) + "\n"
                            for row in rows[start : start + 10_000]
                        )
                    )
            return
        params: list[list[Any]] = [
            [value.isoformat() if isinstance(value, datetime.date) else value for value in row]
            for row in rows
        ]
        cursor.executemany(f"INSERT INTO {target} VALUES ({', '.join(['%s'] * len(names))})", params)  # noqa: S608


def _insert_intervals(workspace_id: int, rows: Sequence[tuple[int, str, datetime.date, int]]) -> None:
    """Store (partner_id, kind, day, seconds) intervals."""
    _append(
        connection.ops.quote_name(PairedInterval._meta.db_table),
        ["workspace_id", "partner_id", "kind", "day", "seconds"],
        [(workspace_id, *row) for row in rows],
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
    months.lock_partners(workspace_id, partner_ids)  # before their days change (see ``months``)
    with workspace_scope(workspace_id):
        PairedInterval.objects.filter(
            workspace_id=workspace_id, partner_id__in=partner_ids, day__gte=since
        ).delete()
    _clear_paired(workspace_id, partner_ids, since)
    intervals: list[tuple[int, str, datetime.date, int]] = []
    cells: dict[Cell, Decimal] = {}
    for partner_id in partner_ids:
        found = [i for i in pairing.pair(items.get(partner_id, [])) if day_of(i.end) >= since]
        intervals += [(partner_id, i.kind, day_of(i.end), i.seconds) for i in found]
        cells.update(pairing.interval_metrics(partner_id, found))
    _insert_intervals(workspace_id, intervals)
    upsert(workspace_id, cells, gauge=False, refresh_months=False)
    months.months_refresh_since(workspace_id, partner_ids, since)  # the cleared months too


def _clear_paired(workspace_id: int, partner_ids: Sequence[int], since: datetime.date) -> None:
    """Set the paired figures of these partners to nothing from ``since`` on (before they are re-added)."""
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(partner_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(columns.TABLE)} SET "  # noqa: S608
            + ", ".join(f"{c} = NULL" for c in columns.PAIRED_COLUMNS)
            + f" WHERE workspace_id = %s AND partner_id IN ({marks}) AND day >= %s",
            [workspace_id, *partner_ids, connection.ops.adapt_datefield_value(since)],
        )


_FIGURE_AT = {columns.METRIC_OF[c]: i for i, c in enumerate(columns.PAIRED_COLUMNS, 2)}


def _figure_rows(cells: Mapping[Cell, Decimal]) -> list[list[object]]:
    """Paired cells as rows of (partner_id, day, *``columns.PAIRED_COLUMNS``), zeros as NULL (a cell of
    another metric raises ``KeyError``)."""
    rows: dict[tuple[int, datetime.date], list[object]] = {}
    width = 2 + len(columns.PAIRED_COLUMNS)
    for (partner_id, day, metric), value in cells.items():
        if not value:
            continue
        row = rows.get((partner_id, day))
        if row is None:
            row = rows[(partner_id, day)] = [partner_id, day, *[None] * (width - 2)]
        row[_FIGURE_AT[metric]] = int(value)
    return [rows[key] for key in sorted(rows)]


def rebuild_pairs(
    workspace_id: int,
    kinds: Mapping[str, EventKind],
    *,
    into: str,
    partner_ids: Sequence[int] | None = None,
    flush: int = 100_000,
) -> None:
    """The paired intervals and figures of every partner (or of these), for a rebuild: the events that
    pair stream past once, sorted by partner, each partner's paired when the next begins; the intervals
    are appended to the workspace's (emptied) ``PairedInterval`` rows, the figures to the table ``into`` —
    one row per partner and day: (partner_id, day, *``columns.PAIRED_COLUMNS``) — every ``flush``
    intervals (memory stays bounded). The rebuild then writes the figures into ``PartnerDay`` with the
    rest of each row. (PostgreSQL pairs most partners in SQL instead: ``pairs_sql``.)"""
    if partner_ids is not None and not partner_ids:
        return
    intervals: list[tuple[int, str, datetime.date, int]] = []
    cells: dict[Cell, Decimal] = {}

    def done(partner_id: int, items: list[pairing.Item]) -> None:
        found = pairing.pair(items)
        intervals.extend((partner_id, i.kind, day_of(i.end), i.seconds) for i in found)
        cells.update(pairing.interval_metrics(partner_id, found))

    def write() -> None:
        _insert_intervals(workspace_id, intervals)
        _append(into, ["partner_id", "day", *columns.PAIRED_COLUMNS], _figure_rows(cells))
        intervals.clear()
        cells.clear()

    current: int | None = None
    items: list[pairing.Item] = []
    for partner_id, item in _items(workspace_id, kinds, partner_ids, ordered=True):
        if partner_id != current:
            if current is not None:
                done(current, items)
                if len(intervals) >= flush:
                    write()
            current, items = partner_id, []
        items.append(item)
    if current is not None:
        done(current, items)
    write()


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
