"""The ledger's indexes for its page and API at millions of rows (every filter newest first, paged by
keyset), the statements (partner, currency, booked instant) and the partner balances; the foreign keys
nobody searches by (workspace: every index leads with it; who booked or approved) lose their own index.
SQLite rebuilds the table for the foreign keys, dropping its triggers: they are created again."""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_0002 = importlib.import_module("openprm.commissions.migrations.0002_ledger_guards")
_0004 = importlib.import_module("openprm.commissions.migrations.0004_guards_delete_approval")


def triggers_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*_0002.SQLITE_UP, *_0004.SQLITE_UP]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("commissions", "0005_fx_rate_exact"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="workspace",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="core.workspace",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="approved_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RemoveIndex(model_name="ledgerentry", name="commission_ledger_state"),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["workspace", "partner", "-occurred_at", "-id"], name="commission_ledger_by_partner"
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["workspace", "period", "-occurred_at", "-id"], name="commission_ledger_period"
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(("kind", "accrual"), _negated=True),
                fields=["workspace", "kind", "-occurred_at", "-id"],
                name="commission_ledger_kind",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(("state", "paid"), _negated=True),
                fields=["workspace", "state", "-occurred_at", "-id"],
                name="commission_ledger_state",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["workspace", "partner", "currency", "created_at"],
                include=("state", "kind", "amount"),
                name="commission_ledger_statement",
            ),
        ),
        migrations.RunPython(triggers_again, migrations.RunPython.noop),
    ]
