"""Fill ``PartnerMonth`` from the existing ``PartnerDay`` rows (data migration, separate from the schema
one): without it, reads over whole months would find no months until the next rollup rebuild. The same
re-aggregation as ``activity.rollups.months``, written out here so later code changes cannot alter it."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    day_model = apps.get_model("activity", "PartnerDay")
    month_model = apps.get_model("activity", "PartnerMonth")
    keys = {"workspace_id", "partner_id", "month"}
    names = [
        f.column
        for f in month_model._meta.concrete_fields
        if isinstance(f, models.Field) and f.column not in keys
    ]
    gauges = {"content_followers"}  # the one gauge (``activity.rollups.deltas.GAUGES``)
    aggregates = ", ".join(f"{'MAX' if c in gauges else 'SUM'}({c})" for c in names)
    if connection.vendor == "postgresql":
        month = "CAST(date_trunc('month', day) AS date)"
    else:
        month = "substr(day, 1, 7) || '-01'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(month_model._meta.db_table)} (workspace_id, partner_id, month, "  # noqa: S608
            f"{', '.join(names)}) SELECT workspace_id, partner_id, {month}, {aggregates} "
            f"FROM {quote(day_model._meta.db_table)} GROUP BY workspace_id, partner_id, {month}"
        )


def empty(apps: Any, schema_editor: Any) -> None:
    month_model = apps.get_model("activity", "PartnerMonth")
    schema_editor.execute(f"DELETE FROM {schema_editor.quote_name(month_model._meta.db_table)}")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("activity", "0010_partnermonth")]

    operations = [migrations.RunPython(fill, empty)]
