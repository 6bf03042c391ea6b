"""The survey figures of ``PartnerDay`` (``survey.responses``, ``.score``, ``.promoters``, ``.detractors``),
filled for the days already rolled up from their ``survey_response`` events (every such day has a row:
its ``events_survey_response`` count). The same figures as ``rollups.deltas`` and the rebuild."""

from typing import Any

from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    table = quote(apps.get_model("activity", "PartnerDay")._meta.db_table)
    events = quote(apps.get_model("activity", "Event")._meta.db_table)
    if connection.vendor == "postgresql":
        day = "CAST((occurred_at AT TIME ZONE 'UTC') AS date)"
    else:
        day = "substr(occurred_at, 1, 10)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET survey_responses = g.n, survey_score = g.s, "  # noqa: S608
            "survey_promoters = g.hi, survey_detractors = g.lo FROM ("
            f"SELECT workspace_id, partner_id, {day} AS day, NULLIF(COUNT(value), 0) AS n, "
            "NULLIF(SUM(value), 0) AS s, NULLIF(SUM(CASE WHEN value >= 9 THEN 1 ELSE 0 END), 0) AS hi, "
            "NULLIF(SUM(CASE WHEN value <= 6 THEN 1 ELSE 0 END), 0) AS lo "
            f"FROM {events} WHERE type = 'survey_response' AND value IS NOT NULL GROUP BY 1, 2, 3) AS g "
            f"WHERE {table}.workspace_id = g.workspace_id AND {table}.partner_id = g.partner_id "
            f"AND {table}.day = g.day"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("activity", "0007_delete_partnerdaymetric"),
    ]

    operations = [
        migrations.AddField(
            model_name="partnerday",
            name="survey_detractors",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="partnerday",
            name="survey_promoters",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="partnerday",
            name="survey_responses",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="partnerday",
            name="survey_score",
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=24, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
