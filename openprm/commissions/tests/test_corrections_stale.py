"""Evaluations left stale by a change of their source: a conversion that loses its partner (closed like a
move, clawed back once paid, the parent's override following; a partner regained is a new generation), a
rule no longer chosen after an amount change (its base leaves the period's tier volume and count), a deal's
close date moved to another month, a conversion's type changed."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun
from openprm.commissions.services import accrual, ledger
from openprm.commissions.tests.test_accrual import PERCENT_20, T0, convert, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import edit, link, won_deal
from openprm.core.scoping import scope, unscoped
from openprm.deals.models import Deal

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.timedelta(days=1)


def pay(world: Any, entry: LedgerEntry) -> None:
    """Approve and pay one ledger entry (a payout run of its own)."""
    with unscoped():
        LedgerEntry.objects.filter(pk=entry.pk).update(state="approved", approved_at=timezone.now())
        run = PayoutRun.objects.create(workspace=world.workspace, currency="USD", cutoff=T0.date())
        item = PayoutItem.objects.create(
            workspace=world.workspace,
            run=run,
            partner_id=entry.partner_id,
            amount=entry.amount,
            currency="USD",
        )
    with scope(world.system.access_scope()):
        assert ledger.entries_mark_paid(actor=world.system, item=item, ids=[entry.pk]) == 1


# --- 1. a conversion that loses its partner --------------------------------------------------------------


def test_a_paid_sale_that_loses_its_partner_is_clawed_back_and_a_new_partner_is_a_new_generation(world):
    publish(world, {**PERCENT_20, "overrides": {"levels": [5]}})
    link(world)  # partner_b is partner_a's parent: a 5% override
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("200.00"), D("10.00"))
    [commission] = entries(kind="accrual")
    [override] = entries(kind="override")
    pay(world, commission)

    edit(Conversion, sale, partner=None)  # the attribution is removed
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("0.00"), D("0.00"))
    [clawback] = entries(kind="clawback")
    assert clawback.reverses_id == commission.pk and clawback.amount == D("-200.00")
    assert clawback.state == "approved" and clawback.note == "attribution removed"
    [reversal] = entries(kind="reversal")
    assert reversal.reverses_id == override.pk and reversal.amount == D("-10.00")
    assert reversal.partner_id == world.partner_b.pk and reversal.state == "pending"
    rows = len(entries())
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws, conversion_ids=[sale.pk])
    assert len(entries()) == rows  # idempotent

    edit(Conversion, sale, partner=world.partner_a)  # attributed again: a new generation
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("200.00"), D("10.00"))
    keys = [e.idempotency_key for e in entries(kind="accrual")]
    assert keys == [f"c{sale.pk}:purchase:sales", f"c{sale.pk}:purchase#2:sales"]
    convert(world, "1000.00", kind="refund", refund_of=sale, at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")


def test_a_sale_that_loses_its_partner_is_closed_by_the_catch_up_and_leaves_the_tier_volume(world):
    tiers = {
        "key": "vol",
        "event": "purchase",
        "reward": {
            "type": "tiered",
            "period": "month",
            "mode": "marginal",
            "tiers": [{"from": 0, "rate": 10}, {"from": 1000, "rate": 20}],
        },
    }
    publish(world, {"rules": [tiers]})
    ws = world.workspace.pk
    since = timezone.now()
    sale = convert(world, "800.00")
    accrual.accrue(workspace_id=ws, changed_after=since - DAY)
    assert total() == D("80.00")
    edit(Conversion, sale, partner=None)
    accrual.accrue(workspace_id=ws, changed_after=since)  # the catch-up: what changed since
    assert total() == D("0.00")
    convert(world, "800.00", at=T0 + DAY)
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total() == D("80.00")  # the month's volume starts at 0 again (with the lost sale: 20 + 120)


# --- 2. a rule no longer chosen after an amount change ---------------------------------------------------

BIG_OR_SMALL = {
    "rules": [
        {
            "key": "big",
            "event": "purchase",
            "conditions": {"all": [{"field": "amount", "op": "gte", "value": 5000}]},
            "reward": {
                "type": "tiered",
                "period": "month",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 10000, "rate": 20}],
            },
        },
        {"key": "small", "event": "purchase", "reward": {"type": "percent", "rate": 5}},
    ]
}


def test_a_rule_no_longer_chosen_after_an_amount_change_leaves_the_marginal_tier_volume(world):
    """Worked example, marginal tiers 10% to 10,000 a month then 20%, for sales of 5,000 or more (else 5%):

    A 8,000 → big 800 (volume 8,000). A corrected to 3,000 → big no longer chosen: -800, small 150;
    the month's big volume is 0. B 9,000 → big 900 (volume 0 → 9,000; with A's 3,000 still counted it was
    7,000 at 10% + 2,000 at 20% = 1,100). A back to 8,000 → the month re-evaluated: A 800, B 2,000 at 10% +
    7,000 at 20% = 1,600, small 0. C 6,000 → 6,000 at 20% = 1,200 (volume 17,000 → 23,000)."""
    publish(world, BIG_OR_SMALL)
    ws = world.workspace.pk
    a = convert(world, "8000.00", key="a")
    accrual.accrue(workspace_id=ws)
    assert total(rule_key="big") == D("800.00")

    edit(Conversion, a, amount=D("3000.00"))
    accrual.accrue(workspace_id=ws)
    assert (total(rule_key="big"), total(rule_key="small")) == (D("0.00"), D("150.00"))
    [out] = [e for e in entries(kind="adjustment") if e.rule_key == "big"]
    assert out.explanation["reevaluated"]["chosen"] is False and out.amount == D("-800.00")

    b = convert(world, "9000.00", key="b", at=T0 + DAY)
    accrual.accrue(workspace_id=ws, conversion_ids=[b.pk])
    assert total(source_id=b.pk) == D("900.00")  # was 1,100 with A's base left in the volume
    assert total() == D("1050.00")

    edit(Conversion, a, amount=D("8000.00"))
    accrual.accrue(workspace_id=ws)
    assert (total(source_id=a.pk, rule_key="big"), total(source_id=a.pk, rule_key="small")) == (
        D("800.00"),
        D("0.00"),
    )
    assert total(source_id=b.pk) == D("1600.00")
    c = convert(world, "6000.00", key="c", at=T0 + 2 * DAY)
    accrual.accrue(workspace_id=ws, conversion_ids=[c.pk])
    assert total(source_id=c.pk) == D("1200.00")
    assert total() == D("3600.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("3600.00")  # idempotent


def test_a_threshold_no_longer_matched_after_an_amount_change_leaves_the_period_count(world):
    """A bonus of 100 on the third sale of 1,000 or more in a month: A 2,000 counts, is corrected to 500
    (no longer counts), so B and C of 1,500 are the first and second: no bonus until D."""
    bonus = {
        "key": "third",
        "event": "purchase",
        "conditions": {"all": [{"field": "amount", "op": "gte", "value": 1000}]},
        "reward": {"type": "threshold", "metric": "count", "threshold": 3, "period": "month", "amount": 100},
    }
    publish(world, {"rules": [bonus]})
    ws = world.workspace.pk
    a = convert(world, "2000.00", key="a")
    accrual.accrue(workspace_id=ws)
    edit(Conversion, a, amount=D("500.00"))
    accrual.accrue(workspace_id=ws)
    for n, key in enumerate("bc", start=1):
        sale = convert(world, "1500.00", key=key, at=T0 + n * DAY)
        accrual.accrue(workspace_id=ws, conversion_ids=[sale.pk])
    assert total() == D("0.00")  # the count is 2 (with A still counted, C was the third: 100)
    d = convert(world, "1500.00", key="d", at=T0 + 3 * DAY)
    accrual.accrue(workspace_id=ws, conversion_ids=[d.pk])
    assert total() == D("100.00") and total(source_id=d.pk) == D("100.00")


# --- 3. other changes of a source --------------------------------------------------------------------------


def test_a_won_deals_close_date_moved_to_another_month_moves_its_commission_and_both_months_tiers(world):
    tiers = {
        "key": "resale",
        "event": ["deal_won"],
        "reward": {
            "type": "tiered",
            "period": "month",
            "mode": "marginal",
            "tiers": [{"from": 0, "rate": 10}, {"from": 10000, "rate": 20}],
        },
    }
    publish(world, {"rules": [tiers]})
    ws = world.workspace.pk
    march = won_deal(world, "8000")
    april = won_deal(world, "6000", at=T0 + 31 * DAY)
    accrual.accrue(workspace_id=ws)
    assert total() == D("1400.00")
    edit(Deal, march, closed_at=T0 + 32 * DAY)  # in fact closed in April
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    # April: 6,000 then 8,000 → 6,000 + 4,000 at 10%, 4,000 at 20% = 1,800; March earns nothing
    assert total(source_id=march.pk) == D("1200.00") and total(source_id=april.pk) == D("600.00")
    with unscoped():
        months = {
            e.period
            for e in LedgerEntry.objects.filter(source_id=march.pk, source_kind="deal", kind="accrual")
            if e.idempotency_key.startswith(f"d{march.pk}:deal_won#2")
        }
    assert months == {datetime.date(2026, 4, 1)}
    later = won_deal(world, "1000", at=T0 + 33 * DAY)
    accrual.accrue(workspace_id=ws, deal_ids=[later.pk])
    assert total(source_id=later.pk) == D("200.00")  # April's volume is 14,000


def test_a_conversion_whose_type_changed_is_not_paid_twice(world):
    publish(
        world,
        {
            "rules": [
                {"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": 20}},
                {"key": "renewals", "event": "recurring_payment", "reward": {"type": "percent", "rate": 10}},
            ]
        },
    )
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("200.00")
    edit(Conversion, sale, kind="recurring_payment")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00") and total(rule_key="sales") == D("0.00")
    edit(Conversion, sale, kind="purchase")  # and back: the purchase is a new generation
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total() == D("200.00") and total(rule_key="renewals") == D("0.00")


def test_a_refund_rejected_after_it_reversed_the_sale_gives_the_commission_back(world):
    from openprm.activity.services.conversions import conversion_reject

    publish(world, {**PERCENT_20, "overrides": {"levels": [5]}})
    link(world)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    refund = convert(world, "400.00", kind="refund", refund_of=sale, at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("120.00"), D("6.00"))
    with scope(world.system.access_scope()):
        conversion_reject(actor=world.system, conversion=refund, note="not a refund after all")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("200.00"), D("10.00"))
    back = [e for e in entries(kind="reversal") if e.amount > 0]
    assert {e.amount for e in back} == {D("80.00"), D("4.00")} and {e.state for e in back} == {"pending"}
    convert(world, "1000.00", kind="refund", refund_of=sale, at=T0 + 2 * DAY)
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")


def test_a_correction_that_changes_which_rule_wins_a_later_event_of_the_period_pays_the_new_winner(world):
    """Selection "highest" between marginal tiers (1% to 1,000, then 20%) and 5% of every sale: A 1,000
    earns 5% (50 > 10); B 2,000 earns the tiers (10 + 200 > 100), C 1,000 the tiers at 20% (200). B
    corrected to 500 earns 5% (25 > 5), so the tiers' volume is 0 again and C earns 5% (50 > 10): 125."""
    rules = {
        "rules": [
            {
                "key": "tiers",
                "event": "purchase",
                "reward": {
                    "type": "tiered",
                    "period": "month",
                    "mode": "marginal",
                    "tiers": [{"from": 0, "rate": 1}, {"from": 1000, "rate": 20}],
                },
            },
            {"key": "pct", "event": "purchase", "reward": {"type": "percent", "rate": 5}},
        ]
    }
    publish(world, rules)
    ws = world.workspace.pk
    convert(world, "1000.00", key="a")
    b = convert(world, "2000.00", key="b", at=T0 + DAY)
    c = convert(world, "1000.00", key="c", at=T0 + 2 * DAY)
    accrual.accrue(workspace_id=ws)
    assert total() == D("460.00")
    edit(Conversion, b, amount=D("500.00"))
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert (total(source_id=b.pk), total(source_id=c.pk)) == (D("25.00"), D("50.00"))
    assert (total(source_id=c.pk, rule_key="tiers"), total(source_id=c.pk, rule_key="pct")) == (
        D("0.00"),
        D("50.00"),
    )
    assert total() == D("125.00")


