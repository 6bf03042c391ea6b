"""Inputs that change after accrual, around refunds and wins: a won deal saved again or moved between won
stages keeps its commission; refunds summing to more than the sale take no more than a full refund (the
commission and the partner's lifetime amount); a flat reward per event is prorated by refunds like a
percentage (a full refund leaves 0), a threshold bonus follows its period."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import T0, convert, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import link, won_deal
from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services
from openprm.deals.models import Deal, Outcome, PipelineStage

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.timedelta(days=1)
DEAL_10 = {"rules": [{"key": "resale", "event": ["deal_won"], "reward": {"type": "percent", "rate": 10}}]}


def ledger() -> list[tuple[str, Decimal, datetime.datetime]]:
    return [(e.idempotency_key, e.amount, e.occurred_at) for e in entries()]


# --- 2. a won deal moved won → won ------------------------------------------------------------------------


def test_a_won_deal_saved_again_is_not_redated_or_repaid(world):
    publish(world, DEAL_10)
    ws = world.workspace.pk
    deal = won_deal(world, "10000")
    accrual.accrue_catch_up(workspace_id=ws)
    before = ledger()
    assert [amount for _, amount, _ in before] == [D("1000.00")]
    with scope(world.system.access_scope()):
        fresh = Deal.objects.get(pk=deal.pk)
        deal_services.deal_update(actor=world.system, deal=fresh, data={"customer_name": "Renamed Inc"})
        Deal.objects.get(pk=deal.pk).save()
    accrual.accrue_catch_up(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert ledger() == before


def test_a_won_deal_moved_to_another_won_stage_keeps_its_close_and_commission(world):
    publish(world, DEAL_10)
    ws = world.workspace.pk
    deal = won_deal(world, "10000")
    with unscoped():
        won = PipelineStage.objects.get(program_id=deal.program_id, key="closed_won")
        PipelineStage.objects.create(
            workspace_id=won.workspace_id,
            program_id=won.program_id,
            key="won_signed",
            name="Won, contract signed",
            order=won.order + 1,
            win_probability=D("1"),
            outcome=Outcome.WON,
        )
    accrual.accrue(workspace_id=ws)
    before = ledger()
    with scope(world.system.access_scope()):
        fresh = Deal.objects.get(pk=deal.pk)
        deal_services.deal_move_stage(actor=world.system, deal=fresh, stage_key="won_signed")
    accrual.accrue_catch_up(workspace_id=ws)
    assert ledger() == before  # not reversed at T0 and paid again in the month of the move
    with unscoped():
        assert Deal.objects.get(pk=deal.pk).closed_at == T0


# --- 3. refunds summing to more than the sale -------------------------------------------------------------


LIFETIME_BONUS: dict[str, Any] = {
    "rules": [
        {"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": 10}},
        {
            "key": "loyalty",
            "event": "purchase",
            "bonus": True,
            "reward": {"type": "percent", "rate": 2},
            "conditions": {"all": [{"field": "partner.lifetime_amount", "op": "gt", "value": 45000}]},
        },
    ]
}


def test_refunds_over_a_sale_take_no_more_than_the_sale_from_the_lifetime_amount(world):
    publish(world, LIFETIME_BONUS)
    ws = world.workspace.pk
    first = convert(world, "60000", at=T0)
    convert(world, "-40000", kind="refund", refund_of=first, at=T0 + DAY)
    convert(world, "-40000", kind="refund", refund_of=first, at=T0 + DAY)  # 80,000 refunded of 60,000
    convert(world, "50000", at=T0 + 2 * DAY)
    last = convert(world, "1000", at=T0 + 5 * DAY)
    accrual.accrue(workspace_id=ws)
    [row] = entries(source_id=last.pk, rule_key="sales")
    assert row.explanation["lifetime_amount"] == "50000.00"  # a full refund's 0 + 50,000; not 30,000
    assert total(source_id=last.pk) == D("120.00")


def test_refunds_over_a_sale_on_several_days_take_what_was_left_in_their_order(world):
    publish(world, LIFETIME_BONUS)
    ws = world.workspace.pk
    first = convert(world, "60000", at=T0)
    convert(world, "-40000", kind="refund", refund_of=first, at=T0 + DAY)
    between = convert(world, "100", at=T0 + 2 * DAY)
    convert(world, "-40000", kind="refund", refund_of=first, at=T0 + 3 * DAY)  # 20,000 of it was left
    convert(world, "50000", at=T0 + 4 * DAY)
    last = convert(world, "100", at=T0 + 6 * DAY)
    accrual.accrue(workspace_id=ws)
    [row] = entries(source_id=between.pk, rule_key="sales")
    assert row.explanation["lifetime_amount"] == "20000.00"
    [row] = entries(source_id=last.pk, rule_key="sales")
    assert row.explanation["lifetime_amount"] == "50100.00"  # it read 30,100.00


# --- 4. flat rewards and refunds ---------------------------------------------------------------------------

FLAT = {
    "overrides": {"levels": [10]},
    "rules": [
        {"key": "sales", "event": ["purchase"], "reward": {"type": "percent", "rate": 10}},
        {"key": "bounty", "event": ["purchase"], "bonus": True, "reward": {"type": "flat", "amount": 50}},
        {
            "key": "goal",
            "event": ["purchase"],
            "reward": {"type": "threshold", "metric": "amount", "threshold": 1500, "amount": 300},
        },
    ],
}


def test_a_flat_bonus_per_sale_is_prorated_by_its_refunds_over_refunds_included(world):
    publish(world, FLAT)
    link(world)
    ws = world.workspace.pk
    sale = convert(world, "1000")
    other = convert(world, "1000", at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a, rule_key="bounty") == D("100.00")
    assert total(partner=world.partner_a, rule_key="goal") == D("300.00")  # the month reached 1,500
    convert(world, "-250", kind="refund", refund_of=sale, at=T0 + 2 * DAY)
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk, partner=world.partner_a, rule_key="sales") == D("75.00")
    assert total(source_id=sale.pk, partner=world.partner_a, rule_key="bounty") == D("37.50")  # was 50.00
    assert total(source_id=sale.pk, partner=world.partner_b) == D("11.25")  # 10% of 75 + 37.50
    assert total(partner=world.partner_a, rule_key="goal") == D("300.00")  # 1,750 still reach 1,500
    convert(world, "-750", kind="refund", refund_of=sale, at=T0 + 3 * DAY)
    convert(world, "-600", kind="refund", refund_of=sale, at=T0 + 4 * DAY)  # refunded beyond the sale
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("0.00")  # it stayed at 50.00 (the bounty), 5.00 (its override)
    assert total(source_id=other.pk, partner=world.partner_a) == D("150.00")  # 100 + 50, the goal lost
    assert total(partner=world.partner_a, rule_key="goal") == D("0.00")  # 1,000 left in the month
    assert total(partner=world.partner_b) == D("15.00")
