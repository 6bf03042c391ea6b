"""Corrections re-evaluated through the engine: a won deal's or a sale's amount corrected (caps, tiers and
conditions hold, at the original version and FX), a deal won again after it left won, a conversion moved to
another partner, overrides following every correction, periods with caps re-evaluated."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.activity.models import Conversion
from openprm.commissions.services import accrual, plans
from openprm.commissions.tests.test_accrual import PERCENT_20, T0, convert, entries, publish, total
from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services
from openprm.deals.models import Deal

pytestmark = pytest.mark.django_db
D = Decimal
_names = itertools.count()


def won_deal(world: Any, amount: str, *, at: datetime.datetime = T0, partner: Any = None) -> Deal:
    n = next(_names)
    with scope(world.system.access_scope()):
        deal, _ = deal_services.deal_register(
            actor=world.system,
            data={
                "partner_id": (partner or world.partner_a).pk,
                "customer_name": f"Customer {n}",
                "customer_domain": f"customer{n}.example",
                "amount": amount,
                "currency": "USD",
            },
        )
        deal_services.deal_approve(actor=world.system, deal=deal, note="ok")
        deal_services.deal_move_stage(actor=world.system, deal=deal, stage_key="closed_won", lost_reason="")
    with unscoped():
        Deal.objects.filter(pk=deal.pk).update(closed_at=at)
    return deal


def edit(model: Any, obj: Any, **values: Any) -> None:
    with unscoped():
        model.objects.filter(pk=obj.pk).update(**values, updated_at=timezone.now())


def move(world: Any, deal: Deal, stage: str) -> None:
    with scope(world.system.access_scope()):
        fresh = Deal.objects.get(pk=deal.pk)
        deal_services.deal_move_stage(
            actor=world.system, deal=fresh, stage_key=stage, lost_reason="Budget" if "lost" in stage else ""
        )


def link(world: Any) -> None:
    with scope(world.system.access_scope()):
        plans.subpartner_link(
            actor=world.system, parent=world.partner_b, child=world.partner_a, since=datetime.date(2026, 1, 1)
        )


def deal_rule(reward: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"rules": [{"key": "resale", "event": ["deal_won"], "reward": reward, **extra}]}


# --- 1. a won deal's amount corrected: through the engine -------------------------------------------------


def test_a_deal_amount_raised_past_the_per_event_cap_is_adjusted_to_the_cap_not_scaled(world):
    publish(world, deal_rule({"type": "percent", "rate": 10}, caps={"per_event": 500}))
    ws = world.workspace.pk
    deal = won_deal(world, "4000")
    accrual.accrue(workspace_id=ws)
    assert total() == D("400.00")
    edit(Deal, deal, amount=D("10000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("500.00")  # scaled, it was 1000
    [adjustment] = entries(kind="adjustment")
    assert adjustment.amount == D("100.00") and adjustment.caps[0]["cap"] == "per_event"
    assert adjustment.explanation["reevaluated"] == {"rule": "resale", "was": "400.00", "now": "500.00"}
    assert adjustment.base_amount == D("6000.00") and adjustment.reverses_id is not None
    accrual.accrue(workspace_id=ws)  # idempotent
    assert total() == D("500.00") and len(entries()) == 2
    edit(Deal, deal, amount=D("3000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("300.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("300.00") and len(entries()) == 3


def test_a_deal_amount_corrected_keeps_the_periods_marginal_tiers(world):
    tiers = {
        "type": "tiered",
        "period": "month",
        "mode": "marginal",
        "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 20}],
    }
    publish(world, deal_rule(tiers))
    ws = world.workspace.pk
    first = won_deal(world, "40000")
    won_deal(world, "20000", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("7000.00")  # 4000 + (1000 + 2000)
    edit(Deal, first, amount=D("30000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("5000.00")  # the month's 50,000 all at 10% (scaled: 3000 + 3000)
    accrual.accrue(workspace_id=ws)
    assert total() == D("5000.00")
    later = won_deal(world, "10000", at=T0 + datetime.timedelta(days=2))
    accrual.accrue(workspace_id=ws, deal_ids=[later.pk])
    assert total() == D("7000.00")  # continues where the month stands: 10,000 above 50,000 at 20%


def test_a_deal_amount_corrected_respects_the_period_cap_across_the_periods_deals(world):
    publish(world, deal_rule({"type": "percent", "rate": 10}, caps={"per_period": 1000, "period": "month"}))
    ws = world.workspace.pk
    first = won_deal(world, "4000")
    second = won_deal(world, "5000", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("900.00")
    edit(Deal, first, amount=D("8000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("1000.00")  # scaled, it was 1300
    assert total(source_id=first.pk) == D("800.00") and total(source_id=second.pk) == D("200.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("1000.00")


def test_a_deal_amount_corrected_below_a_bounty_condition_loses_the_bounty_and_regains_it(world):
    bounty = deal_rule(
        {"type": "flat", "amount": 500},
        conditions={"all": [{"field": "amount", "op": "gt", "value": 10000}]},
    )
    publish(world, bounty)
    ws = world.workspace.pk
    deal = won_deal(world, "12000")
    accrual.accrue(workspace_id=ws)
    assert total() == D("500.00")
    edit(Deal, deal, amount=D("8000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")  # flat rewards did not scale: it stayed 500
    edit(Deal, deal, amount=D("15000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("500.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("500.00")


def test_a_deal_amount_corrected_uses_the_original_version_and_exchange_rate(world):
    from openprm.finance.models import FxRate

    plan = publish(world, deal_rule({"type": "percent", "rate": 10}))
    ws = world.workspace.pk
    with unscoped():
        FxRate.objects.create(
            workspace=world.workspace, day=T0.date(), base="EUR", quote="USD", rate=D("1.1")
        )
    deal = won_deal(world, "1000")
    edit(Deal, deal, currency="EUR")
    accrual.accrue(workspace_id=ws)
    assert total() == D("110.00")
    publish(world, deal_rule({"type": "percent", "rate": 50}), plan=plan, effective=datetime.date(2026, 3, 1))
    with unscoped():
        FxRate.objects.filter(base="EUR").update(rate=D("2"))
    edit(Deal, deal, amount=D("2000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("220.00")  # 10% at 1.1, as the win was accrued (not 50%, not 2.0)
    [adjustment] = entries(kind="adjustment")
    assert adjustment.fx_rate == D("1.1") and adjustment.explanation["fx"]["rate"] == "1.1"


# --- 2. a deal that left won and is won again ------------------------------------------------------------


def test_a_deal_won_again_after_it_left_won_accrues_again_once(world):
    publish(world, deal_rule({"type": "flat", "amount": 500}))
    ws = world.workspace.pk
    deal = won_deal(world, "12000")
    accrual.accrue(workspace_id=ws)
    move(world, deal, "closed_lost")
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")
    move(world, deal, "closed_won")
    accrual.accrue(workspace_id=ws)
    assert total() == D("500.00")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws, deal_ids=[deal.pk])
    assert total() == D("500.00")
    keys = [e.idempotency_key for e in entries(kind="accrual")]
    assert keys == [f"d{deal.pk}:deal_won:resale", f"d{deal.pk}:deal_won#2:resale"]
    move(world, deal, "closed_lost")  # and once more
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")
    move(world, deal, "closed_won")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total() == D("500.00") and len(entries(kind="accrual")) == 3


def test_a_deal_that_earned_nothing_and_is_won_again_at_a_higher_amount_is_evaluated_again(world):
    bounty = deal_rule(
        {"type": "flat", "amount": 500},
        conditions={"all": [{"field": "amount", "op": "gt", "value": 10000}]},
    )
    publish(world, bounty)
    ws = world.workspace.pk
    deal = won_deal(world, "8000")
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00") and len(entries()) == 1
    move(world, deal, "closed_lost")
    accrual.accrue(workspace_id=ws)
    edit(Deal, deal, amount=D("20000"))
    move(world, deal, "closed_won")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total() == D("500.00")


# --- 3. overrides follow the child's corrections ---------------------------------------------------------


def test_the_parents_override_follows_a_deal_amount_adjustment(world):
    publish(
        world,
        {
            **deal_rule({"type": "percent", "rate": 10}, caps={"per_event": 500}),
            "overrides": {"levels": [10]},
        },
    )
    link(world)
    ws = world.workspace.pk
    deal = won_deal(world, "4000")
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_b) == D("40.00")
    edit(Deal, deal, amount=D("10000"))
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("500.00")
    assert total(partner=world.partner_b) == D("50.00")
    follow = [e for e in entries(partner=world.partner_b) if e.reverses_id]
    assert len(follow) == 1 and follow[0].kind == "override" and follow[0].derived_from.kind == "adjustment"
    move(world, deal, "closed_lost")
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("0.00") and total(partner=world.partner_b) == D("0.00")


RETRO = {
    "rules": [
        {
            "key": "resale",
            "event": "purchase",
            "reward": {
                "type": "tiered",
                "period": "quarter",
                "mode": "retroactive",
                "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
            },
        }
    ],
    "overrides": {"levels": [10]},
}


def test_the_parents_override_follows_a_period_re_evaluated_after_a_refund(world):
    publish(world, RETRO)
    link(world)
    ws = world.workspace.pk
    convert(world, "40000.00", key="a")
    accrual.accrue(workspace_id=ws)
    big = convert(world, "20000.00", key="b", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("9000.00"), D("900.00"))
    convert(world, "10000.00", kind="refund", refund_of=big, key="c", at=T0 + datetime.timedelta(days=2))
    accrual.accrue(workspace_id=ws)
    # net volume 50,000: still 15%, on 50,000
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("7500.00"), D("750.00"))
    convert(world, "10000.00", kind="refund", refund_of=big, key="d", at=T0 + datetime.timedelta(days=3))
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("4000.00"), D("400.00"))
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("4000.00"), D("400.00"))


# --- 4. conversions corrected or moved to another partner ------------------------------------------------


def test_a_sale_amount_corrected_is_re_evaluated_and_its_refund_prorated_on_the_new_amount(world):
    publish(world, {"rules": [{**PERCENT_20["rules"][0], "caps": {"per_event": 250}}]})
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    edit(Conversion, sale, amount=D("2000.00"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("250.00")  # capped (scaled: 400)
    convert(world, "1000.00", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("125.00")  # half of the sale refunded: half of what it earns now
    edit(Conversion, sale, amount=D("1000.00"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")  # the refund is now the whole sale
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")


def test_a_sale_moved_to_another_partner_is_reversed_for_the_old_and_accrued_for_the_new(world):
    publish(world, {**PERCENT_20, "overrides": {"levels": [5]}})
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    edit(Conversion, sale, partner=world.partner_b)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("0.00") and total(partner=world.partner_b) == D("200.00")
    [moved] = entries(kind="reversal")
    assert moved.note == "attributed to another partner"
    accrual.accrue(workspace_id=ws)
    assert len(entries()) == 3
    assert entries(partner=world.partner_b)[0].idempotency_key == f"c{sale.pk}:purchase#2:sales"
    edit(Conversion, sale, partner=world.partner_a)  # and back
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("200.00") and total(partner=world.partner_b) == D("0.00")
    convert(world, "1000.00", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")


# --- 5. periods re-evaluated with their caps -------------------------------------------------------------


def test_a_refund_re_evaluates_a_capped_tiered_period(world):
    publish(
        world,
        {
            "rules": [
                {
                    "key": "vol",
                    "event": "purchase",
                    "reward": {
                        "type": "tiered",
                        "period": "month",
                        "mode": "retroactive",
                        "tiers": [{"from": 0, "rate": 10}, {"from": 1000, "rate": 20}],
                    },
                    "caps": {"per_period": 200, "period": "month"},
                }
            ]
        },
    )
    ws = world.workspace.pk
    convert(world, "600.00", key="a")
    b = convert(world, "600.00", key="b", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("200.00")  # 60, then 120 + a true-up of 60 trimmed to 20
    convert(world, "600.00", kind="refund", refund_of=b, key="c", at=T0 + datetime.timedelta(days=2))
    accrual.accrue(workspace_id=ws)
    assert total() == D("60.00")  # the capped true-up went with the volume that earned it
    convert(world, "2000.00", key="d", at=T0 + datetime.timedelta(days=3))
    accrual.accrue(workspace_id=ws)
    assert total() == D("200.00")  # the cap holds
    accrual.accrue(workspace_id=ws)
    assert total() == D("200.00")


# --- caps hold under any corrections ---------------------------------------------------------------------

CAPPED = deal_rule(
    {"type": "percent", "rate": 10}, caps={"per_event": 700, "per_period": 1500, "period": "month"}
)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.decimals(min_value=D("100"), max_value=D("12000"), places=2), min_size=1, max_size=4),
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["amount", "lose", "win"]), st.integers(100, 12000)),
        max_size=6,
    ),
)
def test_caps_hold_and_the_month_earns_what_the_engine_says_after_any_corrections(world, amounts, changes):
    import uuid

    from openprm.commissions.models import PlanVersion
    from openprm.testing import make_partner

    with unscoped():
        if not PlanVersion.objects.exists():
            publish(world, CAPPED)
        partner = make_partner(
            world.system, f"Example {uuid.uuid4().hex[:8]}", tiers={"Partner Program": "Silver"}
        )
    ws = world.workspace.pk
    deals = [
        won_deal(world, str(a), at=T0 + datetime.timedelta(hours=i), partner=partner)
        for i, a in enumerate(amounts)
    ]
    accrual.accrue(workspace_id=ws)
    for index, action, value in changes:
        deal = deals[index % len(deals)]
        if action == "amount":
            edit(Deal, deal, amount=D(value))
        elif action == "lose":
            move(world, deal, "closed_lost")
        else:
            move(world, deal, "closed_won")
            edit(Deal, deal, closed_at=T0 + datetime.timedelta(days=1, hours=index))
        accrual.accrue(workspace_id=ws)
    with unscoped():
        current = list(
            Deal.objects.filter(pk__in=[d.pk for d in deals]).values_list("pk", "amount", "stage__outcome")
        )
    per_deal = {pk: total(partner=partner, source_id=pk) for pk, _, _ in current}
    assert all(value <= D("700.00") for value in per_deal.values())
    assert total(partner=partner) <= D("1500.00")
    won = [
        min(D("700.00"), accrual.engine.cents(amount / 10))
        for _, amount, outcome in current
        if outcome == "won"
    ]
    assert total(partner=partner) == min(D("1500.00"), sum(won, D(0)))
    for pk, _, outcome in current:
        if outcome != "won":
            assert per_deal[pk] == 0


def test_the_parents_first_override_of_a_commission_raised_from_zero_follows_it_to_the_end(world):
    capped = deal_rule({"type": "percent", "rate": 10}, caps={"per_period": 500, "period": "month"})
    publish(world, {**capped, "overrides": {"levels": [10]}})
    link(world)
    ws = world.workspace.pk
    first = won_deal(world, "5000")
    second = won_deal(world, "3000", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("500.00"), D("50.00"))
    edit(Deal, first, amount=D("2000"))
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a, source_id=second.pk) == D("300.00")  # the cap's room, now
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("500.00"), D("50.00"))
    move(world, second, "closed_lost")
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("200.00"), D("20.00"))
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("200.00"), D("20.00"))
