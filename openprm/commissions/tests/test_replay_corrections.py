"""Replay after corrections (deterministic replay): re-running the engine over a window agrees
with the ledger's net of each evaluation row — the row, its adjustments (``:fixN``, ``:outN``/``:inN``),
the overrides' follow-ups, a closing reversal, later generations (``#2``) and refund reversals — after an
amount corrected, a conversion moved to another partner, a deal won → lost → won, refunds (prorated
per-event rewards, tiers re-evaluated at net amounts) and a purchase retyped; and it names the row when
the ledger is deliberately wrong by a cent (a replay that cannot fail proves nothing)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual
from openprm.commissions.services.replay import ReplayResult, replay
from openprm.commissions.tests.test_accrual import T0, convert, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import edit, link, move, won_deal
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.timedelta(days=1)
MARCH = (
    datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
    datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC),
)
PLAN = {
    "overrides": {"levels": [10]},
    "rules": [
        {"key": "deals", "event": ["deal_won"], "reward": {"type": "percent", "rate": 10}},
        {
            "key": "sales",
            "event": ["purchase"],
            "reward": {
                "type": "tiered",
                "period": "month",
                "mode": "retroactive",
                "tiers": [{"from": 0, "rate": 10}, {"from": 1500, "rate": 12}],
            },
        },
        {"key": "subs", "event": ["recurring_payment"], "reward": {"type": "percent", "rate": 20}},
        {"key": "bounty", "event": ["purchase"], "bonus": True, "reward": {"type": "flat", "amount": 50}},
    ],
}


def check(world: Any, window: tuple[datetime.datetime, datetime.datetime] = MARCH) -> ReplayResult:
    return replay(workspace_id=world.workspace.pk, start=window[0], end=window[1])


def agrees_and_catches(world: Any, wrong: LedgerEntry, window: Any = MARCH) -> None:
    """Replay agrees with the ledger; a cent posted to ``wrong``'s evaluation makes it name that row."""
    result = check(world, window)
    assert result.differences == [] and result.compared > 0
    assert result.total_replayed == result.total_ledger
    with unscoped():
        skew = LedgerEntry.objects.get(pk=wrong.pk)
        skew.pk = None
        skew.public_id = uuid.uuid4()
        skew.idempotency_key = f"test-skew-{wrong.pk}"
        skew.kind = LedgerEntry.Kind.ADJUSTMENT
        skew.amount = D("0.01")
        skew.reverses_id = wrong.pk
        skew.created_at = timezone.now()
        skew.save()
    [difference] = check(world, window).differences
    assert difference["key"] == wrong.idempotency_key.replace("#2", "")
    assert D(difference["ledger"]) - D(difference["replayed"]) == D("0.01")


