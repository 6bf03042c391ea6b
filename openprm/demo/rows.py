"""The demo's direct row writes: what no app's bulk service can express yet (see ``loader``'s docstring).

COPY on PostgreSQL, ``executemany`` elsewhere, in the load's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import connection, models

from openprm.activity.models import Event
from openprm.demo.activity import EventRow


def insert_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert DB-ready ``rows`` (values in ``columns`` order) into ``model``'s table."""
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", list(rows))  # noqa: S608


def event_writer(workspace_id: int) -> Callable[[list[EventRow]], None]:
    """Write generated event rows (``activity.EVENT_COLUMNS`` order) with the backend's value adapters;
    ``received_at`` is the time the event occurred."""
    when = connection.ops.adapt_datetimefield_value
    number = connection.ops.adapt_decimalfield_value
    columns = ["workspace_id", "received_at", "event_id", "partner_id", "type", "direction", "occurred_at"]
    columns += ["actor_contact_id", "actor_user_id", "value", "properties", "source"]

    def db_row(row: EventRow) -> tuple[Any, ...]:
        event_id, partner_id, type_key, direction, at, contact_id, user_id, value, properties, source = row
        stamp = when(at)
        amount = None if value is None else number(Decimal(value), 20, 4)
        values = [workspace_id, stamp, event_id, partner_id, type_key, direction, stamp, contact_id, user_id]
        return (*values, amount, json.dumps(properties), source)

    def write(rows: list[EventRow]) -> None:
        insert_rows(Event, columns, (db_row(row) for row in rows))

    return write
