"""The catch-ups' reads of what changed since their last run, by index instead of a scan of the table:
conversions by ``updated_at``; events by ``received_at`` (the accrual's read of custom events), on
PostgreSQL with a BRIN index — events are appended in the order they are received, so a summary per
range of pages finds the recent ones (a 2-second scan of 5,000,000 events before) at almost no cost to
the ingest, where another B-tree would be maintained for every event."""

from django.db import migrations, models

BRIN = "event_received_brin"


def brin_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {BRIN} ON activity_event USING brin (received_at)")


def brin_down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {BRIN}")


class Migration(migrations.Migration):
    dependencies = [
        ("activity", "0012_event_changes"),
        ("core", "0008_job_runs"),
        ("partners", "0009_tier_history"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversion",
            index=models.Index(fields=["workspace", "updated_at"], name="conversion_changed"),
        ),
        migrations.RunPython(brin_up, brin_down),
    ]
