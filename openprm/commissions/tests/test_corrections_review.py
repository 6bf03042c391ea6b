"""Corrections: a rejected commission beside its true-up, partially refunded sales that no longer count,
a source's currency corrected, and raised commissions that wait for approval."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual, ledger
from openprm.commissions.tests.test_accrual import T0, convert, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import deal_rule, edit, link, move, won_deal
from openprm.core.scoping import scope, unscoped
from openprm.deals.models import Deal
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db
D = Decimal

RETROACTIVE = {
    "rules": [
        {"key": "reg", "event": ["deal_registered"], "reward": {"type": "flat", "amount": 10}},
        {
            "key": "won",
            "event": ["deal_won"],
            "reward": {
                "type": "tiered",
                "period": "month",
                "mode": "retroactive",
                "tiers": [{"from": 0, "rate": 10}, {"from": 1000, "rate": 20}],
            },
        },
    ]
}
MARGINAL = {
    "rules": [
        {
            "key": "vol",
            "event": "purchase",
            "reward": {
                "type": "tiered",
                "period": "month",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 1000, "rate": 20}],
            },
        }
    ]
}


def _reject(world, ids):
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        ledger.entries_reject(actor=actor, ids=ids, reason="duplicate")


# --- a rejected commission takes its true-up with it ------------------------------------------------------


def test_a_rejected_tiered_commission_takes_its_true_up_and_later_corrections_still_run(world):
    publish(world, RETROACTIVE)
    ws = world.workspace.pk
    d1 = won_deal(world, "600")
    d2 = won_deal(world, "600", at=T0 + datetime.timedelta(days=1))
    for d in (d1, d2):
        edit(Deal, d, registered_at=T0 - datetime.timedelta(hours=1))
    accrual.accrue(workspace_id=ws)
    # d2 crosses the tier: 120 commission, plus a true-up of d1's 60 to 120
    assert total(rule_key="won") == D("240.00")
    [won2] = [e for e in entries(kind="accrual", source_id=d2.pk) if e.rule_key == "won"]
    trueups = [e for e in entries(kind="adjustment") if e.rule_key == "won"]
    assert trueups, "the retroactive tier writes a true-up"
    _reject(world, [won2.pk])
    for e in entries(rule_key="won"):
        if ":trueup" in e.idempotency_key and e.source_id == d2.pk:
            assert e.state == "rejected", e.idempotency_key
    move(world, d1, "closed_lost")  # a correction in the same month
    accrual.accrue(workspace_id=ws)
    # d1 lost, d2 rejected: nothing is earned on the won rule
    assert total(rule_key="won", state__in=["pending", "approved", "paid"]) == D("0.00")
    s = convert(world, "10.00", key="late", at=T0 + datetime.timedelta(days=2))
    accrual.accrue(workspace_id=ws)  # the workspace's runs go on
    assert entries(source_id=s.pk) is not None


def test_a_true_up_left_without_its_commission_does_not_stop_the_periods_re_evaluation(world):
    # a ledger where the commission was rejected and its true-up was not (rejections of earlier releases)
    publish(world, RETROACTIVE)
    ws = world.workspace.pk
    d1 = won_deal(world, "600")
    d2 = won_deal(world, "600", at=T0 + datetime.timedelta(days=1))
    for d in (d1, d2):
        edit(Deal, d, registered_at=T0 - datetime.timedelta(hours=1))
    accrual.accrue(workspace_id=ws)
    [won2] = [e for e in entries(kind="accrual", source_id=d2.pk) if e.rule_key == "won"]
    with unscoped():
        LedgerEntry.objects.filter(pk=won2.pk).update(
            state="rejected", rejected_at=timezone.now(), rejected_reason="duplicate"
        )
    move(world, d1, "closed_lost")
    accrual.accrue(workspace_id=ws)
    assert total(source_id=d1.pk, rule_key="won") == D("0.00")


def test_rejected_volume_does_not_count_toward_a_later_events_tier(world):
    publish(world, MARGINAL)
    ws = world.workspace.pk
    s1 = convert(world, "1000.00", key="s1")
    accrual.accrue(workspace_id=ws)
    _reject(world, [e.pk for e in entries(source_id=s1.pk)])
    s2 = convert(world, "1000.00", key="s2", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws, conversion_ids=[s2.pk])
    assert total(source_id=s2.pk) == D("100.00")


# --- partially refunded sales that no longer count --------------------------------------------------------


@pytest.mark.parametrize("how", ["moved", "rejected"])
def test_a_partially_refunded_sale_that_no_longer_counts_leaves_no_negative_volume(world, how):
    publish(world, MARGINAL)
    ws = world.workspace.pk
    s1 = convert(world, "1000.00", key="s1")
    accrual.accrue(workspace_id=ws)
    convert(world, "500.00", kind="refund", refund_of=s1, key="r1", at=T0 + datetime.timedelta(hours=1))
    accrual.accrue(workspace_id=ws)
    if how == "moved":
        edit(Conversion, s1, partner=world.partner_b)
    else:
        edit(Conversion, s1, status=Conversion.Status.REJECTED)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("0.00")
    # A's month has no volume now: A's next 1000 sale earns 10% of it
    s2 = convert(world, "1000.00", key="s2", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws, conversion_ids=[s2.pk])
    assert total(partner=world.partner_a, source_id=s2.pk) == D("100.00")


# --- a currency corrected ---------------------------------------------------------------------------------


def test_a_deal_currency_corrected_is_re_evaluated_at_the_new_currencys_rate(world):
    from openprm.finance.models import FxRate

    publish(world, deal_rule({"type": "percent", "rate": 10}))
    ws = world.workspace.pk
    with unscoped():
        FxRate.objects.create(
            workspace=world.workspace, day=T0.date(), base="EUR", quote="USD", rate=D("1.1")
        )
    deal = won_deal(world, "1000")
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00")
    edit(Deal, deal, currency="EUR", amount=D("2000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("220.00")
    [first, renewed] = entries(kind="accrual")
    assert (first.base_currency, renewed.base_currency) == ("USD", "EUR")
    assert (renewed.base_amount, renewed.fx_rate, renewed.amount) == (D("2000.00"), D("1.1"), D("220.00"))
    assert [e.amount for e in entries(reverses=first)] == [D("-100.00")]
    edit(Deal, deal, amount=D("1000"))
    accrual.accrue(workspace_id=ws)
    assert total() == D("110.00")
    edit(Deal, deal, currency="USD")  # the currency alone
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00")
    accrual.accrue(workspace_id=ws)  # nothing more to do
    assert total() == D("100.00")


# --- raised commissions wait for approval -----------------------------------------------------------------


def test_an_amount_raised_after_approval_waits_for_approval_and_a_lowered_one_is_approved(world):
    publish(world, {**deal_rule({"type": "percent", "rate": 10}), "overrides": {"levels": [10]}})
    link(world)
    ws = world.workspace.pk
    deal = won_deal(world, "1000")
    accrual.accrue(workspace_id=ws)
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        ledger.entries_approve(actor=actor, ids=[e.pk for e in entries()])
    edit(Deal, deal, amount=D("5000"))
    accrual.accrue(workspace_id=ws)
    raised = entries(kind__in=["adjustment", "override"], state="pending")
    assert sorted((e.kind, e.amount) for e in raised) == [
        ("adjustment", D("400.00")),
        ("override", D("40.00")),
    ]
    assert all(e.approved_at is None and e.hold_until is not None for e in raised)
    edit(Deal, deal, amount=D("500"))
    accrual.accrue(workspace_id=ws)
    lowered = [e for e in entries(kind__in=["adjustment", "override"]) if e.amount < 0]
    assert lowered and all(e.state == "approved" for e in lowered)