def test_replay_agrees_after_an_amount_correction(world):
    publish(world, PLAN)
    link(world)
    ws = world.workspace.pk
    first = convert(world, "1000")
    convert(world, "1000", at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("340.00")  # 120 + 120 (12% retroactive), 2 × 50
    edit(Conversion, first, amount=D("300"))
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("230.00")  # 1,300: 10% of each, 2 × 50
    assert total(partner=world.partner_b) == D("23.00")
    [anchor] = entries(source_id=first.pk, kind="accrual", rule_key="sales", reverses__isnull=True)
    agrees_and_catches(world, anchor)  # the ledger kept c1:purchase:sales at 120.00 before: 2 differences


def test_replay_agrees_after_a_conversion_moved_to_another_partner(world):
    publish(world, PLAN)
    ws = world.workspace.pk
    sale = convert(world, "1000")
    accrual.accrue(workspace_id=ws)
    edit(Conversion, sale, partner=world.partner_b)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("0.00") and total(partner=world.partner_b) == D("150.00")
    [anchor] = entries(partner=world.partner_b, rule_key="sales", reverses__isnull=True)
    assert "#2" in anchor.idempotency_key
    agrees_and_catches(world, anchor)


def test_replay_agrees_after_a_deal_won_lost_and_won_again(world):
    publish(world, PLAN)
    link(world)
    ws = world.workspace.pk
    deal = won_deal(world, "10000")
    accrual.accrue(workspace_id=ws)
    move(world, deal, "closed_lost")
    accrual.accrue_catch_up(workspace_id=ws)
    assert total(partner=world.partner_a) == D("0.00")
    assert check(world).differences == []  # the closed generation nets to 0, nothing won in March
    move(world, deal, "closed_won")  # won again now: a new generation
    accrual.accrue_catch_up(workspace_id=ws)
    assert total(partner=world.partner_a) == D("1000.00") and total(partner=world.partner_b) == D("100.00")
    with unscoped():
        closed = Deal.objects.get(pk=deal.pk).closed_at
    assert closed is not None
    [anchor] = entries(source_event="deal_won", kind="accrual", idempotency_key__contains="#2")
    agrees_and_catches(world, anchor, (MARCH[0], closed + DAY))


def test_replay_agrees_at_the_refund_adjusted_net(world):
    publish(world, PLAN)
    link(world)
    ws = world.workspace.pk
    first = convert(world, "1000")
    convert(world, "1000", at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    convert(world, "-250", kind="refund", refund_of=first, at=T0 + 2 * DAY)
    accrual.accrue(workspace_id=ws)
    # 1,750 net still reaches 12%: 210.00 for the month; the first's bounty prorated to 37.50
    assert total(partner=world.partner_a) == D("297.50")
    assert total(source_id=first.pk, rule_key="bounty", partner=world.partner_a) == D("37.50")
    assert check(world).differences == []
    convert(world, "-350", kind="refund", refund_of=first, at=T0 + 3 * DAY)
    accrual.accrue(workspace_id=ws)
    # 1,400 net: back to 10% (the month re-evaluated at net amounts: 140.00), the bounty at 60% of 50
    assert total(partner=world.partner_a) == D("210.00")
    [bounty] = entries(source_id=first.pk, rule_key="bounty", kind="bonus", reverses__isnull=True)
    agrees_and_catches(world, bounty)


def test_replay_agrees_after_a_purchase_retyped_to_a_recurring_payment(world):
    publish(world, PLAN)
    ws = world.workspace.pk
    sale = convert(world, "1000")
    accrual.accrue(workspace_id=ws)
    edit(Conversion, sale, kind="recurring_payment")
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("200.00")  # 20% as a payment; the purchase's rows reversed
    [anchor] = entries(source_id=sale.pk, rule_key="subs", reverses__isnull=True)
    agrees_and_catches(world, anchor)


def test_a_registration_bounty_kept_after_the_deal_was_edited_is_not_a_difference(world):
    bounty = {
        "key": "registered",
        "event": ["deal_registered"],
        "reward": {"type": "flat", "amount": 100},
        "conditions": {"all": [{"field": "amount", "op": "gt", "value": 5000}]},
    }
    publish(world, {"rules": [*PLAN["rules"], bounty]})
    ws = world.workspace.pk
    deal = won_deal(world, "10000")
    accrual.accrue(workspace_id=ws)
    window = (MARCH[0], timezone.now() + DAY)  # the registration is now, the win in March
    result = check(world, window)
    assert result.differences == [] and result.estimates == 0 and result.compared == 2
    edit(Deal, deal, amount=D("3000"))
    accrual.accrue(workspace_id=ws)
    assert total(source_event="deal_registered") == D("100.00")  # the deal then was an estimate
    assert total(source_event="deal_won") == D("300.00")
    result = check(world, window)
    # the replay reads the deal as it is now (3,000: no bounty): the kept bounty is counted apart
    assert result.differences == [] and result.estimates == 1
    [anchor] = entries(source_event="deal_won", kind="accrual")
    agrees_and_catches(world, anchor, window)


def test_replay_agrees_when_a_correction_leaves_an_event_earning_nothing(world):
    big = {
        "key": "big",
        "event": ["purchase"],
        "reward": {"type": "percent", "rate": 10},
        "conditions": {"all": [{"field": "amount", "op": "gt", "value": 500}]},
    }
    publish(world, {"rules": [big]})
    ws = world.workspace.pk
    sale = convert(world, "1000")
    other = convert(world, "2000", at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    edit(Conversion, sale, amount=D("300"))
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("0.00")  # :big nets to 0; the replay writes a zero :- row
    [anchor] = entries(source_id=other.pk, reverses__isnull=True)
    agrees_and_catches(world, anchor)
