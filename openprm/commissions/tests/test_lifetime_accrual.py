"""Conditions on the partner's lifetime amount (``partner.lifetime_amount``): the partner's counted sales
before the event's day, net of refunds, in the plan's currency at each sale's own rate. Worked example
over two months, the day boundary, refunds, won deals in another currency, a missing rate, replay and
the what-if agreeing with the accrual."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.commissions.models import PlanVersion
from openprm.commissions.services import accrual, plans, simulate
from openprm.commissions.services.replay import replay
from openprm.commissions.tests.test_accrual import convert, entries, publish, total
from openprm.core.scoping import scope, unscoped
from openprm.testing import World

pytestmark = pytest.mark.django_db
D = Decimal
UTC = datetime.UTC


def at(month: int, day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=UTC)


# "10% of every sale, and an extra 2% once the partner's lifetime sales exceed 100,000"
LOYALTY: dict[str, Any] = {
    "rules": [
        {"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": 10}},
        {
            "key": "loyalty",
            "label": "Extra 2% over 100k lifetime",
            "event": "purchase",
            "bonus": True,
            "reward": {"type": "percent", "rate": 2},
            "conditions": {"all": [{"field": "partner.lifetime_amount", "op": "gt", "value": 100000}]},
        },
    ]
}


def lines(**filters: Any) -> list[tuple[str, str, Decimal]]:
    """(day, rule, amount) of the ledger's rows, in order."""
    return [(e.occurred_at.strftime("%m-%d"), e.rule_key, e.amount) for e in entries(**filters)]


def test_worked_example_extra_two_percent_once_lifetime_sales_exceed_100k_over_two_months(
    world: World,
) -> None:
    publish(world, LOYALTY)
    ws = world.workspace.pk
    convert(world, "60000.00", at=at(3, 2))
    convert(world, "45000.00", at=at(3, 20))  # lifetime 60,000 before its day
    convert(world, "5000.00", at=at(3, 31))  # lifetime 105,000: the extra 2%
    convert(world, "10000.00", at=at(4, 10))  # lifetime 110,000
    convert(world, "150000.00", at=at(4, 10), partner=world.partner_b)  # B's own total: 0 before
    accrual.accrue_range(workspace_id=ws, start=at(3, 1, 0), end=at(5, 1, 0))  # a month per batch
    assert lines(partner=world.partner_a) == [
        ("03-02", "sales", D("6000.00")),
        ("03-20", "sales", D("4500.00")),
        ("03-31", "sales", D("500.00")),
        ("03-31", "loyalty", D("100.00")),
        ("04-10", "sales", D("1000.00")),
        ("04-10", "loyalty", D("200.00")),
    ]
    assert total(partner=world.partner_a) == D("12300.00")
    assert total(partner=world.partner_b) == D("15000.00")
    first = entries(partner=world.partner_a)[0]
    assert first.explanation["lifetime_amount"] == "0.00"
    assert first.explanation["rules"][1] == {
        "rule": "loyalty",
        "ok": False,
        "why": ["partner.lifetime_amount gt 100000: was 0"],
    }
    assert entries(partner=world.partner_a)[-1].explanation["lifetime_amount"] == "110000.00"
    # Replay from the ledger's state: byte-identical; the accrual again writes nothing.
    result = replay(workspace_id=ws, start=at(1, 1, 0), end=at(7, 1, 0))
    assert result.ok and result.identical == result.compared == 7
    assert accrual.accrue(workspace_id=ws).rows == 0


def test_the_threshold_crossed_mid_month_counts_from_the_next_day(world: World) -> None:
    publish(world, LOYALTY)
    convert(world, "99000.00", at=at(3, 10))
    convert(world, "2000.00", at=at(3, 15, 9))  # crosses 100,000 on the 15th at 9:00...
    convert(world, "1000.00", at=at(3, 15, 18))  # ...a later sale that day still sees 99,000
    convert(world, "1000.00", at=at(3, 16, 0))  # the next day, from midnight UTC: 102,000
    accrual.accrue(workspace_id=world.workspace.pk)
    assert [(d, a) for d, r, a in lines() if r == "loyalty"] == [("03-16", D("20.00"))]
    by_day = {e.occurred_at.strftime("%d %H"): e.explanation["lifetime_amount"] for e in entries()}
    assert by_day == {"10 12": "0.00", "15 09": "99000.00", "15 18": "99000.00", "16 00": "102000.00"}


