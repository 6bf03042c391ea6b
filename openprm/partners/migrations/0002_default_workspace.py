"""Data migration: the default workspace with its partner types and default program/tiers."""

from django.db import migrations

TYPES = [
    ("reseller", "Reseller"),
    ("referral", "Referral"),
    ("affiliate", "Affiliate"),
    ("technology", "Technology"),
    ("agency", "Agency"),
    ("distributor", "Distributor"),
    ("influencer", "Influencer"),
    ("service", "Service"),
]
TIERS = ["Bronze", "Silver", "Gold", "Platinum"]


def forwards(apps, schema_editor):
    Workspace = apps.get_model("core", "Workspace")
    PartnerType = apps.get_model("partners", "PartnerType")
    Program = apps.get_model("partners", "Program")
    Tier = apps.get_model("partners", "Tier")
    workspace, _ = Workspace.objects.get_or_create(slug="default", defaults={"name": "Default workspace"})
    for key, label in TYPES:
        PartnerType.objects.get_or_create(workspace=workspace, key=key, defaults={"label": label})
    if not Program.objects.filter(workspace=workspace).exists():
        program = Program.objects.create(workspace=workspace, name="Partner Program", is_default=True)
        for rank, name in enumerate(TIERS, start=1):
            Tier.objects.create(workspace=workspace, program=program, name=name, rank=rank)


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_initial"), ("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
