"""The same sales earn the same whatever the runs that accrue them: a rule key paid as a percent in one
version and as volume tiers in the next counts the earlier version's volume in one run as in two."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import convert, publish, total
from openprm.testing import World

pytestmark = pytest.mark.django_db
D = Decimal
PERCENT = {"rules": [{"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": 5}}]}
TIERED = {
    "rules": [
        {
            "key": "sales",
            "event": "purchase",
            "reward": {
                "type": "tiered",
                "period": "month",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 5}, {"from": 1000, "rate": 10}],
            },
        }
    ]
}


@pytest.mark.parametrize("batched", [False, True])
def test_a_rule_made_tiered_mid_month_counts_the_same_volume_in_one_run_or_two(
    world: World, batched: bool
) -> None:
    plan = publish(world, PERCENT)
    publish(world, TIERED, plan=plan, effective=datetime.date(2026, 3, 15))
    early = convert(world, "1000", at=datetime.datetime(2026, 3, 5, 12, tzinfo=datetime.UTC))
    late = convert(world, "500", at=datetime.datetime(2026, 3, 20, 12, tzinfo=datetime.UTC))
    ws = world.workspace.pk
    if batched:
        accrual.accrue(workspace_id=ws, conversion_ids=[early.pk])
        accrual.accrue(workspace_id=ws, conversion_ids=[late.pk])
    else:
        accrual.accrue(workspace_id=ws)
    assert total(source_id=early.pk) == D("50.00")
    assert total(source_id=late.pk) == D("50.00")  # the month's volume was 1,000 already: 10%
