"""A late or corrected earlier sale moves the partner's lifetime amount under events evaluated before:
they are evaluated again and the differences are new rows (never edits); replay and re-runs agree."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual
from openprm.commissions.services.replay import replay
from openprm.commissions.tests.test_accrual import convert, entries, publish, total
from openprm.commissions.tests.test_lifetime_accrual import LOYALTY, at, deal
from openprm.core.scoping import unscoped
from openprm.testing import World

pytestmark = pytest.mark.django_db
D = Decimal


def snapshot() -> dict[int, tuple[Any, ...]]:
    """Every row as written (what must never change)."""
    with unscoped():
        return {
            e.pk: (e.idempotency_key, e.amount, e.kind, e.explanation)
            for e in LedgerEntry.objects.order_by("id")
        }


def kept(before: dict[int, tuple[Any, ...]]) -> bool:
    now = snapshot()
    return all(now[pk][:3] == row[:3] for pk, row in before.items())


def test_a_late_earlier_sale_lifts_a_later_event_over_the_threshold(world: World) -> None:
    publish(world, LOYALTY)
    ws = world.workspace.pk
    convert(world, "90000.00", at=at(3, 2))
    april = convert(world, "20000.00", at=at(4, 5))  # lifetime 90,000: no extra
    accrual.accrue(workspace_id=ws)
    assert total() == D("11000.00")
    before = snapshot()
    late = convert(world, "15000.00", at=at(3, 20))  # arrives late: 105,000 before April 5
    result = accrual.accrue(workspace_id=ws, conversion_ids=[late.pk])
    assert kept(before)
    [extra] = [e for e in entries(source_id=april.pk) if e.pk not in before]
    assert (extra.rule_key, extra.kind, extra.amount, extra.state) == (
        "loyalty",
        "bonus",
        D("400.00"),
        "pending",
    )
    assert extra.explanation["lifetime_amount"] == "105000.00"
    assert "lifetime amount 90000.00 → 105000.00" in extra.explanation["detail"]
    assert total() == D("12900.00") and result.rows == 2
    # Again: nothing more; the catch-up and a full run find nothing to correct.
    assert accrual.accrue(workspace_id=ws).rows == 0
    accrual.accrue_catch_up(workspace_id=ws)
    assert total() == D("12900.00")
    # The replay (every event at the figure it reads now) is byte-identical to the ledger.
    replayed = replay(workspace_id=ws, start=at(1, 1, 0), end=at(7, 1, 0))
    assert replayed.ok and replayed.identical == replayed.compared == 4


def test_a_late_refund_takes_the_extra_back_with_an_adjustment(world: World) -> None:
    publish(world, LOYALTY)
    ws = world.workspace.pk
    big = convert(world, "110000.00", at=at(3, 2))
    later = convert(world, "10000.00", at=at(3, 15))  # 110,000: extra 200
    accrual.accrue(workspace_id=ws)
    [bonus] = entries(source_id=later.pk, rule_key="loyalty")
    assert bonus.amount == D("200.00")
    before = snapshot()
    refund = convert(world, "20000.00", kind="refund", refund_of=big, at=at(3, 10))  # before the 15th
    accrual.accrue(workspace_id=ws, conversion_ids=[refund.pk])
    assert kept(before)
    [undo] = [e for e in entries(source_id=later.pk) if e.pk not in before]
    assert (undo.kind, undo.amount, undo.reverses_id, undo.rule_key) == (
        "adjustment",
        D("-200.00"),
        bonus.pk,
        "loyalty",
    )
    assert undo.explanation["lifetime_amount"] == "90000.00"
    assert total(source_id=later.pk) == D("1000.00")
    accrual.accrue(workspace_id=ws)
    assert total(source_id=later.pk) == D("1000.00")  # settled once
    # The replay reads 90,000 before the 15th: no extra, as the ledger stands after the adjustment.
    replayed = replay(workspace_id=ws, start=at(1, 1, 0), end=at(7, 1, 0))
    assert replayed.ok and replayed.identical == replayed.compared == 2


def test_a_deal_lost_after_it_counted_lowers_the_figure_and_a_sale_won_again_raises_it(world: World) -> None:
    from openprm.deals import services as deal_services
    from openprm.deals.models import Deal

    publish(world, LOYALTY)
    ws = world.workspace.pk
    won = deal(world, "100000", "USD", closed=at(3, 3))
    sale = convert(world, "5000.00", at=at(3, 10))  # 100,000 + 0: not over
    convert(world, "1000.00", at=at(3, 4))  # 100,000 before the 4th... 101,000 before the 10th
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk, rule_key="loyalty") == D("100.00")
    from openprm.core.scoping import scope

    with scope(world.system.access_scope()):
        deal_services.deal_move_stage(
            actor=world.system,
            deal=Deal.objects.get(pk=won.pk),
            stage_key="closed_lost",
            lost_reason="Budget",
        )
    accrual.accrue_catch_up(workspace_id=ws)  # the deal changed: its partner's later events re-checked
    assert total(source_id=sale.pk, rule_key="loyalty") == D("0.00")
    assert total(source_id=sale.pk) == D("500.00")


def test_moving_a_sale_to_another_partner_moves_the_figure_of_both(world: World) -> None:
    publish(world, LOYALTY)
    ws = world.workspace.pk
    moved = convert(world, "120000.00", at=at(3, 2))
    a_later = convert(world, "1000.00", at=at(3, 9))
    b_later = convert(world, "1000.00", at=at(3, 9), partner=world.partner_b)
    accrual.accrue(workspace_id=ws)
    assert total(source_id=a_later.pk, rule_key="loyalty") == D("20.00")
    assert total(source_id=b_later.pk, rule_key="loyalty") == D("0.00")
    with unscoped():
        Conversion.objects.filter(pk=moved.pk).update(partner=world.partner_b, updated_at=timezone.now())
    accrual.accrue(workspace_id=ws, conversion_ids=[moved.pk])
    assert total(source_id=a_later.pk, rule_key="loyalty") == D("0.00")
    assert total(source_id=b_later.pk, rule_key="loyalty") == D("20.00")
    assert accrual.accrue(workspace_id=ws).rows == 0


TIERED = {
    "rules": [
        {
            "key": "tiers",
            "event": "purchase",
            "reward": {
                "type": "tiered",
                "period": "month",
                "tiers": [{"from": 0, "rate": 10}, {"from": 10000, "rate": 15}],
            },
            "conditions": {"all": [{"field": "partner.lifetime_amount", "op": "gte", "value": 50000}]},
        },
        {"key": "base", "event": "purchase", "reward": {"type": "percent", "rate": 1}, "priority": 200},
    ]
}


def test_a_period_re_evaluated_after_a_refund_tests_the_lifetime_condition_as_the_accrual_did(
    world: World,
) -> None:
    publish(world, {**TIERED})
    ws = world.workspace.pk
    convert(world, "60000.00", at=at(3, 2))  # lifetime 0: the base 1%
    first = convert(world, "5000.00", at=at(4, 3))  # 60,000: tiers, 10%
    second = convert(world, "6000.00", at=at(4, 5))  # 5,000 at 10% + 1,000 at 15%
    accrual.accrue(workspace_id=ws)
    assert [total(source_id=c.pk) for c in (first, second)] == [D("500.00"), D("650.00")]
    convert(world, "5000.00", kind="refund", refund_of=first, at=at(4, 4))
    accrual.accrue(workspace_id=ws)
    # April again from its start: the first sale refunded, the second's 6,000 all in the first tier
    # (its lifetime amount, 60,000, still over 50,000: the tiers still apply)
    assert [total(source_id=c.pk) for c in (first, second)] == [D("0.00"), D("600.00")]
    assert accrual.accrue(workspace_id=ws).rows == 0
