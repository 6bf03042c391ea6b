"""Reading raw rows and writing rollup cells, fast on both databases: raw cursors where the ORM would
build objects, array upserts on PostgreSQL, ``executemany`` on SQLite; the lock that a rebuild takes
exclusively; the fill state (``RollupState``)."""

from __future__ import annotations

import contextlib
import datetime
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, models
from django.utils import timezone

from openprm.activity.models import Event, RollupDirty, RollupState
from openprm.activity.rollups import columns, months
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


def _json_number(value: object) -> object:
    """Numbers in ``extra`` are JSON numbers (a Decimal's float has the same short decimal text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _assignments(table: str, present: Sequence[str], extra: bool) -> str:
    """``DO UPDATE SET`` of an upsert into ``PartnerDay`` of the ``present`` columns (and ``extra``): sums
    add (NULL is 0, a 0 result is NULL), gauges keep the larger, ``extra`` merges key by key (keys
    summing to 0 dropped)."""
    parts = []
    for column in present:
        old, new = f"{table}.{column}", f"excluded.{column}"
        if column in columns.GAUGE_COLUMNS:
            parts.append(f"{column} = CASE WHEN {old} IS NULL OR {new} > {old} THEN {new} ELSE {old} END")
        else:
            parts.append(f"{column} = NULLIF(COALESCE({old}, 0) + COALESCE({new}, 0), 0)")
    if connection.vendor == "postgresql":
        merged = (
            "(SELECT jsonb_object_agg(k, s) FROM (SELECT k, SUM(v) AS s FROM ("  # noqa: S608
            f"SELECT key, value::numeric FROM jsonb_each_text({table}.extra) UNION ALL "
            "SELECT key, value::numeric FROM jsonb_each_text(excluded.extra)) AS x(k, v) "
            "GROUP BY k HAVING SUM(v) <> 0) AS y)"
        )
    else:
        merged = (
            "(SELECT NULLIF(json_group_object(k, s), '{}') FROM (SELECT key AS k, SUM(value) AS s FROM ("  # noqa: S608
            f"SELECT key, value FROM json_each({table}.extra) UNION ALL "
            "SELECT key, value FROM json_each(excluded.extra)) GROUP BY key HAVING SUM(value) <> 0))"
        )
    if not extra:
        return ", ".join(parts)
    parts.append(
        f"extra = CASE WHEN excluded.extra IS NULL THEN {table}.extra "
        f"WHEN {table}.extra IS NULL THEN excluded.extra ELSE {merged} END"
    )
    return ", ".join(parts)


def upsert_rows(
    workspace_id: int,
    rows: Mapping[tuple[int, datetime.date], Mapping[str, Number]],
    *,
    refresh_months: bool = True,
) -> None:
    """Add rows — (partner, day) → {column, or metric name for ``extra``: value} — to ``PartnerDay``:
    PostgreSQL takes them as one JSON document per 20,000 rows (``jsonb_to_recordset``), SQLite one
    statement per row in one ``executemany``. Then the months they touched are re-aggregated
    (``months.months_refresh``; ``refresh_months=False``: the caller does it), the partners locked first."""
    if not rows:
        return
    if refresh_months:
        months.lock_partners(workspace_id, {partner_id for partner_id, _ in rows})
        _upsert_rows(workspace_id, rows)
        months.months_refresh(workspace_id, rows)
    else:
        _upsert_rows(workspace_id, rows)


def _upsert_rows(workspace_id: int, rows: Mapping[tuple[int, datetime.date], Mapping[str, Number]]) -> None:
    quote = connection.ops.quote_name
    table = quote(columns.TABLE)
    known = set(columns.COLUMNS)
    named = {name for values in rows.values() for name in values}
    present = [c for c in columns.COLUMNS if c in named]  # only the columns these rows touch
    extra_present = bool(named - known)
    conflict = (
        "ON CONFLICT (workspace_id, partner_id, day) DO UPDATE SET "
        f"{_assignments(table, present, extra_present)}"
    )
    if not present and not extra_present:
        return
    names = ", ".join([*present, "extra"])
    ordered = sorted(rows)  # a fixed order, so concurrent writers lock rows in the same order
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = ", ".join(
                f"{c} {'numeric' if c in columns.DECIMAL_COLUMNS else 'bigint'}" for c in present
            )
            query = (
                f"INSERT INTO {table} (workspace_id, partner_id, day, {names}) "  # noqa: S608
                f"SELECT %s, partner_id, day, {names} FROM jsonb_to_recordset(%s::jsonb) "
                f"AS r(partner_id bigint, day date, {types}, extra jsonb) {conflict}"
            )
            for start in range(0, len(ordered), 20_000):
                documents = []
                for key in ordered[start : start + 20_000]:
                    values = rows[key]
                    document: dict[str, object] = {"partner_id": key[0], "day": key[1].isoformat()}
                    extra = {}
                    for name, value in values.items():
                        if name in known:
                            document[name] = str(value) if isinstance(value, Decimal) else value
                        else:
                            extra[name] = value
                    if extra:
                        document["extra"] = extra
                    documents.append(document)
                cursor.execute(query, [workspace_id, json.dumps(documents, default=_json_number)])
            return
        adapt_number = connection.ops.adapt_decimalfield_value
        adapt_day = connection.ops.adapt_datefield_value
        marks = ", ".join(["%s"] * (len(present) + 4))
        params: list[list[Any]] = []
        for key in ordered:
            values = rows[key]
            row: list[Any] = [workspace_id, key[0], adapt_day(key[1])]
            for column in present:
                number: Any = values.get(column)
                if number is not None and type(number) is not int:
                    number = adapt_number(number, 24, 4)
                row.append(number)
            extra = {name: value for name, value in values.items() if name not in known}
            row.append(json.dumps(extra, default=_json_number) if extra else None)
            params.append(row)
        cursor.executemany(
            f"INSERT INTO {table} (workspace_id, partner_id, day, {names}) "  # noqa: S608
            f"VALUES ({marks}) {conflict}",
            params,
        )


def upsert(
    workspace_id: int, cells: Mapping[Cell, Number], *, gauge: bool, refresh_months: bool = True
) -> None:
    """Add (or, for gauges, raise to) each cell's value."""
    if gauge:
        rows: dict[tuple[int, datetime.date], dict[str, Number]] = defaultdict(dict)
        for (partner_id, day, metric), value in cells.items():
            rows[(partner_id, day)][columns.COLUMN_OF[metric]] = value
        upsert_rows(workspace_id, rows, refresh_months=refresh_months)
    else:
        upsert_rows(workspace_id, columns.rows_of(cells), refresh_months=refresh_months)


