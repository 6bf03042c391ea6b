"""A conversion or deal moved to another program: another plan applies, so its evaluation closes and a
new generation is evaluated under the plan of now (like a move to another partner)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.activity.models import Conversion
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import T0, convert, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import edit, won_deal
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal
from openprm.partners.models import Program

pytestmark = pytest.mark.django_db
D = Decimal


def _percent(rate: int, event: str) -> dict[str, Any]:
    return {"rules": [{"key": "sales", "event": [event], "reward": {"type": "percent", "rate": rate}}]}


def _programs(world: Any, event: str) -> tuple[Program, Program]:
    with unscoped():
        p1 = Program.objects.get(workspace=world.workspace, is_default=True)
        p2 = Program.objects.create(workspace=world.workspace, name="Resellers")
    publish(world, _percent(10, event), name="A", target=p1.pk)
    publish(world, _percent(30, event), name="B", target=p2.pk)
    return p1, p2


@pytest.mark.parametrize("run", ["catch_up", "full"])
def test_conversion_moved_to_another_programs_plan(world, run):
    p1, p2 = _programs(world, "purchase")
    ws = world.workspace.pk
    sale = convert(world, "1000")
    edit(Conversion, sale, program_id=p1.pk)
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00")
    edit(Conversion, sale, program_id=p2.pk)
    if run == "catch_up":
        accrual.accrue_catch_up(workspace_id=ws)
    else:
        accrual.accrue(workspace_id=ws)
    assert total() == D("300.00")
    first, second = [e for e in entries() if e.kind == "accrual"]
    assert second.idempotency_key.endswith("#2:sales") and second.plan_id != first.plan_id
    assert [e.idempotency_key.split(":")[1] for e in entries(kind="reversal")] == ["moved"]
    accrual.accrue(workspace_id=ws)  # settled: nothing more
    assert total() == D("300.00")
    refund = convert(world, "-250", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    edit(Conversion, refund, program_id=p2.pk)
    accrual.accrue_catch_up(workspace_id=ws)
    assert total() == D("225.00")  # the new plan's commission prorated; the closed one stays closed


def test_deal_moved_to_another_programs_plan(world):
    p1, p2 = _programs(world, "deal_won")
    ws = world.workspace.pk
    deal = won_deal(world, "1000")
    edit(Deal, deal, program_id=p1.pk)
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00")
    edit(Deal, deal, program_id=p2.pk)
    accrual.accrue_catch_up(workspace_id=ws)
    assert total() == D("300.00")


def test_plan_archived_changes_nothing(world):
    p1, _ = _programs(world, "purchase")
    ws = world.workspace.pk
    sale = convert(world, "1000", at=T0 + datetime.timedelta(days=1))
    edit(Conversion, sale, program_id=p1.pk)
    accrual.accrue(workspace_id=ws)
    from openprm.commissions.models import Plan

    with unscoped():
        Plan.objects.filter(workspace=world.workspace, name="A").update(archived_at=T0)
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00")  # what its plan paid then stays
