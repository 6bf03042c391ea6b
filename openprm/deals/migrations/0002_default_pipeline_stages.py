"""Data migration: every existing program gets the default pipeline stages."""

from decimal import Decimal

from django.db import migrations

DEFAULT_STAGES = [
    ("registered", "Registered", Decimal("0.1"), "open", 14),
    ("qualified", "Qualified", Decimal("0.25"), "open", 21),
    ("proposal_sent", "Proposal sent", Decimal("0.5"), "open", 21),
    ("negotiating", "Negotiating", Decimal("0.75"), "open", 30),
    ("closed_won", "Closed won", Decimal("1"), "won", None),
    ("closed_lost", "Closed lost", Decimal("0"), "lost", None),
]


def forwards(apps, schema_editor):
    Program = apps.get_model("partners", "Program")
    PipelineStage = apps.get_model("deals", "PipelineStage")
    for program in Program.objects.all():
        if PipelineStage.objects.filter(program=program).exists():
            continue
        for order, (key, name, probability, outcome, stall) in enumerate(DEFAULT_STAGES, start=1):
            PipelineStage.objects.create(
                workspace_id=program.workspace_id,
                program=program,
                key=key,
                name=name,
                order=order,
                win_probability=probability,
                outcome=outcome,
                stall_days=stall,
            )


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial"), ("partners", "0002_default_workspace")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
