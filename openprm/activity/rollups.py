"""Per-partner daily rollups: ``PartnerDayMetric`` (workspace, partner, day, metric) → value.

Every write that feeds a metric gets its delta counted exactly once: a stored event batch or click queues
a ``RollupPending`` row that the job worker folds in (``rollups_fold``: the deltas of many batches summed
together, one upsert per cell), a conversion adds its delta in its own transaction (``rollups_add``).
Metrics that pair events with each other — reply times, ticket resolution times, on-time campaign
deliveries — depend on the order of events, not just on their sum, so events that pair mark their
partners *dirty* from the earliest day they touched and ``rollups_refresh_pairs`` (run by the job worker
right after the fold) recomputes them from there; other events leave the paired metrics alone.
``rollups_rebuild`` recomputes everything from the raw rows; it gives the same table as the increments.

Metric names (days are UTC):

* ``events.<type>`` — number of events of the type; ``value.<type>`` — sum of their values;
* ``contact``, ``contact.inbound``, ``contact.outbound`` — communication events (``catalog`` ``contact``);
* ``content.reach`` / ``content.impressions`` / ``content.engagements`` — sums over content posts;
  ``content.followers`` — the largest audience reported that day (a gauge: max, not sum);
* ``clicks``; ``conversions.<kind>`` and ``conversions.<kind>.amount`` (accepted conversions only);
* paired: ``reply.partner.count`` / ``.seconds`` (the partner answering us), ``reply.vendor.*`` (us
  answering the partner; paired within a conversation, see ``pairing``), ``ticket.resolved.count`` /
  ``.seconds``, ``deliverable.on_time`` / ``deliverable.late`` — on the day the pair completed; the
  individual intervals are kept in ``PairedInterval`` for exact medians.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, Min, Q
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
from openprm.core.health import QueueState
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


Number = int | Decimal
Counts = defaultdict[Cell, Number]  # counts stay ints while they are summed (cheaper than Decimal)
DayRow = tuple[int, str, datetime.date, str, Decimal | None, Mapping[str, Any] | None]
_Handler = tuple[str, str, bool, str, bool, bool]  # names, contact, implied direction, paired, content


def _handler(type_key: str, kinds: Mapping[str, EventKind]) -> _Handler:
    """What an event of the type adds to: resolved once per type, not once per event."""
    kind = kinds.get(type_key)
    return (
        f"events.{type_key}",
        f"value.{type_key}",
        bool(kind and kind.contact),
        kind.direction if kind else "",
        type_key in PAIRED_TYPES,
        type_key == "content_post",
    )


def day_deltas(
    rows: Iterable[DayRow],
    kinds: Mapping[str, EventKind],
    sums: Counts,
    gauges: dict[Cell, Decimal],
    dirty: dict[int, datetime.date],
) -> None:
    """Add the deltas of events given with their UTC day — (partner_id, type, day, direction, value,
    properties) — to ``sums``, ``gauges`` and ``dirty`` (partner → earliest day to re-pair).

    Partners are marked dirty only by events that pair (directed messages, tickets, deliverables)."""
    handlers: dict[str, _Handler] = {}
    for partner_id, type_key, day, direction, value, properties in rows:
        handler = handlers.get(type_key)
        if handler is None:
            handler = handlers[type_key] = _handler(type_key, kinds)
        count_name, value_name, contact, implied, paired, content = handler
        sums[(partner_id, day, count_name)] += 1
        if value is not None:
            sums[(partner_id, day, value_name)] += value
        if contact:
            sums[(partner_id, day, "contact")] += 1
            if direction := direction or implied:
                sums[(partner_id, day, f"contact.{direction}")] += 1
                paired = True
        if content and properties:
            for name in CONTENT_PROPERTIES:
                number = _number(properties.get(name))
                if number is None:
                    continue
                cell = (partner_id, day, f"content.{name}")
                if f"content.{name}" in GAUGES:
                    gauges[cell] = max(gauges.get(cell, number), number)
                else:
                    sums[cell] += number
        if paired:
            since = dirty.get(partner_id)
            if since is None or day < since:
                dirty[partner_id] = day


def event_deltas(
    rows: Iterable[tuple[int, str, datetime.datetime, str, Decimal | None, Mapping[str, Any]]],
    kinds: Mapping[str, EventKind],
) -> tuple[Sums, dict[Cell, Decimal], dict[int, datetime.date]]:
    """Additive deltas, gauge values and dirty partners (partner → earliest day) of new events.

    ``rows``: (partner_id, type, occurred_at, direction, value, properties) of events just stored.
    """
    counts: Counts = defaultdict(int)
    gauges: dict[Cell, Decimal] = {}
    dirty: dict[int, datetime.date] = {}
    day_deltas(
        ((p, t, _day(at), d, v, props) for p, t, at, d, v, props in rows), kinds, counts, gauges, dirty
    )
    return defaultdict(Decimal, {cell: Decimal(v) for cell, v in counts.items()}), gauges, dirty


def _converter(model: type[models.Model], name: str) -> Callable[[Any], Any] | None:
    """What the ORM does to a column's raw value on this database (None: nothing)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    column = field.get_col(model._meta.db_table)
    converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)  # as the ORM
    if not converters:
        return None

    def convert(value: Any) -> Any:
        for fn in converters:
            value = fn(value, column, connection)
        return value

    return convert


