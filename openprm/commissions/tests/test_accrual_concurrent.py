"""Two workers accruing the same events at the same time write every row once (PostgreSQL: the
workspace's accrual lock and the unique idempotency keys)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import PERCENT_20, convert, publish
from openprm.core.scoping import unscoped
from openprm.testing import World


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_accruals_write_each_row_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database cannot be written from several threads")
    publish(world, PERCENT_20)
    for i in range(40):
        convert(world, f"{100 + i}.00", key=f"concurrent-{i}")
    start = threading.Barrier(3)
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            results.append(accrual.accrue(workspace_id=world.workspace.pk).rows)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [0, 0, 40]
    with unscoped():
        keys = list(LedgerEntry.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 40
