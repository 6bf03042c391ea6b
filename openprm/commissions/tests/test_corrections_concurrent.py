"""Two workers correcting the same changes at the same time write every correction once (PostgreSQL: the
workspace's accrual lock, the unique keys, the corrections computed from the ledger under the lock)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import convert, publish, total
from openprm.commissions.tests.test_corrections_engine import deal_rule, edit, move, won_deal
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal
from openprm.testing import World

D = Decimal


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_accruals_write_each_correction_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database cannot be written from several threads")
    rules = deal_rule({"type": "percent", "rate": 10}, caps={"per_event": 500})
    rules["rules"].append({"key": "sales", "event": ["purchase"], "reward": {"type": "percent", "rate": 20}})
    publish(world, rules)
    ws = world.workspace.pk
    raised, again = won_deal(world, "4000"), won_deal(world, "3000")
    sale = convert(world, "1000.00", key="moved")
    accrual.accrue(workspace_id=ws)
    move(world, again, "closed_lost")
    accrual.accrue(workspace_id=ws)
    edit(Deal, raised, amount=D("10000"))
    move(world, again, "closed_won")
    edit(Conversion, sale, partner=world.partner_b)
    start = threading.Barrier(3)
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            results.append(accrual.accrue(workspace_id=ws).rows)
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
    assert sorted(results)[:2] == [0, 0] and max(results) > 0
    assert total(partner=world.partner_a) == D("800.00")  # 500 (capped) + 300 (won again)
    assert total(partner=world.partner_b) == D("200.00")
    with unscoped():
        keys = list(LedgerEntry.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))
