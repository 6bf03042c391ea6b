"""Other inputs changed under an evaluated event are settled once: the new fingerprint is recorded even
when the change settles nothing (a zero adjustment marks it) or only rules re-evaluated with their period
(tiers, thresholds, caps) move, so the next run re-evaluates nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.services import accrual, corrections, inputs
from openprm.commissions.services import sources as src
from openprm.commissions.services.context import load_context
from openprm.commissions.tests.test_accrual import convert, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import edit, won_deal
from openprm.commissions.tests.test_inputs_changes import SPIFF, set_products
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db
D = Decimal
TIER_PRO = {
    "rules": [
        {
            "key": "pro",
            "event": ["purchase"],
            "reward": {
                "type": "tiered",
                "period": "month",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}],
            },
            "conditions": {"all": [{"field": "metadata.plan", "op": "eq", "value": "pro"}]},
        }
    ]
}


def _again(ws: int, sources: list[src.Source]) -> list[tuple[str, int, str]]:
    """What a run would re-evaluate among ``sources`` now."""
    with unscoped():
        ctx = load_context(ws)
        again = corrections.revisit(ws, sources, timezone.now(), inputs.for_context(ctx))
    return [(s.kind, s.id, s.event) for s, _ in again.changed]


def test_a_change_that_settles_nothing_is_recorded(world):
    publish(world, SPIFF)
    ws = world.workspace.pk
    deal = won_deal(world, "10000")
    accrual.accrue(workspace_id=ws)
    before = total()
    set_products(world, deal, "Basic")  # the spiff's condition reads the products: still not met
    accrual.accrue(workspace_id=ws)
    assert total() == before
    [mark] = [e for e in entries() if e.idempotency_key.split(":")[-1].startswith("mark")]
    assert mark.amount == 0 and mark.kind == "adjustment" and inputs.KEY in mark.explanation
    with unscoped():
        won = [x for d in src.deals(ws) for x in d.sources if x.event == "deal_won"]
    assert _again(ws, won) == []
    rows = len(entries())
    accrual.accrue(workspace_id=ws)
    assert len(entries()) == rows


def test_a_tiered_rules_input_change_is_recorded(world):
    publish(world, TIER_PRO)
    ws = world.workspace.pk
    sale = convert(world, "1000")
    edit(Conversion, sale, properties={"plan": "basic"})
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")
    edit(Conversion, sale, properties={"plan": "pro"})
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00")
    with unscoped():
        assert _again(ws, src.conversions(ws)) == []
    rows = len(entries())
    accrual.accrue(workspace_id=ws)
    assert len(entries()) == rows and total() == D("100.00")


def test_an_archived_plans_events_are_not_compared(world):
    from openprm.commissions.models import Plan
    from openprm.commissions.services import plans
    from openprm.commissions.tests.test_inputs_changes import NEW_CUSTOMERS
    from openprm.core.scoping import scope

    publish(world, NEW_CUSTOMERS, name="A")
    ws = world.workspace.pk
    for i in range(3):
        convert(world, "100", customer=f"x{i}")
    accrual.accrue(workspace_id=ws)
    with scope(world.system.access_scope()):
        plans.plan_update(actor=world.system, plan=Plan.objects.get(name="A"), archived=True)
    publish(
        world,
        {"rules": [{"key": "x", "event": ["signup"], "reward": {"type": "flat", "amount": 1}}]},
        name="B",
    )
    with unscoped():
        assert _again(ws, src.conversions(ws, customers=True)) == []
