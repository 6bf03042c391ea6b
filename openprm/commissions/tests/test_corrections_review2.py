"""Ledger corrections found in review: refunds, rejected refunds, closings, amount changes and
the lifetime re-evaluation meeting in one run. Each test asserts the ledger's figures after the runs."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.activity.services.conversions import conversion_reject
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import PERCENT_20, T0, convert, publish, total
from openprm.commissions.tests.test_corrections_engine import edit, link, won_deal
from openprm.commissions.tests.test_lifetime_accrual import LOYALTY, at
from openprm.core.scoping import scope
from openprm.deals.models import Deal

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def _reject(world, conversion) -> None:
    with scope(world.system.access_scope()):
        conversion_reject(actor=world.system, conversion=conversion, note="review")


@pytest.mark.parametrize("refund_state", ["rejected", "accepted"])
def test_refund_and_sale_amount_change_in_one_catch_up(world, refund_state):
    """Sale 1,000 refunded 400 at 20% (120). In one catch-up the sale becomes 2,000 and the refund is
    rejected (20% of 2,000 = 400, not 480: the refund's 80 given back once) or stays (80% of 400 = 320)."""
    publish(world, PERCENT_20)
    ws = world.workspace.pk
    since = timezone.now() - DAY
    sale = convert(world, "1000.00")
    refund = convert(world, "400.00", kind="refund", refund_of=sale, at=T0 + DAY)
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total() == D("120.00")
    since = timezone.now()
    if refund_state == "rejected":
        _reject(world, refund)
    edit(Conversion, sale, amount=D("2000.00"))
    accrual.accrue(workspace_id=ws, changed_after=since)
    expected = D("400.00") if refund_state == "rejected" else D("320.00")
    assert total() == expected
    accrual.accrue(workspace_id=ws, changed_after=since)
    accrual.accrue(workspace_id=ws)
    assert total() == expected


VIP = {
    "rules": [
        {
            "key": "vip",
            "event": "purchase",
            "reward": {"type": "percent", "rate": 10},
            "conditions": {"all": [{"field": "partner.lifetime_amount", "op": "gte", "value": 1000}]},
        }
    ]
}
BIG = {
    "rules": [
        {
            "key": "big",
            "event": "purchase",
            "reward": {"type": "percent", "rate": 10},
            "conditions": {"all": [{"field": "amount", "op": "gte", "value": 5000}]},
        }
    ]
}


def test_rule_newly_chosen_by_lifetime_pays_the_gross_once_refunds_prorate_it(world):
    """A sale of 1,000 refunded 400: VIP (10% from a lifetime 1,000) does not apply. A late sale before it
    brings the lifetime to 1,000: the sale earns 10% of 1,000 less 40% refunded = 60, in the run and after
    every later re-read of the refund (not 36: the net prorated again)."""
    publish(world, VIP)
    ws = world.workspace.pk
    sale = convert(world, "1000.00", at=at(4, 5))
    convert(world, "400.00", kind="refund", refund_of=sale, at=at(4, 6))
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")
    late = convert(world, "1000.00", at=at(4, 1))
    accrual.accrue(workspace_id=ws, conversion_ids=[late.pk])
    assert total(source_id=sale.pk) == D("60.00")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("60.00")
    assert total(source_id=late.pk) == D("0.00")  # its own lifetime before it: 0


def test_rule_taken_out_by_lifetime_stays_out_when_its_refund_is_read_again(world):
    """VIP pays 10% of a refunded sale (100 less 40% = 60); the earlier sale that made the lifetime is
    rejected: VIP is out (0), and a later full run re-reading the refund gives nothing back (not +24)."""
    publish(world, VIP)
    ws = world.workspace.pk
    first = convert(world, "1000.00", at=at(4, 1))
    sale = convert(world, "1000.00", at=at(4, 5))
    convert(world, "400.00", kind="refund", refund_of=sale, at=at(4, 6))
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("60.00")
    _reject(world, first)
    accrual.accrue(workspace_id=ws, conversion_ids=[first.pk])
    assert total(source_id=sale.pk) == D("0.00")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("0.00")


def test_amount_below_condition_with_a_refund_stays_at_zero(world):
    """BIG (10% from 5,000): sale 6,000 refunded 1,000 earns 500; corrected to 4,000 the rule is out: 0
    (not 75: the refund prorated again on a rule no longer chosen)."""
    publish(world, BIG)
    ws = world.workspace.pk
    since = timezone.now() - DAY
    sale = convert(world, "6000.00")
    convert(world, "1000.00", kind="refund", refund_of=sale, at=T0 + DAY)
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total() == D("500.00")
    since = timezone.now()
    edit(Conversion, sale, amount=D("4000.00"))
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total() == D("0.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")


@pytest.mark.parametrize("how", ["moved", "detached", "rejected"])
def test_refund_rejected_in_the_run_that_closes_the_sale(world, how):
    """Sale 1,000 refunded 400 at 20% (A: 120). In one run the refund is rejected and the sale leaves A
    (moved to B, attribution removed, rejected): A keeps nothing (not the refund's 80 given back)."""
    publish(world, PERCENT_20)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    refund = convert(world, "400.00", kind="refund", refund_of=sale, at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("120.00")
    _reject(world, refund)
    if how == "moved":
        edit(Conversion, sale, partner=world.partner_b)
    elif how == "detached":
        edit(Conversion, sale, partner=None)
    else:
        edit(Conversion, sale, status="rejected")
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total(partner=world.partner_a) == D("0.00")
    assert total(partner=world.partner_b) == (D("200.00") if how == "moved" else D("0.00"))


def test_fully_refunded_sale_detached_then_refund_rejected_gives_the_parent_nothing(world):
    """A full refund leaves A's commission and B's override (5%) at 0; the sale's attribution removed, then
    the refund rejected: the closed evaluation's zero rows are closed too (B does not get 10 back)."""
    publish(world, {**PERCENT_20, "overrides": {"levels": [5]}})
    link(world)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    refund = convert(world, "1000.00", kind="refund", refund_of=sale, at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    assert total() == D("0.00")
    edit(Conversion, sale, partner=None)
    accrual.accrue(workspace_id=ws)
    _reject(world, refund)
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert (total(partner=world.partner_a), total(partner=world.partner_b)) == (D("0.00"), D("0.00"))


def test_refund_retyped_to_a_purchase_gives_the_sale_back(world):
    """A refund of 400 corrected into a purchase: the first sale earns its 200 again, the new purchase 80."""
    publish(world, PERCENT_20)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    refund = convert(world, "400.00", kind="refund", refund_of=sale, at=T0 + DAY)
    accrual.accrue(workspace_id=ws)
    assert total() == D("120.00")
    edit(Conversion, refund, kind="purchase", refund_of=None)
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert (total(source_id=sale.pk), total(source_id=refund.pk)) == (D("200.00"), D("80.00"))


def test_refund_pointed_at_another_sale_moves_the_reversal(world):
    """A refund of 400 pointed from the first sale to the second: 200 and 120 (not 120 and 120)."""
    publish(world, PERCENT_20)
    ws = world.workspace.pk
    first = convert(world, "1000.00")
    second = convert(world, "1000.00", at=T0 + DAY)
    refund = convert(world, "400.00", kind="refund", refund_of=first, at=T0 + 2 * DAY)
    accrual.accrue(workspace_id=ws)
    assert total() == D("320.00")
    since = timezone.now()
    edit(Conversion, refund, refund_of=second)
    accrual.accrue(workspace_id=ws, changed_after=since)  # the catch-up
    assert (total(source_id=first.pk), total(source_id=second.pk)) == (D("200.00"), D("120.00"))
    accrual.accrue(workspace_id=ws)
    assert (total(source_id=first.pk), total(source_id=second.pk)) == (D("200.00"), D("120.00"))


def test_won_deal_moved_away_takes_the_lifetime_bonus_from_the_former_partner(world):
    """LOYALTY pays purchases only (10%, and 2% over a lifetime of 100k). A's won deal of 200k (no rows of
    its own) makes A's later sale of 20,000 earn 2,400; the deal moved to B: the catch-up takes A's
    bonus back (2,000)."""
    publish(world, LOYALTY)
    ws = world.workspace.pk
    since = timezone.now() - DAY
    deal = won_deal(world, "200000", at=at(3, 1))
    sale = convert(world, "20000.00", at=at(4, 5))
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total(source_id=sale.pk) == D("2400.00")
    since = timezone.now()
    edit(Deal, deal, partner=world.partner_b)
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total(source_id=sale.pk) == D("2000.00")


def test_recurring_payment_detached_takes_the_lifetime_bonus_back(world):
    """A recurring payment of 200k (LOYALTY pays purchases only) whose attribution is removed: A's later
    sale loses the 2% bonus it earned on it in the catch-up (2,400 → 2,000)."""
    publish(world, LOYALTY)
    ws = world.workspace.pk
    since = timezone.now() - DAY
    payment = convert(world, "200000.00", kind="recurring_payment", at=at(3, 1))
    sale = convert(world, "20000.00", at=at(4, 5))
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total(source_id=sale.pk) == D("2400.00")
    since = timezone.now()
    edit(Conversion, payment, partner=None)
    accrual.accrue(workspace_id=ws, changed_after=since)
    assert total(source_id=sale.pk) == D("2000.00")


def test_percent_bonus_is_refunded_with_the_commission(world):
    """LOYALTY's bonus is 2% of the sale (over a lifetime of 100k): a refund of a quarter of a 20,000 sale
    takes a quarter of the commission and of the bonus (2,400 → 1,800), the whole refund all of it."""
    publish(world, LOYALTY)
    ws = world.workspace.pk
    convert(world, "110000.00", at=at(3, 2))
    sale = convert(world, "20000.00", at=at(4, 5))
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("2400.00")
    convert(world, "5000.00", kind="refund", refund_of=sale, at=at(4, 6))
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("1800.00")
    convert(world, "15000.00", kind="refund", refund_of=sale, at=at(4, 7))
    accrual.accrue(workspace_id=ws)
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("0.00")