_LOCK_NAMESPACE = 7301  # PostgreSQL advisory locks: (namespace, workspace id)


def lock(workspace_id: int, *, exclusive: bool = False) -> None:
    """Writers of the rollup table share a lock that a rebuild takes exclusively (PostgreSQL; on SQLite
    every write transaction already excludes the others). Held until the transaction ends."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [_LOCK_NAMESPACE, workspace_id])


@contextlib.contextmanager
def locked_before_transaction(workspace_id: int) -> Iterator[None]:
    """The rebuild's exclusive lock taken before its transaction begins (PostgreSQL, outside any
    transaction; elsewhere nothing): a session lock, held until the block ends. Inside a ``REPEATABLE
    READ`` transaction the statement that waits for the lock takes the snapshot before the wait, so the
    writers it waited for would be invisible to it, and its writes would then collide with theirs
    (a serialization failure whenever a fold was running). Taken first, the transaction's ``lock`` is
    already held, and its snapshot sees every writer that went before."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    key = [_LOCK_NAMESPACE, workspace_id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        except DatabaseError:  # the session's locks end with it: never left held on a kept connection
            connection.close()


def rollups_add(
    *,
    workspace_id: int,
    sums: Mapping[Cell, Decimal | int] | None = None,
    gauges: Mapping[Cell, Decimal] | None = None,
    dirty: Mapping[int, datetime.date] | None = None,
) -> None:
    """Add deltas to the rollups (inside the caller's transaction) and mark partners for re-pairing."""
    lock(workspace_id)
    rows = columns.rows_of(sums or {})
    for (partner_id, day, metric), value in (gauges or {}).items():
        row = rows.setdefault((partner_id, day), {})
        column = columns.COLUMN_OF[metric]
        row[column] = max(row.get(column, value), value)
    upsert_rows(workspace_id, rows)
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