def test_a_refund_pulls_the_total_back_under_from_the_day_after_it(world: World) -> None:
    publish(world, LOYALTY)
    big = convert(world, "110000.00", at=at(3, 2))
    convert(world, "1000.00", at=at(3, 10))  # 110,000: extra
    convert(world, "20000.00", kind="refund", refund_of=big, at=at(3, 12))
    convert(world, "1000.00", at=at(3, 12, 20))  # the refund's own day: still 111,000
    convert(world, "1000.00", at=at(3, 13))  # 112,000 - 20,000 = 92,000: no extra
    accrual.accrue(workspace_id=world.workspace.pk)
    assert [(d, a) for d, r, a in lines() if r == "loyalty"] == [("03-10", D("20.00")), ("03-12", D("20.00"))]
    assert entries(occurred_at=at(3, 13))[0].explanation["lifetime_amount"] == "92000.00"


def deal(
    world: World, amount: str, currency: str, *, closed: datetime.datetime, stage: str = "closed_won"
) -> Any:
    """A deal registered, approved and moved to ``stage``, closed at ``closed``."""
    from openprm.deals import services as deal_services
    from openprm.deals.models import Deal

    with scope(world.system.access_scope()):
        found, _ = deal_services.deal_register(
            actor=world.system,
            data={
                "partner_id": world.partner_a.pk,
                "customer_name": f"Initech {amount} {currency}",
                "customer_domain": f"initech-{amount.replace('.', '-')}-{currency.lower()}.example",
                "amount": amount,
                "currency": currency,
            },
        )
        deal_services.deal_approve(actor=world.system, deal=found, note="ok")
        deal_services.deal_move_stage(actor=world.system, deal=found, stage_key=stage, lost_reason="Budget")
    with unscoped():
        Deal.objects.filter(pk=found.pk).update(closed_at=closed, registered_at=closed)
    return found


def rate(world: World, day: datetime.datetime, base: str, value: str) -> None:
    from openprm.finance.models import FxRate

    with unscoped():
        FxRate.objects.create(
            workspace=world.workspace, day=day.date(), base=base, quote="USD", rate=D(value)
        )


def test_won_deals_count_in_their_currency_at_their_days_rate_and_a_missing_rate_waits(world: World) -> None:
    publish(world, LOYALTY)
    ws = world.workspace.pk
    deal(world, "50000", "EUR", closed=at(3, 3))
    deal(world, "90000", "USD", closed=at(3, 3), stage="closed_lost")  # lost: not counted
    rate(world, at(3, 3), "EUR", "1.2")
    convert(world, "41000.00", at=at(3, 4))
    sale = convert(world, "1000.00", at=at(3, 5))  # 60,000 + 41,000 = 101,000
    accrual.accrue(workspace_id=ws)
    assert [(d, a) for d, r, a in lines() if r == "loyalty"] == [("03-05", D("20.00"))]
    assert entries(source_id=sale.pk)[0].explanation["lifetime_amount"] == "101000.00"
    # A sale in a currency without a rate on its day: the events after it wait, as for their own rate.
    deal(world, "10", "GBP", closed=at(3, 6))
    later = convert(world, "1000.00", at=at(3, 7))
    result = accrual.accrue(workspace_id=ws)
    assert result.evaluated == 0 and "lifetime amount" in result.missing_fx[0]
    assert entries(source_id=later.pk) == []
    rate(world, at(3, 6), "GBP", "1.3")
    accrual.accrue_catch_up(workspace_id=ws)
    assert entries(source_id=later.pk)[0].explanation["lifetime_amount"] == "102013.00"


def test_the_what_if_pays_what_the_accrual_pays(world: World) -> None:
    plan = publish(world, {"rules": [LOYALTY["rules"][0]]}, effective=datetime.date(2026, 1, 1))
    ws = world.workspace.pk
    for month, day, amount in ((1, 5, "70000.00"), (2, 3, "40000.00"), (2, 20, "5000.00"), (3, 2, "8000.00")):
        convert(world, amount, at=at(month, day))
    convert(world, "120000.00", at=at(2, 4), partner=world.partner_b)
    convert(world, "3000.00", at=at(2, 5), partner=world.partner_b)
    with scope(world.system.access_scope()):
        draft = plans.version_create_draft(
            actor=world.system, plan=plan, rules=LOYALTY, effective_from=datetime.date(2026, 2, 1)
        )
        what_if = simulate.simulate_version(
            actor=world.system, version=draft, months=1, today=at(3, 20).date()
        )
        plans.version_publish(actor=world.system, version=draft)
    with unscoped():
        assert PlanVersion.objects.get(pk=draft.pk).status == "published"
    accrual.accrue(workspace_id=ws)
    window = {"occurred_at__gte": at(2, 1, 0)}
    paid = {p.partner_name: p.would_pay for p in what_if.partners}
    assert paid == {
        "Acme Resellers": total(partner=world.partner_a, **window),
        "Globex Referrals": total(partner=world.partner_b, **window),
    }
    # 70,000 then 110,000 before Feb 20 and Mar 2: the extra on those two; B's 120,000 from Feb 5
    assert paid == {
        "Acme Resellers": D("5300.00") + D("260.00"),
        "Globex Referrals": D("12300.00") + D("60.00"),
    }
