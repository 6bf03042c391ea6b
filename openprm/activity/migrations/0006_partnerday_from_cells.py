"""Copy the rollups from the cell table (one row per partner, day and metric) into ``PartnerDay`` (one
row per partner and day, the metrics in columns; the rest in ``extra``). Rollups are derived data: `prm
rollups rebuild` recomputes them from the raw rows at any time, and gives the same rows."""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 5_000


def _column(metric: str, columns: set[str]) -> str | None:
    """The metric's column (its name with dots as underscores), None for one kept in ``extra``."""
    column = metric.replace(".", "_")
    return column if column in columns else None


def copy_cells(apps: Any, schema_editor: Any) -> None:
    cells = apps.get_model("activity", "PartnerDayMetric")
    days = apps.get_model("activity", "PartnerDay")
    columns = {f.column for f in days._meta.concrete_fields} - {"workspace_id", "partner_id", "day", "extra"}
    rows = (
        cells.objects.using(schema_editor.connection.alias)
        .order_by("workspace_id", "partner_id", "day")
        .values_list("workspace_id", "partner_id", "day", "metric", "value")
        .iterator(chunk_size=BATCH)
    )
    batch: list[Any] = []
    key: tuple[int, int, Any] | None = None
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}

    def flush_row() -> None:
        if key is None or not (values or extra):
            return
        batch.append(days(workspace_id=key[0], partner_id=key[1], day=key[2], extra=extra or None, **values))

    for workspace_id, partner_id, day, metric, value in rows:
        if (workspace_id, partner_id, day) != key:
            flush_row()
            if len(batch) >= BATCH:
                days.objects.using(schema_editor.connection.alias).bulk_create(batch)
                batch = []
            key, values, extra = (workspace_id, partner_id, day), {}, {}
        if not value:
            continue
        column = _column(metric, columns)
        if column is None:
            extra[metric] = int(value) if value == value.to_integral_value() else float(value)
        else:
            values[column] = value  # the field converts (counts to int)
        if metric.startswith("events."):
            values["events_total"] = values.get("events_total", 0) + int(value)
    flush_row()
    if batch:
        days.objects.using(schema_editor.connection.alias).bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("activity", "0005_partnerday")]

    operations = [migrations.RunPython(copy_cells, migrations.RunPython.noop, elidable=True)]
