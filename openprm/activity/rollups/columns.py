"""Metric names ↔ the columns of ``PartnerDay``: a metric with a column of its own is stored there (its
name with dots as underscores; ``events.*`` in ``events_total``), any other (the workspace's own event
types) under its name in the row's ``extra`` JSON. Pure, apart from reading the model's fields."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db import models

from openprm.activity.models import PartnerDay
from openprm.activity.rollups.deltas import GAUGES, Cell, Number

TABLE = PartnerDay._meta.db_table
KEYS = ("workspace_id", "partner_id", "day")
ALL_EVENTS = "events.*"
TOTAL_COLUMN = "events_total"
EXTRA = "extra"

COLUMNS: tuple[str, ...] = tuple(
    f.column
    for f in PartnerDay._meta.concrete_fields
    if f.column not in (*KEYS, EXTRA) and isinstance(f, models.Field)
)
"""The metric columns, in table order."""


def _metric(column: str) -> str:
    if column == TOTAL_COLUMN:
        return ALL_EVENTS
    for prefix in (
        "events",
        "value",
        "contact",
        "content",
        "reply_partner",
        "reply_vendor",
        "ticket_resolved",
        "survey",
    ):
        if column.startswith(prefix + "_"):
            return f"{prefix.replace('_', '.')}.{column[len(prefix) + 1 :]}"
    if column.startswith("conversions_"):
        kind = column.removeprefix("conversions_")
        if kind.endswith("_amount"):
            return f"conversions.{kind.removesuffix('_amount')}.amount"
        return f"conversions.{kind}"
    if column.startswith("deliverable_"):
        return f"deliverable.{column.removeprefix('deliverable_')}"
    return column  # contact, clicks


METRIC_OF: dict[str, str] = {column: _metric(column) for column in COLUMNS}
COLUMN_OF: dict[str, str] = {metric: column for column, metric in METRIC_OF.items()}
GAUGE_COLUMNS = frozenset(COLUMN_OF[g] for g in GAUGES)
DECIMAL_COLUMNS = frozenset(
    f.column for f in PartnerDay._meta.concrete_fields if isinstance(f, models.DecimalField)
)
PAIRED_COLUMNS = tuple(c for c in COLUMNS if c.startswith(("reply_", "ticket_resolved_", "deliverable_")))

PLACES = Decimal("0.0001")  # the rollups' precision


def decimal(value: object) -> Decimal:
    """A stored number as a Decimal: exact where the database kept it exact (PostgreSQL ``numeric``,
    integers), rounded to the rollups' 4 places where it summed floats (SQLite, JSON numbers)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(str(value)).quantize(PLACES)


Row = dict[str, Number]  # column (or extra metric name) → value


def rows_of(cells: Mapping[Cell, Number]) -> dict[tuple[int, datetime.date], dict[str, Number]]:
    """Cells grouped into rows: (partner, day) → {column or, for metrics without one, metric name: value}.
    ``events.<type>`` cells also add to ``events_total``; zeros are left out."""
    rows: dict[tuple[int, datetime.date], dict[str, Number]] = defaultdict(dict)
    for (partner_id, day, metric), value in cells.items():
        if not value:
            continue
        row = rows[(partner_id, day)]
        name = COLUMN_OF.get(metric, metric)
        row[name] = row.get(name, 0) + value
        if metric.startswith("events."):
            row[TOTAL_COLUMN] = row.get(TOTAL_COLUMN, 0) + value
    return rows


def cells_of(
    rows: Iterable[tuple[int, datetime.date, Mapping[str, object], Mapping[str, object] | None]],
) -> dict[Cell, Decimal]:
    """Rows back to their non-zero cells (``events_total`` left out: it is the sum of the others)."""
    cells: dict[Cell, Decimal] = {}
    for partner_id, day, values, extra in rows:
        for column, value in values.items():
            if column == TOTAL_COLUMN or value is None or not value:
                continue
            cells[(partner_id, day, METRIC_OF[column])] = decimal(value)
        for metric, value in (extra or {}).items():
            if value:
                cells[(partner_id, day, metric)] = decimal(value)
    return cells
