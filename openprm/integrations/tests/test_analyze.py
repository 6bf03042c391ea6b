"""Large imports refresh the planner statistics of the tables they wrote (PostgreSQL ANALYZE), small ones
leave them to autovacuum; SQLite has nothing to refresh. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from openprm.activity.models import Event
from openprm.core.bulk import ANALYZE_MIN_ROWS, analyze_tables
from openprm.deals.models import CustomerKey, Deal, DealStageChange
from openprm.integrations.tests.helpers import run
from openprm.partners.models import Partner

pytestmark = pytest.mark.django_db

POSTGRESQL = connection.vendor == "postgresql"


def last_analyze(model) -> datetime.datetime | None:
    """When the table was last ANALYZEd by a command (autovacuum's own runs are kept apart)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # statistics are cached per transaction
        cursor.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [model._meta.db_table]
        )
        return cursor.fetchone()[0]


def analyzed_since(model, moment: datetime.datetime) -> bool:
    found = last_analyze(model)
    return found is not None and found >= moment


def deals_file(tmp_path, count: int, prefix: str):
    lines = ["external_id,partner_external_id,customer_name,customer_domain,amount"]
    lines += [
        f"{prefix}-{i},A-1,Customer {prefix} {i},c{prefix.lower()}{i}.example,100" for i in range(count)
    ]
    path = tmp_path / f"{prefix}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_large_deals_import_analyzes_the_tables_it_wrote(
    world, tmp_path, django_capture_on_commit_callbacks
):
    started = timezone.now() - datetime.timedelta(seconds=1)  # the server's clock may lag a little
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, _ = run("import", "deals", str(deals_file(tmp_path, 20, "S")))
    assert "created 20" in out
    if POSTGRESQL:
        assert not analyzed_since(Deal, started)  # a small import: left to autovacuum
    assert len(callbacks) == 1  # only the commissions' accrual of the new deals, no ANALYZE

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, _ = run("import", "deals", str(deals_file(tmp_path, ANALYZE_MIN_ROWS, "L")))
    assert f"created {ANALYZE_MIN_ROWS}" in out
    if POSTGRESQL:
        assert len(callbacks) == 2  # ANALYZE after the commit, not inside the import; the accrual
        for model in (Deal, DealStageChange, CustomerKey):
            assert analyzed_since(model, started), model
        assert not analyzed_since(Partner, started)  # only the tables written
    else:
        assert len(callbacks) == 1  # SQLite: nothing to refresh; the commissions' accrual


def test_large_partner_and_activity_imports_analyze_their_tables(
    world, tmp_path, django_capture_on_commit_callbacks
):
    started = timezone.now() - datetime.timedelta(seconds=1)
    partners = tmp_path / "partners.csv"
    partners.write_text(
        "external_id,name,type\n" + "".join(f"P-{i},Partner {i},reseller\n" for i in range(ANALYZE_MIN_ROWS))
    )
    activities = tmp_path / "activities.csv"
    activities.write_text(
        "event_id,partner_external_id,type,occurred_at\n"
        + "".join(f"e-{i},A-1,portal_login,2026-10-01T08:00:00Z\n" for i in range(ANALYZE_MIN_ROWS))
    )
    with django_capture_on_commit_callbacks(execute=True):
        run("import", "partners", str(partners))
        run("import", "activities", str(activities))
    if POSTGRESQL:
        assert analyzed_since(Partner, started) and analyzed_since(Event, started)


def test_analyze_inside_a_transaction_counts_its_own_rows():
    """What the demo relies on: ANALYZE in the middle of its transaction plans the later queries."""
    assert analyze_tables(Deal, rows=ANALYZE_MIN_ROWS - 1, in_transaction=True) is False
    done = analyze_tables(Deal, Deal, rows=ANALYZE_MIN_ROWS, in_transaction=True)
    assert done is POSTGRESQL


def test_deals_import_looks_existing_deals_up_by_external_id_without_sorting(world, tmp_path):
    """An ORDER BY on the lookup made SQLite walk the (workspace, registered_at) index for every batch of
    a large import instead of the external-id index: 100,000 rows took twice as long."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = tmp_path / "deals.csv"
    path.write_text("external_id,partner_external_id,customer_name,amount\nD-1,A-1,Initech,100\n")
    with CaptureQueriesContext(connection) as queries:
        call_command("import", "deals", str(path), "--format", "canonical")
    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and '"deals_deal"."external_id" IN' in q["sql"]
    ]
    assert lookups and all("ORDER BY" not in sql for sql in lookups)
