"""Guards, continued (review M1, M2): on SQLite too, ledger entries and published plan versions are never
deleted; on both databases approved_at/approved_by change only with a state change, and an entry reserved
for a payout (paid_item set) is never rejected.

SQLite's flush deletes rows one table at a time: the delete triggers stand aside while the row of
``commissions_guard_bypass`` exists (a plain table, no model: nothing flushes or writes it but the test
suite's flush, see ``openprm.commissions.tests.guards``)."""

import importlib

from django.db import migrations

_0002 = importlib.import_module("openprm.commissions.migrations.0002_ledger_guards")
_BYPASS = "NOT EXISTS (SELECT 1 FROM commissions_guard_bypass)"

SQLITE_UP = [
    "CREATE TABLE IF NOT EXISTS commissions_guard_bypass (on_ integer NOT NULL);",
    f"""CREATE TRIGGER IF NOT EXISTS commissions_ledger_no_delete BEFORE DELETE ON commissions_ledgerentry
WHEN {_BYPASS}
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS commissions_version_no_delete BEFORE DELETE ON commissions_planversion
WHEN OLD.status = 'published' AND {_BYPASS}
BEGIN SELECT RAISE(ABORT, 'a published plan version is never changed'); END;""",
    """CREATE TRIGGER IF NOT EXISTS commissions_ledger_approval BEFORE UPDATE ON commissions_ledgerentry
WHEN NEW.state IS OLD.state
 AND (NEW.approved_at IS NOT OLD.approved_at OR NEW.approved_by_id IS NOT OLD.approved_by_id)
BEGIN SELECT RAISE(ABORT, 'approved_at and approved_by change only with the state'); END;""",
    """CREATE TRIGGER IF NOT EXISTS commissions_ledger_reserved BEFORE UPDATE ON commissions_ledgerentry
WHEN NEW.state = 'rejected' AND NEW.paid_item_id IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an entry reserved for a payout is never rejected'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS commissions_ledger_no_delete;",
    "DROP TRIGGER IF EXISTS commissions_version_no_delete;",
    "DROP TRIGGER IF EXISTS commissions_ledger_approval;",
    "DROP TRIGGER IF EXISTS commissions_ledger_reserved;",
    "DROP TABLE IF EXISTS commissions_guard_bypass;",
]
PG_FUNCTION = _0002.PG_UP.split("CREATE TRIGGER commissions_ledger_guard")[0]
PG_UP = PG_FUNCTION.replace(
    "  RETURN NEW;\nEND; $$ LANGUAGE plpgsql;",
    """  IF NEW.state IS NOT DISTINCT FROM OLD.state AND (NEW.approved_at IS DISTINCT FROM OLD.approved_at
      OR NEW.approved_by_id IS DISTINCT FROM OLD.approved_by_id) THEN
    RAISE EXCEPTION 'approved_at and approved_by change only with the state';
  END IF;
  IF NEW.state = 'rejected' AND NEW.paid_item_id IS NOT NULL THEN
    RAISE EXCEPTION 'an entry reserved for a payout is never rejected';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;""",
    1,
)
assert PG_UP != PG_FUNCTION


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("commissions", "0003_accrual_waiting")]
    operations = [migrations.RunPython(forwards, backwards)]
