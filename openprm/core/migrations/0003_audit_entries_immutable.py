"""Database-level guard: audit entries can be inserted, never updated (nor deleted on PostgreSQL)."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION core_auditentry_immutable() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit entries are immutable'; END; $$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE OR DELETE ON core_auditentry
FOR EACH ROW EXECUTE FUNCTION core_auditentry_immutable();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS core_auditentry_no_update ON core_auditentry;
DROP FUNCTION IF EXISTS core_auditentry_immutable();
"""
# SQLite: updates are refused; deletes stay possible because Django's test flush deletes rows.
SQLITE_UP = """
CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry
BEGIN SELECT RAISE(ABORT, 'audit entries are immutable'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS core_auditentry_no_update;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_auditentry_partner")]
    operations = [migrations.RunPython(forwards, backwards)]
