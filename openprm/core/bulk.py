"""Bulk appends for high-volume tables: COPY on PostgreSQL, ``executemany`` in one transaction elsewhere
(no per-row ORM saves). Values are converted once per column to what each driver expects.

After a large bulk write, :func:`analyze_tables` refreshes PostgreSQL's planner statistics of the tables
written: on stale statistics (a table the planner still believes empty) the first queries after an
import or the demo load chose nested loops over thousands of rows (a conflict check took ~26 s instead
of milliseconds). Autovacuum gets there eventually, but only after the next queries have run."""

from __future__ import annotations

import datetime
import functools
import json
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DatabaseError, connection, models, transaction

logger = logging.getLogger(__name__)

ANALYZE_MIN_ROWS = 1_000
"""Below this many rows written, a bulk write leaves the statistics to autovacuum (ANALYZE samples up
to 30,000 rows per table: worth it after an import, not after a small API batch)."""


@functools.lru_cache(maxsize=65_536)  # imported dates repeat (days, the import's own "now")
def _sqlite_datetime(value: datetime.datetime) -> str:
    """What Django stores for an aware datetime on SQLite: naive UTC text."""
    return str(value.astimezone(datetime.UTC).replace(tzinfo=None))


def converter(fld: models.Field[Any, Any], vendor: str) -> Callable[[Any], Any] | None:
    """How to turn a Python value into what the driver expects for this column (None: as is)."""
    kind = fld.get_internal_type()
    if vendor == "postgresql":
        if kind == "JSONField":
            from psycopg.types.json import Jsonb

            return Jsonb
        return None
    if kind == "DateTimeField":
        return _sqlite_datetime
    if kind == "DateField":
        return str
    if kind == "UUIDField":
        return _uuid_hex
    if kind == "JSONField":
        return _sqlite_json
    return None


def _uuid_hex(value: uuid.UUID | str) -> str:
    return value if isinstance(value, str) else value.hex


def uuid4_hex() -> str:
    """A random (version 4) UUID as 32 hex digits, as both databases accept it; cheaper than uuid4()."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def _sqlite_json(value: Any) -> str:
    return "{}" if value == {} else json.dumps(value)


class FastTable:
    """Appends rows to one table: COPY on PostgreSQL, executemany elsewhere.

    Rows are ``[*values of columns]``, or ``[id, *values]`` with ``with_ids`` (ids from :meth:`ids`, for
    rows that other rows refer to); the model's other columns get their default. Values of the ``encoded``
    columns come as the driver takes them (JSON as text, encoded once by the caller). Must run inside a
    transaction (on SQLite, ``BEGIN IMMEDIATE`` holds the write lock, so the next free ids stay free).
    """

    def __init__(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        *,
        with_ids: bool = False,
        encoded: Sequence[str] = (),
    ) -> None:
        fields = {f.attname: f for f in model._meta.concrete_fields}
        pk = model._meta.pk
        assert pk is not None
        rest = [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in columns]
        self.vendor = connection.vendor
        self.table = model._meta.db_table
        self.pk_column = pk.column
        quote = connection.ops.quote_name
        names = [
            *([pk.column] if with_ids else []),
            *(fields[c].column for c in columns),
            *(f.column for f in rest),
        ]
        self.column_sql = ", ".join(quote(name) for name in names)
        self.tail = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
        self.convert = [
            (position, fn)
            for position, name in enumerate(columns, start=1 if with_ids else 0)
            if name not in encoded and (fn := converter(fields[name], self.vendor)) is not None
        ]
        self._next_id: int | None = None
        self._sequence: str | None = None

    def ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                if self._sequence is None:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [self.table, self.pk_column])
                    self._sequence = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self._sequence, count])
                return [value for (value,) in cursor.fetchall()]
            if self._next_id is None:
                query = f"SELECT MAX({quote(self.pk_column)}) FROM {quote(self.table)}"  # noqa: S608 - model names
                cursor.execute(query)
                highest = cursor.fetchone()[0] or 0
                if self.vendor == "sqlite":
                    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self.table])
                    found = cursor.fetchone()
                    highest = max(highest, found[0] if found else 0)
                self._next_id = highest + 1
        start = self._next_id
        self._next_id += count
        return list(range(start, start + count))

    def insert(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        convert, tail = self.convert, self.tail
        for row in rows:
            for position, fn in convert:
                value = row[position]
                if value is not None:
                    row[position] = fn(value)
            if tail:
                row.extend(tail)
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {quote(self.table)} ({self.column_sql}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(rows[0]))
                query = f"INSERT INTO {quote(self.table)} ({self.column_sql}) VALUES ({marks})"  # noqa: S608
                cursor.executemany(query, rows)


def analyze_tables(*models_: type[models.Model], rows: int, in_transaction: bool = False) -> bool:
    """ANALYZE the tables of ``models_`` on PostgreSQL after a bulk write of ``rows`` rows (when at least
    ANALYZE_MIN_ROWS); returns whether it was done or scheduled. Other databases: nothing.

    By default it runs once the current transaction commits (at once outside one), so the statistics
    count the committed rows and a failure cannot undo the write (it is logged). ``in_transaction`` runs
    it now, inside the transaction: PostgreSQL's ANALYZE counts the transaction's own uncommitted rows, so
    the queries later in the same transaction (the demo's conflict checks) are planned on them.
    """
    if connection.vendor != "postgresql" or rows < ANALYZE_MIN_ROWS or not models_:
        return False
    quote = connection.ops.quote_name
    tables = ", ".join(quote(name) for name in dict.fromkeys(m._meta.db_table for m in models_))

    def analyze() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")
        except DatabaseError:
            if in_transaction:
                raise
            logger.exception("ANALYZE %s failed after a bulk write", tables)

    if in_transaction:
        analyze()
    else:
        transaction.on_commit(analyze)
    return True
