"""A rule's other inputs changing after accrual (``services.inputs``): a won deal's products, a conversion's
metadata, and the customer facts of a later sale once an earlier purchase of the same customer arrives
late, are re-evaluated through the engine like an amount correction: the difference is an adjustment, the
parents' overrides follow, a rule no longer chosen leaves, and replay agrees with the ledger."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.services import accrual
from openprm.commissions.services.inputs import KEY
from openprm.commissions.services.replay import replay
from openprm.commissions.tests.test_accrual import T0, convert, entries, publish, total
from openprm.commissions.tests.test_corrections_engine import edit, link, won_deal
from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services
from openprm.deals.models import Deal

pytestmark = pytest.mark.django_db
D = Decimal
MONTH = (
    datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
    datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC),
)


def agrees(world: Any) -> None:
    result = replay(workspace_id=world.workspace.pk, start=MONTH[0], end=MONTH[1])
    assert result.differences == []


def test_replay_agrees_after_the_inputs_changed(world):
    publish(world, SPIFF)
    ws = world.workspace.pk
    deal = won_deal(world, "10000")
    set_products(world, deal, "Widget Pro")
    accrual.accrue(workspace_id=ws)
    assert total(source_event="deal_won") == D("1500.00")
    set_products(world, deal, "Basic")
    accrual.accrue(workspace_id=ws)
    assert total(source_event="deal_won") == D("1000.00")  # the SPIFF given back (:out0)
    assert total(source_event="deal_registered") == D("100.00")  # the estimate's bounty stays
    agrees(world)


def set_products(world: Any, deal: Deal, *names: str) -> None:
    with scope(world.system.access_scope()):
        fresh = Deal.objects.get(pk=deal.pk)
        lines = [{"product": n, "quantity": 1, "unit_price": "1"} for n in names]
        deal_services.deal_update(actor=world.system, deal=fresh, data={"line_items": lines})


SPIFF = {
    "overrides": {"levels": [10]},
    "rules": [
        {  # a registration's bounty: the deal then was an estimate, its later edits change nothing
            "key": "bounty",
            "event": ["deal_registered"],
            "reward": {"type": "flat", "amount": 100},
            "conditions": {"all": [{"field": "product", "op": "contains", "value": "Widget Pro"}]},
        },
        {"key": "resale", "event": ["deal_won"], "reward": {"type": "percent", "rate": 10}},
        {
            "key": "spiff",
            "event": ["deal_won"],
            "bonus": True,
            "reward": {"type": "flat", "amount": 500},
            "conditions": {"all": [{"field": "product", "op": "contains", "value": "Widget Pro"}]},
        },
    ],
}


def test_a_won_deals_products_edited_pay_then_take_back_the_spiff_with_the_override(world):
    publish(world, SPIFF)
    link(world)  # partner_b is partner_a's parent: 10% of every commission
    ws = world.workspace.pk
    deal = won_deal(world, "10000")
    accrual.accrue_catch_up(workspace_id=ws)
    assert total(partner=world.partner_a) == D("1000.00")
    assert total(partner=world.partner_b) == D("100.00")
    [anchor] = entries(kind="accrual", source_event="deal_won")
    assert KEY in anchor.explanation
    set_products(world, deal, "Widget Pro")
    accrual.accrue_catch_up(workspace_id=ws)  # the deal was written: read again, its products now match
    assert total(partner=world.partner_a) == D("1500.00")  # it stayed at 1000.00
    assert total(partner=world.partner_b) == D("150.00")
    [bonus] = entries(kind="bonus")
    assert bonus.amount == D("500.00") and bonus.idempotency_key.endswith(":spiff")
    assert total(source_event="deal_registered") == D("0.00")
    accrual.accrue_catch_up(workspace_id=ws)  # idempotent
    assert total(partner=world.partner_a) == D("1500.00") and total(partner=world.partner_b) == D("150.00")
    count = len(entries())
    set_products(world, deal, "Basic", "Widget Pro")  # products reordered, an untested field edited
    edit(Deal, deal, properties={"region": "north"})
    accrual.accrue_catch_up(workspace_id=ws)
    # re-evaluated: the SPIFF still matches, nothing to settle but a zero marker of the new inputs
    added = entries()[count:]
    assert [(e.kind, e.amount) for e in added] == [("adjustment", D("0.00"))], added
    assert ":mark" in added[0].idempotency_key
    accrual.accrue_catch_up(workspace_id=ws)
    assert len(entries()) == count + 1  # settled: not re-evaluated again
    set_products(world, deal, "Basic")
    accrual.accrue_catch_up(workspace_id=ws)
    assert total(partner=world.partner_a) == D("1000.00")  # the SPIFF given back
    assert total(partner=world.partner_b) == D("100.00")
    count = len(entries())
    accrual.accrue(workspace_id=ws)
    assert len(entries()) == count


TIERS = {
    "selection": "highest",
    "rules": [
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
        {
            "key": "enterprise",
            "event": ["purchase"],
            "reward": {"type": "percent", "rate": 30},
            "conditions": {"all": [{"field": "metadata.plan", "op": "eq", "value": "enterprise"}]},
        },
    ],
}


def test_a_conversions_metadata_edited_switches_the_rule_and_its_tier_volume(world):
    publish(world, {"rules": TIERS["rules"]})
    ws = world.workspace.pk
    first = convert(world, "1000")
    edit(Conversion, first, properties={"plan": "starter"})
    later = convert(world, "1000", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("240.00")  # 100 + 120 at 12% + a 20.00 true-up of the first 1000
    edit(Conversion, first, properties={"plan": "enterprise"})
    accrual.accrue(workspace_id=ws)
    # the first now pays 30% (300), and leaves the tier volume: the second is 10% of 1000 alone
    assert total() == D("400.00")  # it stayed at 240.00
    outs = [e for e in entries(kind="adjustment") if ":out" in e.idempotency_key]
    assert len(outs) == 1 and outs[0].source_id == first.pk
    edit(Conversion, first, properties={"plan": "starter"})
    accrual.accrue(workspace_id=ws)
    assert total() == D("240.00")
    assert later.pk


NEW_CUSTOMERS = {
    "rules": [
        {
            "key": "sales",
            "event": ["purchase"],
            "reward": {"type": "percent", "rate": 10},
            "conditions": {"all": [{"field": "customer.new", "op": "eq", "value": False}]},
        },
        {
            "key": "new",
            "event": ["purchase"],
            "reward": {"type": "percent", "rate": 30},
            "conditions": {"all": [{"field": "customer.new", "op": "eq", "value": True}]},
        },
    ]
}


def test_an_earlier_purchase_arriving_late_makes_the_later_customer_existing(world):
    publish(world, NEW_CUSTOMERS)
    ws = world.workspace.pk
    later = convert(world, "1000", at=T0 + datetime.timedelta(days=10), customer="cust-1")
    accrual.accrue(workspace_id=ws, conversion_ids=[later.pk])
    assert total() == D("300.00")
    early = convert(world, "500", at=T0, customer="cust-1")
    accrual.accrue(workspace_id=ws, conversion_ids=[early.pk])  # the after-commit run: the new one only
    assert total(source_id=early.pk) == D("150.00")
    assert total(source_id=later.pk) == D("100.00")  # it stayed at 300.00: no longer a new customer
    with unscoped():
        Conversion.objects.filter(pk=early.pk).update(
            status=Conversion.Status.REJECTED, updated_at=timezone.now()
        )
    accrual.accrue(workspace_id=ws, conversion_ids=[early.pk])
    assert total(source_id=early.pk) == D("0.00")
    assert total(source_id=later.pk) == D("300.00")  # new again


def test_a_catch_up_after_a_late_purchase_rechecks_the_customers_later_sales(world):
    publish(world, NEW_CUSTOMERS)
    ws = world.workspace.pk
    later = convert(world, "1000", at=T0 + datetime.timedelta(days=10), customer="cust-2")
    accrual.accrue(workspace_id=ws)
    assert total() == D("300.00")
    moment = timezone.now()
    with unscoped():  # written long before the catch-up's window
        Conversion.objects.filter(pk=later.pk).update(updated_at=moment - datetime.timedelta(days=1))
    early = convert(world, "500", at=T0, customer="cust-2")
    accrual.accrue(workspace_id=ws, changed_after=moment - datetime.timedelta(seconds=1))
    assert total(source_id=early.pk) == D("150.00") and total(source_id=later.pk) == D("100.00")


RECURRING = {
    "rules": [
        {
            "key": "sub",
            "event": ["recurring_payment"],
            "reward": {"type": "percent", "rate": 20},
            "recurring": {"months": 12},
        }
    ]
}


def test_a_late_first_purchase_ends_a_recurring_window(world):
    publish(world, RECURRING)
    ws = world.workspace.pk
    payment = convert(world, "100", kind="recurring_payment", at=T0, customer="cust-3")
    accrual.accrue(workspace_id=ws, conversion_ids=[payment.pk])
    assert total() == D("20.00")  # month 0 of the customer
    first = convert(world, "100", at=T0 - datetime.timedelta(days=400), customer="cust-3")
    accrual.accrue(workspace_id=ws, conversion_ids=[first.pk])
    assert total(source_id=payment.pk) == D("0.00")  # 13 months after the first purchase: out of window


def test_the_customers_first_purchase_re_dated_after_a_sale_makes_that_sale_new(world):
    publish(world, NEW_CUSTOMERS)
    ws = world.workspace.pk
    first = convert(world, "500", at=T0, customer="cust-4")
    sale = convert(world, "1000", at=T0 + datetime.timedelta(days=10), customer="cust-4")
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("100.00")  # an existing customer's
    moment = timezone.now()
    with unscoped():
        Conversion.objects.filter(pk=sale.pk).update(updated_at=moment - datetime.timedelta(days=1))
        Conversion.objects.filter(pk=first.pk).update(
            occurred_at=T0 + datetime.timedelta(days=20), updated_at=timezone.now()
        )
    accrual.accrue(workspace_id=ws, changed_after=moment - datetime.timedelta(seconds=1))
    assert total(source_id=sale.pk) == D("300.00")  # it stayed at 100.00: its customer's first sale now


def test_a_range_run_with_a_late_purchase_rechecks_the_customers_sales_after_the_range(world):
    publish(world, NEW_CUSTOMERS)
    ws = world.workspace.pk
    later = convert(world, "1000", at=T0 + datetime.timedelta(days=10), customer="cust-5")
    accrual.accrue(workspace_id=ws)
    assert total() == D("300.00")
    convert(world, "500", at=T0, customer="cust-5")
    accrual.accrue(
        workspace_id=ws, start=T0 - datetime.timedelta(days=1), end=T0 + datetime.timedelta(days=3)
    )
    assert total(source_id=later.pk) == D("100.00")  # it stayed at 300.00
    assert total() == D("250.00")


SUBSCRIPTIONS = {
    "rules": [
        *NEW_CUSTOMERS["rules"],
        {
            "key": "sub",
            "event": ["recurring_payment"],
            "reward": {"type": "percent", "rate": 20},
            "recurring": {"months": 3},
        },
    ]
}


def test_a_range_run_reads_each_customers_first_purchase_once_and_pays_as_per_event_runs(world):
    """A range run looks a customer's first purchase up in its first month and keeps it for the next ones
    (``sources.conversions(firsts=...)``): the same commissions as the replay, which reads every month
    anew."""
    publish(world, SUBSCRIPTIONS)
    ws = world.workspace.pk
    day = datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.UTC)
    convert(world, "0", kind="signup", at=day, customer="cust-6")  # no purchase yet: nothing to keep
    first = convert(world, "1000", at=day.replace(month=2, day=3), customer="cust-6")
    second = convert(world, "1000", at=day.replace(month=2, day=20), customer="cust-6")
    payments = [
        convert(world, "100", kind="recurring_payment", at=day.replace(month=m, day=3), customer="cust-6")
        for m in (3, 4, 5, 6)
    ]
    old = convert(world, "100", kind="recurring_payment", at=day.replace(month=3), customer="cust-7")
    convert(world, "50", at=day.replace(year=2024, month=11), customer="cust-7")  # 16 months before
    start, day = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), day.replace(month=7, day=1, hour=0)
    accrual.accrue_range(workspace_id=ws, start=start, end=day)
    assert total(source_id=first.pk) == D("300.00")  # a new customer's
    assert total(source_id=second.pk) == D("100.00")  # the same customer's second purchase
    assert [total(source_id=p.pk) for p in payments] == [D("20.00"), D("20.00"), D("0.00"), D("0.00")]
    assert total(source_id=old.pk) == D("0.00")  # month 17 of its customer
    assert total() == D("440.00")
    whole = replay(workspace_id=ws, start=start, end=day)
    assert whole.differences == [] and whole.compared == 7 and whole.total_replayed == D("440.00")


EARLY_MONTHS = {
    "rules": [
        {
            "key": "early",
            "event": "purchase",
            "reward": {"type": "percent", "rate": 20},
            "conditions": {"all": [{"field": "customer.months_since_first", "op": "lte", "value": 1}]},
        }
    ]
}


def test_a_range_run_forgets_first_purchases_when_a_conversion_is_written_meanwhile(world, monkeypatch):
    """A first purchase arrives while the range run is between two months and a catch-up accrues it
    before the run reads the next month: that month reads the customer's first purchase again."""
    publish(world, EARLY_MONTHS)
    ws = world.workspace.pk
    utc = datetime.UTC
    convert(world, "100", at=datetime.datetime(2026, 2, 10, 12, tzinfo=utc), customer="cust-8")
    march = convert(world, "100", at=datetime.datetime(2026, 3, 20, 12, tzinfo=utc), customer="cust-8")
    months = []
    accrue = accrual.accrue

    def month(**kwargs: Any) -> Any:
        if months:  # between the run's months: the late first purchase, and a catch-up accrues it
            convert(world, "100", at=datetime.datetime(2026, 1, 5, 12, tzinfo=utc), customer="cust-8")
            accrue(workspace_id=ws, changed_after=timezone.now() - datetime.timedelta(minutes=1))
        months.append(kwargs["start"])
        return accrue(**kwargs)

    monkeypatch.setattr(accrual, "accrue", month)
    accrual.accrue_range(
        workspace_id=ws,
        start=datetime.datetime(2026, 2, 1, tzinfo=utc),
        end=datetime.datetime(2026, 4, 1, tzinfo=utc),
    )
    assert len(months) == 2
    assert total(source_id=march.pk) == D("0.00")  # two months after its customer's first purchase
