"""Large reads into Python (a month of conversions for the accrual, a million rows): the driver's compiled
timestamp loader instead of Django's.

Django's PostgreSQL backend loads every ``timestamptz`` value through a Python subclass of psycopg's loader
(to attach the connection's time zone): about 5 µs a value, seconds on a read of a million timestamps.
When the session's time zone is UTC — Django's own setting with ``USE_TZ`` and no database ``TIME_ZONE``
— psycopg's loader (compiled with ``psycopg[binary]``) returns the same aware datetimes (``tzinfo`` UTC)
by itself. :func:`values_rows` reads a ``values_list`` queryset through such a cursor, and applies the
fields' own converters (JSON) as Django would; any other database or setting reads the usual way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import JSONField, QuerySet
from django.db.models.expressions import Col
from django.db.models.query import ValuesListIterable


def _compiled_loader() -> type | None:
    if connection.vendor != "postgresql" or not settings.USE_TZ or connection.timezone_name != "UTC":
        return None
    connection.ensure_connection()
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return None
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.postgres.types["timestamptz"].oid
    return psycopg.adapters.get_loader(oid, Format.TEXT)  # psycopg's own, not Django's subclass


@contextmanager
def fast_cursor() -> Iterator[Any]:
    """A Django cursor whose ``timestamptz`` values load with psycopg's loader (see the module)."""
    loader = _compiled_loader()
    with connection.cursor() as cursor:
        if loader is not None:
            cursor.cursor.adapters.register_loader("timestamptz", loader)
        yield cursor


def values_rows(queryset: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list(...)`` queryset (not ``flat``, no annotations) as tuples, as
    ``list(queryset)`` gives them, read through :func:`fast_cursor`."""
    query = queryset.query
    plain = queryset._iterable_class is ValuesListIterable and not query.annotation_select
    if not plain or query.extra_select or _compiled_loader() is None:
        return list(queryset)
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # an empty ``__in`` list: nothing matches
        return []
    columns = [col for col, _, _ in compiler.select]
    documents = [
        i
        for i, col in enumerate(columns)
        if isinstance(col, Col) and isinstance(col.target, JSONField) and col.target.decoder is None
    ]
    converters = {i: c for i, c in compiler.get_converters(columns).items() if i not in documents}
    with fast_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if documents:  # a JSON column's text, decoded as its field would (most are an empty object)
        rows = [_decoded(r, documents) for r in rows]
    if converters:
        return [tuple(r) for r in compiler.apply_converters(rows, converters)]
    return rows


def _decoded(row: tuple[Any, ...], at: list[int]) -> tuple[Any, ...]:
    out = list(row)
    for i in at:
        text = out[i]
        if text is not None:
            out[i] = {} if text == "{}" else _json_or_text(text)
    return tuple(out)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # as ``JSONField.from_db_value``
        return text
