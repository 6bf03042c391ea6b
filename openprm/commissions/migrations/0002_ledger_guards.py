"""Database-level guards: a published plan version is never updated or deleted; a ledger entry is never
deleted and only its state columns change, forward only (as core 0003 does for the audit trail)."""

from django.db import migrations

STATE_COLUMNS = [
    "state",
    "approved_at",
    "approved_by_id",
    "paid_item_id",
    "paid_at",
    "rejected_at",
    "rejected_reason",
]
# The columns fixed at insert (SQLite needs them listed; PostgreSQL compares the whole row minus the state).
FIXED_COLUMNS = [
    "id",
    "public_id",
    "workspace_id",
    "partner_id",
    "kind",
    "source_kind",
    "source_id",
    "source_event",
    "idempotency_key",
    "plan_id",
    "plan_version_id",
    "rule_key",
    "occurred_at",
    "period",
    "base_amount",
    "base_currency",
    "fx_rate",
    "fx_date",
    "amount",
    "currency",
    "rate",
    "caps",
    "explanation",
    "hold_until",
    "reverses_id",
    "derived_from_id",
    "note",
    "created_at",
    "created_by_id",
]
# Forward moves only: (old, new). Equal states allow no change of the other state columns except
# approved → approved setting paid_item once (an item reserved by a payout run before it is marked paid).
TRANSITION_SQL = (
    "(OLD.state = 'pending' AND NEW.state IN ('approved', 'rejected'))"
    " OR (OLD.state = 'approved' AND NEW.state IN ('paid', 'rejected'))"
)
_ARRAY = ", ".join(f"'{c}'" for c in STATE_COLUMNS)

PG_UP = f"""
CREATE OR REPLACE FUNCTION commissions_ledger_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'ledger entries are append-only'; END IF;
  IF (to_jsonb(NEW) - ARRAY[{_ARRAY}]) IS DISTINCT FROM (to_jsonb(OLD) - ARRAY[{_ARRAY}]) THEN
    RAISE EXCEPTION 'ledger entries are append-only: only the state may change';
  END IF;
  IF NEW.state IS DISTINCT FROM OLD.state THEN
    IF NOT ({TRANSITION_SQL}) THEN
      RAISE EXCEPTION 'ledger entry state may only move forward (%% -> %%)', OLD.state, NEW.state;
    END IF;
  END IF;
  IF OLD.paid_item_id IS NOT NULL AND NEW.paid_item_id IS DISTINCT FROM OLD.paid_item_id THEN
    RAISE EXCEPTION 'ledger entry payout item is set once';
  END IF;
  IF OLD.state IN ('paid', 'rejected') AND to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
    RAISE EXCEPTION 'a paid or rejected ledger entry is final';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER commissions_ledger_guard BEFORE UPDATE OR DELETE ON commissions_ledgerentry
FOR EACH ROW EXECUTE FUNCTION commissions_ledger_guard();

CREATE OR REPLACE FUNCTION commissions_version_guard() RETURNS trigger AS $$
BEGIN
  IF OLD.status = 'published' THEN RAISE EXCEPTION 'a published plan version is never changed'; END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER commissions_version_guard BEFORE UPDATE OR DELETE ON commissions_planversion
FOR EACH ROW EXECUTE FUNCTION commissions_version_guard();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS commissions_ledger_guard ON commissions_ledgerentry;
DROP FUNCTION IF EXISTS commissions_ledger_guard();
DROP TRIGGER IF EXISTS commissions_version_guard ON commissions_planversion;
DROP FUNCTION IF EXISTS commissions_version_guard();
"""
_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FIXED_COLUMNS)
_STATE_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in STATE_COLUMNS)
# SQLite: updates are refused as above; deletes stay possible because Django's test flush deletes rows.
SQLITE_UP = [
    f"""CREATE TRIGGER IF NOT EXISTS commissions_ledger_fixed BEFORE UPDATE ON commissions_ledgerentry
WHEN {_CHANGED}
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: only the state may change'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS commissions_ledger_forward BEFORE UPDATE ON commissions_ledgerentry
WHEN NEW.state IS NOT OLD.state AND NOT ({TRANSITION_SQL})
BEGIN SELECT RAISE(ABORT, 'ledger entry state may only move forward'); END;""",
    """CREATE TRIGGER IF NOT EXISTS commissions_ledger_item_once BEFORE UPDATE ON commissions_ledgerentry
WHEN OLD.paid_item_id IS NOT NULL AND NEW.paid_item_id IS NOT OLD.paid_item_id
BEGIN SELECT RAISE(ABORT, 'ledger entry payout item is set once'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS commissions_ledger_final BEFORE UPDATE ON commissions_ledgerentry
WHEN OLD.state IN ('paid', 'rejected') AND ({_STATE_CHANGED})
BEGIN SELECT RAISE(ABORT, 'a paid or rejected ledger entry is final'); END;""",
    """CREATE TRIGGER IF NOT EXISTS commissions_version_guard BEFORE UPDATE ON commissions_planversion
WHEN OLD.status = 'published'
BEGIN SELECT RAISE(ABORT, 'a published plan version is never changed'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS commissions_ledger_fixed;",
    "DROP TRIGGER IF EXISTS commissions_ledger_forward;",
    "DROP TRIGGER IF EXISTS commissions_ledger_item_once;",
    "DROP TRIGGER IF EXISTS commissions_ledger_final;",
    "DROP TRIGGER IF EXISTS commissions_version_guard;",
]


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
        schema_editor.execute(PG_DOWN)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("commissions", "0001_plans_ledger_payouts")]
    operations = [migrations.RunPython(forwards, backwards)]
