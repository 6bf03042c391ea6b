"""Reading raw rows and writing rollup cells, fast on both databases: raw cursors where the ORM would
build objects, array upserts on PostgreSQL, ``executemany`` on SQLite; the lock that a rebuild takes
exclusively; the fill state (``RollupState``)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from openprm.activity.models import Event, PartnerDayMetric, RollupDirty, RollupState
from openprm.activity.rollups.deltas import Cell, DayRow, Number
from openprm.core.tasks import workspace_scope


def converter(model: type[models.Model], name: str) -> Callable[[Any], Any] | None:
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


def reading_cursor() -> Any:
    """A cursor for a long read: server-side on PostgreSQL (unless disabled), like ``.iterator()``."""
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return connection.cursor()
    return connection.chunked_cursor()


def event_day_rows(
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
    value_of = converter(Event, "value")
    properties_of = converter(Event, "properties")
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
        with reading_cursor() as cursor:
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


def pg_array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers or dates (their ``str`` is their input syntax): built by one
    ``join`` instead of psycopg adapting a list element by element."""
    return "{" + ",".join(map(str, values)) + "}"


def upsert(workspace_id: int, cells: Mapping[Cell, Number], *, gauge: bool) -> None:
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
                        pg_array(partners),
                        pg_array(days),
                        pg_array(map(position.__getitem__, metrics)),
                        pg_array(map(cells.__getitem__, part)),
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


def lock(workspace_id: int, *, exclusive: bool = False) -> None:
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
    lock(workspace_id)
    upsert(workspace_id, {cell: v for cell, v in (sums or {}).items() if v}, gauge=False)
    upsert(workspace_id, dict(gauges or {}), gauge=True)
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


def touch(workspace_id: int, **fields: Any) -> None:
    """Set fields of the workspace's fill state (created on first use)."""
    with workspace_scope(workspace_id):
        state, _ = RollupState.objects.get_or_create(workspace_id=workspace_id)
        for name, value in fields.items():
            setattr(state, name, value)
        state.save()


def rollups_filled(*, workspace_id: int) -> None:
    """Record that an incremental update happened (shown as the rollups' freshness)."""
    with workspace_scope(workspace_id):
        updated = RollupState.objects.filter(workspace_id=workspace_id).update(filled_at=timezone.now())
    if not updated:
        touch(workspace_id, filled_at=timezone.now())
