"""The FX rate stored with the precision the accrual used (FxTable hands out 14 decimals; review L1).
SQLite rebuilds the table for the change, dropping its triggers: they are created again."""

import importlib
from decimal import Decimal

from django.db import migrations, models

_0002 = importlib.import_module("openprm.commissions.migrations.0002_ledger_guards")
_0004 = importlib.import_module("openprm.commissions.migrations.0004_guards_delete_approval")


def triggers_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*_0002.SQLITE_UP, *_0004.SQLITE_UP]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("commissions", "0004_guards_delete_approval")]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="fx_rate",
            field=models.DecimalField(decimal_places=16, default=Decimal("1"), max_digits=30),
        ),
        migrations.RunPython(triggers_again, migrations.RunPython.noop),
    ]