def _reading_cursor() -> Any:
    """A cursor for a long read: server-side on PostgreSQL (unless disabled), like ``.iterator()``."""
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return connection.cursor()
    return connection.chunked_cursor()


def _event_day_rows(
    workspace_id: int, ranges: Sequence[tuple[int, int]] | None = None, *, chunk: int = 10_000
) -> Iterator[DayRow]:
    """The workspace's events with ids in ``ranges`` (all of them when None) as ``day_deltas`` rows.

    One raw query per few hundred ranges that reads only what the deltas need: the UTC day computed by
    the database (SQLite stores naive UTC text), properties of content posts only, and the ORM's own
    conversions where this database needs any (decimals and JSON on SQLite)."""
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    day_sql = "(occurred_at AT TIME ZONE 'UTC')::date" if postgres else "substr(occurred_at, 1, 10)"
    base = (
        f"SELECT partner_id, type, {day_sql}, direction, value, "  # noqa: S608
        f"CASE WHEN type = %s THEN properties END FROM {quote(Event._meta.db_table)} WHERE workspace_id = %s"
    )
    value_of = _converter(Event, "value")
    properties_of = _converter(Event, "properties")
    days: dict[Any, datetime.date] = {}
    parts: list[Sequence[tuple[int, int]] | None] = (
        [None] if ranges is None else [ranges[i : i + 400] for i in range(0, len(ranges), 400)]
    )
    for part in parts:
        params: list[Any] = ["content_post", workspace_id]
        query = base
        if part is not None:
            query += " AND (" + " OR ".join(["id BETWEEN %s AND %s"] * len(part)) + ")"
            params += [pk for bounds in part for pk in bounds]
        with _reading_cursor() as cursor:
            cursor.execute(query, params)
            while rows := cursor.fetchmany(chunk):
                for partner_id, type_key, day, direction, value, properties in rows:
                    if not postgres:
                        day = days.get(day) or days.setdefault(day, datetime.date.fromisoformat(day))
                    if value is not None and value_of is not None:
                        value = value_of(value)
                    if properties is not None and properties_of is not None:
                        properties = properties_of(properties)
                    yield partner_id, type_key, day, direction, value, properties


