"""prm bench commissions at a tiny scale: every conversion accrued, both sides timed, nothing kept."""

from __future__ import annotations

import pytest

from openprm.bench.commissions import bench_accrual, bench_whatif
from openprm.commissions.models import LedgerEntry
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db


def test_tiny_accrual_bench_leaves_nothing_behind() -> None:
    found = bench_accrual(conversions=300, partners=7)
    assert found["ledger_rows"] == found["evaluated"] == 300
    assert found["raw_insert_s"] > 0 and found["accrue_s"] > 0 and found["ratio"] is not None
    with unscoped():
        assert not LedgerEntry.objects.exists()
        assert not Workspace.objects.filter(slug__startswith="bench-comm-").exists()
    whatif = bench_whatif(months=12)
    assert whatif["months"] == 12 and whatif["events"] == 0
