"""Stages still at the first default stalled thresholds (qualified 21, proposal sent 21, negotiating 30 days)
move to the new defaults (30, 30, 45); a threshold an admin set to anything else is kept."""

from django.db import migrations

OLD = {"qualified": 21, "proposal_sent": 21, "negotiating": 30}
NEW = {"qualified": 30, "proposal_sent": 30, "negotiating": 45}


def forwards(apps, schema_editor):
    PipelineStage = apps.get_model("deals", "PipelineStage")
    for key, days in OLD.items():
        PipelineStage.objects.filter(key=key, outcome="open", stall_days=days).update(stall_days=NEW[key])


def backwards(apps, schema_editor):
    PipelineStage = apps.get_model("deals", "PipelineStage")
    for key, days in NEW.items():
        PipelineStage.objects.filter(key=key, outcome="open", stall_days=days).update(stall_days=OLD[key])


class Migration(migrations.Migration):
    dependencies = [("deals", "0006_deal_list_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