def _pg_array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers or dates (their ``str`` is their input syntax): built by one
    ``join`` instead of psycopg adapting a list element by element."""
    return "{" + ",".join(map(str, values)) + "}"


def _upsert(workspace_id: int, cells: Mapping[Cell, Number], *, gauge: bool) -> None:
    """Add (or, for gauges, raise to) each cell's value; PostgreSQL takes the cells as arrays, many
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
    ordered = sorted(cells)  # a fixed order, so concurrent writers lock rows in the same order
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = sorted({metric for _, _, metric in cells})  # metrics by their position in names
            position = {name: i for i, name in enumerate(names, 1)}
            query = (
                f"INSERT INTO {table} (workspace_id, partner_id, day, metric, value) "  # noqa: S608
                "SELECT %s, p, d, (%s::text[])[m], v "
                "FROM unnest(%s::bigint[], %s::date[], %s::int[], %s::numeric[]) AS cell(p, d, m, v) "
                f"{conflict}"
            )
            for start in range(0, len(ordered), 50_000):
                part = ordered[start : start + 50_000]
                partners, days, metrics = zip(*part, strict=True)
                cursor.execute(
                    query,
                    [
                        workspace_id,
                        names,
                        _pg_array(partners),
                        _pg_array(days),
                        _pg_array(map(position.__getitem__, metrics)),
                        _pg_array(map(cells.__getitem__, part)),
                    ],
                )
            return
        adapt_number = connection.ops.adapt_decimalfield_value
        day_texts = {d: connection.ops.adapt_datefield_value(d) for d in {d for _, d, _ in cells}}
        rows: list[tuple[int, int, Any, str, Any]] = []
        for cell in ordered:
            number: Any = cells[cell]
            if type(number) is not int:  # counts go as they are, other numbers as Django writes decimals
                number = adapt_number(number, 24, 4)
            rows.append((workspace_id, cell[0], day_texts[cell[1]], cell[2], number))
        cursor.executemany(
            f"INSERT INTO {table} (workspace_id, partner_id, day, metric, value) "  # noqa: S608
            f"VALUES (%s, %s, %s, %s, %s) {conflict}",
            rows,
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
    _upsert(workspace_id, {cell: v for cell, v in (sums or {}).items() if v}, gauge=False)
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
        with transaction.atomic(), unscoped():
            _lock(workspace_id)
            taken = _take(workspace_id, events=events, batches=batches)
            if not taken:
                break
            ranges = [bounds for _, event_ranges, _ in taken for bounds in event_ranges]
            click_ids = [pk for _, _, clicks in taken for pk in clicks]
            sums: Counts = defaultdict(int)
            gauges: dict[Cell, Decimal] = {}
            dirty: dict[int, datetime.date] = {}
            if ranges:
                day_deltas(_event_day_rows(workspace_id, _merged(ranges)), kinds, sums, gauges, dirty)
            for start in range(0, len(click_ids), 5_000):
                clicks = Click.objects.filter(
                    workspace_id=workspace_id, pk__in=click_ids[start : start + 5_000]
                )
                _add(sums, click_deltas(clicks.values_list("partner_id", "clicked_at")))
            rollups_add(workspace_id=workspace_id, sums=sums, gauges=gauges, dirty=dirty)
            RollupPending.objects.filter(pk__in=[pk for pk, _, _ in taken]).delete()
            applied += len(taken)
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
    at_of = _converter(Event, "occurred_at")
    properties_of = _converter(Event, "properties")
    items: dict[int, list[pairing.Item]] = defaultdict(list)
    with _reading_cursor() as cursor:
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
                    _pg_array(partners),
                    _pg_array(map(position.__getitem__, kinds)),
                    _pg_array(days),
                    _pg_array(seconds),
                ],
            )
            return
        adapt_day = connection.ops.adapt_datefield_value
        cursor.executemany(
            f"INSERT INTO {table} {columns} VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
            [[workspace_id, p, k, adapt_day(d), s] for p, k, d, s in rows],
        )


def _repair(
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
    with unscoped():
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
        found = [i for i in pairing.pair(items.get(partner_id, [])) if _day(i.end) >= since]
        intervals += [(partner_id, i.kind, _day(i.end), i.seconds) for i in found]
        cells.update(pairing.interval_metrics(partner_id, found))
    _insert_intervals(workspace_id, intervals)
    _upsert(workspace_id, cells, gauge=False)


def rollups_refresh_pairs(*, workspace_id: int, chunk: int = 1_000) -> int:
    """Recompute the paired metrics of the workspace's dirty partners; returns how many were done.

    The dirty marks are locked while their partners are recomputed: a fold that marks one of them again
    waits and marks it anew, so nothing that arrives meanwhile is missed."""
    done = 0
    kinds = workspace_kinds(workspace_id)
    while True:
        with transaction.atomic(), unscoped():
            marks = RollupDirty.objects.filter(workspace_id=workspace_id).order_by("partner_id")
            if connection.vendor == "postgresql":
                marks = marks.select_for_update(skip_locked=True)
            batch = list(marks[:chunk])
            if not batch:
                break
            _repair(workspace_id, {m.partner_id: m.since for m in batch}, kinds)
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
    sums: Counts = defaultdict(int)
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
        day_deltas(_event_day_rows(workspace_id, chunk=chunk), kinds, sums, gauges, dirty)
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
            _repair(workspace_id, dict(partners[start : start + 500]), kinds)
    now = timezone.now()
    _touch(workspace_id, status=RollupState.Status.READY, rebuilt_at=now, filled_at=now, responses_at=now)
    with unscoped():
        return PartnerDayMetric.objects.filter(workspace_id=workspace_id).count()


def rollups_queue_state(*, workspace_id: int | None = None, count_items: bool = False) -> QueueState:
    """What waits for the job worker: queued batches (one query; with ``count_items`` their events and
    clicks too, read from the queue rows) and the oldest batch's age. All workspaces when None."""
    with unscoped():
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


def _add(sums: Counts | Sums, more: Mapping[Cell, Decimal]) -> None:
    for cell, value in more.items():
        sums[cell] += value


def rollup_cells(*, workspace_id: int) -> dict[Cell, Decimal]:
    """Every non-zero cell of the workspace (for comparing increments with a rebuild)."""
    with unscoped():
        rows = PartnerDayMetric.objects.filter(workspace_id=workspace_id).values_list(
            "partner_id", "day", "metric", "value"
        )
        return {(p, d, m): v for p, d, m, v in rows if v}
