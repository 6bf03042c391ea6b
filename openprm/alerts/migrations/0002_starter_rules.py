"""Data: the starter alert rules, enabled, for every existing workspace (a copy of ``alerts.starter``:
a migration must not change when the code does). New workspaces get them on creation."""

from django.db import migrations

STARTER_RULES = [
    {
        "name": "New registration awaiting approval",
        "description": "A partner registered a deal that waits for a decision.",
        "severity": "info",
        "conditions": {"combine": "and", "items": [{"kind": "registration_pending"}]},
        "interval_minutes": 1,
    },
    {
        "name": "Approval SLA breached",
        "description": "A deal registration is still undecided after its program's approval SLA.",
        "severity": "critical",
        "conditions": {"combine": "and", "items": [{"kind": "registration_sla"}]},
        "interval_minutes": 5,
        "repeat_minutes": 1440,
    },
    {
        "name": "Partner inactive 30 days",
        "description": "No meeting, e-mail or call with the partner for 30 days.",
        "severity": "warning",
        "conditions": {
            "combine": "and",
            "items": [{"kind": "inactivity", "metric": "last_contact", "days": 30}],
        },
        "interval_minutes": 1440,
    },
    {
        "name": "Agreement expiring in 30 days",
        "description": "A partner agreement without auto-renewal ends within 30 days.",
        "severity": "warning",
        "conditions": {"combine": "and", "items": [{"kind": "agreement_expiring", "days": 30}]},
        "interval_minutes": 1440,
    },
    {
        "name": "Engagement down 40% vs baseline",
        "description": "The partner's contacts over the last 30 days fell 40% or more below their mean of "
        "the three 30-day periods before.",
        "severity": "warning",
        "conditions": {
            "combine": "and",
            "items": [
                {
                    "kind": "change",
                    "metric": "contacts",
                    "grain": "rolling",
                    "days": 30,
                    "direction": "drop",
                    "percent": "40",
                    "against": "baseline",
                    "baseline_periods": 3,
                }
            ],
        },
        "interval_minutes": 1440,
    },
]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Workspace = apps.get_model("core", "Workspace")
    AlertRule = apps.get_model("alerts", "AlertRule")
    for workspace_id in Workspace.objects.values_list("pk", flat=True):
        if AlertRule.objects.filter(workspace_id=workspace_id, builtin=True).exists():
            continue
        AlertRule.objects.bulk_create(
            AlertRule(workspace_id=workspace_id, builtin=True, enabled=True, **spec) for spec in STARTER_RULES
        )


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("alerts", "AlertRule").objects.filter(builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_alert_rules_alerts_silences")]

    operations = [migrations.RunPython(forwards, backwards)]
