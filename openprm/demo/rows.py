"""The demo's direct row writes: what no app's bulk service can express yet (see ``loader``'s docstring).

COPY on PostgreSQL, ``executemany`` elsewhere, in the load's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models

from openprm.activity.models import Event
from openprm.demo.activity import EventRow


def _db_value(field: models.Field[Any, Any], obj: models.Model) -> Any:
    value = field.pre_save(obj, True)
    if value is None and field.many_to_one:  # a related object given before it was stored: its id now
        related = getattr(obj, field.name)
        value = related.pk if related is not None else None
    return field.get_db_prep_save(value, connection)


def insert_objects(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert model instances whose primary keys nobody needs back (cheaper than ``bulk_create``)."""
    fields = [f for f in model._meta.concrete_fields if f is not model._meta.pk]
    insert_rows(model, [f.column for f in fields], (tuple(_db_value(f, obj) for f in fields) for obj in objs))


def update_objects(
    model: type[models.Model], objs: Sequence[models.Model], fields: list[str], *, keys: list[str]
) -> None:
    """Write ``fields`` of ``objs`` to the stored rows with the same ``keys`` (one UPDATE, executemany)."""
    quote = connection.ops.quote_name
    by_name = {f.name: f for f in model._meta.concrete_fields}
    setting, matching = [by_name[f] for f in fields], [by_name[k] for k in keys]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in setting)
    where = " AND ".join(f"{quote(k.column)} = %s" for k in matching)
    rows = [[_db_value(f, obj) for f in (*setting, *matching)] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {where}", rows)  # noqa: S608


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


EventWriter = Callable[[list[EventRow]], None]


def event_writer(workspace_id: int) -> EventWriter:
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