def test_sources_at_any_instant_are_not_taken_for_moved_when_nothing_changed(world):
    deal_rule = {"key": "resale", "event": ["deal_won"], "reward": {"type": "percent", "rate": 10}}
    publish(world, {"rules": [*PERCENT_20["rules"], deal_rule]})
    ws = world.workspace.pk
    at = T0 + datetime.timedelta(hours=3, microseconds=123457)
    sale = convert(world, "100.00", at=at)
    deal = won_deal(world, "1000", at=at + datetime.timedelta(seconds=1))
    accrual.accrue(workspace_id=ws)
    rows = len(entries())
    edit(Conversion, sale, amount=D("100.00"))  # touched, not changed
    edit(Deal, deal, amount=D("1000"))
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws, conversion_ids=[sale.pk], deal_ids=[deal.pk])
    assert len(entries()) == rows == 2 and total() == D("120.00")


def _big_or_small(amounts: list[Decimal]) -> Decimal:
    """What BIG_OR_SMALL pays for a month's sales in this order: 5,000 or more at the marginal tiers on
    the volume of such sales so far (10% to 10,000, then 20%; always above 5%), else 5%."""
    volume, paid = D(0), D(0)
    for amount in amounts:
        if amount >= 5000:
            low = max(min(volume + amount, D(10000)) - volume, D(0))
            paid += accrual.engine.cents(low / 10 + (amount - low) / 5)
            volume += amount
        else:
            paid += accrual.engine.cents(amount / 20)
    return paid


