"""A flat reward with a period cap (its rule re-evaluated with the period) keeps the refund's proration:
the period re-evaluation does not give the refunded share back."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import T0, convert, publish, total

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.mark.parametrize("bonus", [True, False])
@pytest.mark.parametrize("cap", [{"per_period": 1000}, None])
def test_flat_reward_refunded_a_quarter(world, bonus, cap):
    rule: dict[str, Any] = {
        "key": "kicker",
        "event": ["purchase"],
        "bonus": bonus,
        "reward": {"type": "flat", "amount": 50},
    }
    if cap:
        rule["caps"] = cap
    publish(world, {"rules": [rule]})
    ws = world.workspace.pk
    sale = convert(world, "1000", customer="c9")
    accrual.accrue(workspace_id=ws)
    convert(world, "-250", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue_catch_up(workspace_id=ws)
    assert total(rule_key="kicker") == D("37.50")  # prorated, as the README says
    accrual.accrue(workspace_id=ws)  # a full run settles nothing more
    assert total(rule_key="kicker") == D("37.50")
