"""`prm bench deals-import`: the JSON it prints, both sides writing the same rows, and the clean-up."""

from __future__ import annotations

import csv
import json

import pytest
from django.core.management.base import CommandError
from django.db import connection

from openprm.bench.deals_import import bench_deals_import, generate_deals_csv
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.deals.models import CustomerKey, Deal, DealStageChange
from openprm.integrations.tests.helpers import run

pytestmark = pytest.mark.django_db

KEYS = {"bench", "database", "rows", "ours_rows_per_s", "baseline_rows_per_s", "ratio", "target"}


def table_counts() -> tuple[int, int, int, int]:
    with unscoped():
        return (
            Workspace.objects.count(),
            Deal.objects.count(),
            DealStageChange.objects.count(),
            CustomerKey.objects.count(),
        )


def test_deals_import_bench_prints_json_and_cleans_up(workspace):
    before = table_counts()

    out, _ = run("bench", "deals-import", "--rows", "2000", "--json")

    result = json.loads(out)
    assert result.keys() >= KEYS
    assert result["bench"] == "deals-import" and result["rows"] == 2000 and result["target"] == 0.3
    assert result["database"] == connection.vendor
    assert result["ours_deals_written"] == result["baseline_deals_written"] == 2000
    assert result["baseline_rows_read"] == 2000
    assert result["ours_stage_changes_written"] > 2000 and result["ours_keys_written"] > 2000
    assert result["ours_audit_entries_written"] == 2000  # one per imported deal, as registration writes
    for key in ("ours_rows_per_s", "baseline_rows_per_s", "ratio"):
        assert isinstance(result[key], float) and result[key] > 0
    assert result["ratio"] == pytest.approx(  # the printed ratio is rounded to 3 places
        result["ours_rows_per_s"] / result["baseline_rows_per_s"], rel=0.01, abs=0.0005
    )
    assert table_counts() == before  # the scratch workspaces and their rows are gone


def test_keep_leaves_the_scratch_workspaces_and_repeat_runs_both_sides_again(workspace):
    before = table_counts()

    result = json.loads(run("bench", "deals-import", "--rows", "300", "--json", "--keep", "--repeat", "2")[0])

    assert (
        result["repeat"] == 2 and len(result["ours_seconds_all"]) == len(result["baseline_seconds_all"]) == 2
    )
    with unscoped():
        kept = Workspace.objects.filter(slug__startswith="bench-")
        assert kept.count() == 2  # the last round's two workspaces
        assert Deal.objects.filter(workspace__in=kept).count() == 600
    assert table_counts()[1] == before[1] + 600


def test_human_readable_output_and_bad_arguments(workspace):
    out, _ = run("bench", "deals-import", "--rows", "50")
    assert "ours_rows_per_s" in out and "baseline_rows_per_s" in out
    with pytest.raises(CommandError, match="at least 1"):
        run("bench", "deals-import", "--rows", "0")
    with pytest.raises(CommandError, match="invalid choice"):
        run("bench", "nope")


def test_generated_file_is_deterministic(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    generate_deals_csv(first, rows=200, partners=5, customers=20)
    generate_deals_csv(second, rows=200, partners=5, customers=20)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().count("\n") == 201


def test_generated_file_has_pending_registrations_and_cross_partner_customers(tmp_path):
    """What makes the conflict check work: customers with deals of several partners, some awaiting a
    decision, open deals among the recent ones only."""
    path = tmp_path / "deals.csv"
    generate_deals_csv(path, rows=20_000, partners=50, customers=500)
    rows = list(csv.DictReader(path.open()))
    partners_of: dict[str, set[str]] = {}
    for row in rows:
        partners_of.setdefault(row["customer_name"], set()).add(row["partner_external_id"])
    shared = sum(1 for found in partners_of.values() if len(found) > 1)
    assert 0.3 * len(partners_of) < shared < len(partners_of)  # overlap, but most deals go home
    pending = [row for row in rows if row["approval_status"] == "submitted"]
    assert pending and all(not row["stage"].startswith("closed_") for row in pending)
    assert all(row["registered_at"] >= "2025-08-01" for row in rows if not row["stage"].startswith("closed_"))


def test_the_bench_finds_conflicts_in_its_file(workspace):
    result = bench_deals_import(rows=3000, partners=20, customers=150)
    assert result["ours_conflicts_found"] > 0 and result["ours_audit_entries_written"] == 3000