AMOUNTS = st.sampled_from([1500, 3000, 4999, 5000, 6000, 8000, 9000, 12000])


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(AMOUNTS, min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), AMOUNTS), max_size=4),
    AMOUNTS,
)
@example([8000], [(0, 3000)], 9000)  # the worked example's first steps
@example([6000, 3000], [(1, 7000), (0, 4999)], 5000)
def test_after_any_amount_corrections_a_new_sale_continues_the_month_as_the_engine_says(
    world, amounts, changes, last
):
    import uuid

    from openprm.commissions.models import PlanVersion
    from openprm.testing import make_partner

    with unscoped():
        if not PlanVersion.objects.exists():
            publish(world, BIG_OR_SMALL)
        partner = make_partner(world.system, f"Example {uuid.uuid4().hex[:8]}")
    ws = world.workspace.pk
    tag = uuid.uuid4().hex[:8]
    sales = [
        convert(world, str(a), partner=partner, at=T0 + datetime.timedelta(hours=i), key=f"{tag}-{i}")
        for i, a in enumerate(amounts)
    ]
    accrual.accrue(workspace_id=ws)
    current = [D(a) for a in amounts]
    for index, value in changes:
        i = index % len(sales)
        edit(Conversion, sales[i], amount=D(value))
        current[i] = D(value)
        accrual.accrue(workspace_id=ws)
    assert total(partner=partner) == _big_or_small(current)
    new = convert(world, str(last), partner=partner, at=T0 + DAY, key=f"{tag}-last")
    accrual.accrue(workspace_id=ws, conversion_ids=[new.pk])  # from the ledger's state of the month
    assert total(partner=partner, source_id=new.pk) == _big_or_small([*current, D(last)]) - _big_or_small(
        current
    )
