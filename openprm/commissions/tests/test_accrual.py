"""Accrual through the database: idempotent, refunds reverse at the original rate (a full refund leaves
zero), paid entries are clawed back, deals moved out of won are reversed, overrides reach the parent,
every event has an explanation, replay is identical, plan precedence and versions by date."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun, PlanVersion
from openprm.commissions.services import accrual, ledger, plans
from openprm.commissions.services.replay import replay
from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services
from openprm.deals.models import Deal
from openprm.testing import World, make_partner

pytestmark = pytest.mark.django_db
D = Decimal
T0 = datetime.datetime(2026, 3, 2, 12, tzinfo=datetime.UTC)


def publish(
    world: World,
    rules: dict[str, Any],
    *,
    name: str = "Plan",
    level: str = "program",
    target: Any = None,
    effective: datetime.date = datetime.date(2026, 1, 1),
    plan: Any = None,
    hold_days: int = 30,
) -> Any:
    actor = world.system
    with scope(actor.access_scope()):
        if plan is None:
            plan = plans.plan_create(actor=actor, name=name, currency="USD", hold_days=hold_days)
            if target is None:
                from openprm.partners.models import Program

                target = Program.objects.get(is_default=True).pk
            plans.assignment_create(
                actor=actor, plan=plan, level=level, target_id=target, starts_on=datetime.date(2025, 1, 1)
            )
        version = plans.version_create_draft(actor=actor, plan=plan, rules=rules, effective_from=effective)
        plans.version_publish(actor=actor, version=version)
    return plan


def convert(
    world: World,
    amount: str,
    *,
    kind: str = "purchase",
    partner: Any = None,
    at: datetime.datetime = T0,
    refund_of: Any = None,
    customer: str = "",
    key: str | None = None,
) -> Conversion:
    with unscoped():
        return Conversion.objects.create(
            workspace=world.workspace,
            partner=partner or world.partner_a,
            kind=kind,
            occurred_at=at,
            amount=D(amount),
            currency="USD",
            refund_of=refund_of,
            customer_external_id=customer,
            idempotency_key=key or f"k{Conversion.objects.count()}-{amount}-{kind}",
        )


def entries(**filters: Any) -> list[LedgerEntry]:
    with unscoped():
        return list(LedgerEntry.objects.filter(**filters).order_by("id"))


def total(**filters: Any) -> Decimal:
    with unscoped():
        amounts = (
            LedgerEntry.objects.filter(**filters).exclude(kind="payout").values_list("amount", flat=True)
        )
        return sum(amounts, D(0))  # in Python: SQLite sums decimals as floats


PERCENT_20 = {"rules": [{"key": "sales", "event": ["purchase"], "reward": {"type": "percent", "rate": 20}}]}


def test_accrual_is_idempotent_and_explained(world: World) -> None:
    publish(world, PERCENT_20)
    c = convert(world, "1250.00")
    ws = world.workspace.pk
    first = accrual.accrue(workspace_id=ws, conversion_ids=[c.pk])
    again = accrual.accrue(workspace_id=ws)
    assert (first.rows, again.rows) == (1, 0)
    [entry] = entries()
    assert (entry.amount, entry.rate, entry.state, entry.kind) == (D("250.00"), D(20), "pending", "accrual")
    assert entry.hold_until == T0.date() + datetime.timedelta(days=30)
    assert entry.explanation["rules"] == [{"rule": "sales", "ok": True}]
    assert entry.explanation["lines"][0]["detail"] == "20% of 1250.00"


def test_an_event_that_earned_nothing_says_why(world: World) -> None:
    publish(
        world,
        {
            "rules": [
                {
                    "key": "big",
                    "event": "purchase",
                    "reward": {"type": "flat", "amount": 500},
                    "conditions": {"all": [{"field": "amount", "op": "gt", "value": 10000}]},
                }
            ]
        },
    )
    convert(world, "800.00")
    accrual.accrue(workspace_id=world.workspace.pk)
    [entry] = entries()
    assert entry.amount == 0 and entry.rule_key == ""
    assert entry.explanation["rules"][0]["why"] == [
        "amount gt 10000: was 800.00000000000"
    ] or entry.explanation["rules"][0]["why"][0].startswith("amount gt 10000: was 800")


def test_partial_then_full_refund_reverses_to_exactly_zero_and_paid_is_clawed_back(world: World) -> None:
    publish(
        world,
        {"rules": [{"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": "33.3333"}}]},
    )
    sale = convert(world, "999.99")
    ws = world.workspace.pk
    accrual.accrue(workspace_id=ws)
    [original] = entries()
    convert(world, "333.33", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=3))
    accrual.accrue(workspace_id=ws)
    assert total() == original.amount - accrual.engine.cents(original.amount * D("333.33") / D("999.99"))
    # The rest of the sale is approved and paid, then refunded: a clawback, approved at once.
    with unscoped():
        LedgerEntry.objects.filter(pk=original.pk).update(state="approved", approved_at=timezone.now())
        run = PayoutRun.objects.create(workspace=world.workspace, currency="USD", cutoff=T0.date())
        item = PayoutItem.objects.create(
            workspace=world.workspace,
            run=run,
            partner=world.partner_a,
            amount=original.amount,
            currency="USD",
        )
    with scope(world.system.access_scope()):
        assert ledger.entries_mark_paid(actor=world.system, item=item, ids=[original.pk]) == 1
    convert(world, "666.66", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=5))
    accrual.accrue(workspace_id=ws)
    assert total() == 0
    clawback = entries(kind="clawback")
    assert len(clawback) == 1 and clawback[0].state == "approved" and clawback[0].fx_rate == original.fx_rate


def test_deal_won_bounty_then_moved_out_of_won_is_reversed(world: World) -> None:
    publish(
        world,
        {
            "rules": [
                {
                    "key": "bounty",
                    "event": "deal_won",
                    "reward": {"type": "flat", "amount": 500},
                    "conditions": {"all": [{"field": "amount", "op": "gt", "value": 10000}]},
                }
            ]
        },
    )
    with scope(world.system.access_scope()):
        deal, _ = deal_services.deal_register(
            actor=world.system,
            data={
                "partner_id": world.partner_a.pk,
                "customer_name": "Initech",
                "customer_domain": "initech.example",
                "amount": "12000",
                "currency": "USD",
            },
        )
        deal_services.deal_approve(actor=world.system, deal=deal, note="ok")
        deal_services.deal_move_stage(actor=world.system, deal=deal, stage_key="closed_won", lost_reason="")
    accrual.accrue(workspace_id=world.workspace.pk)  # also run after commit by the job; idempotent
    assert total(source_kind="deal", kind="accrual") == D("500.00")
    with scope(world.system.access_scope()):
        deal = Deal.objects.get(pk=deal.pk)
        deal_services.deal_move_stage(
            actor=world.system, deal=deal, stage_key="closed_lost", lost_reason="Budget"
        )
    accrual.accrue(workspace_id=world.workspace.pk, deal_ids=[deal.pk])
    assert total(source_kind="deal") == 0
    assert entries(kind="reversal")[0].note == "deal no longer won"


def test_override_pays_the_parent(world: World) -> None:
    publish(world, {**PERCENT_20, "overrides": {"levels": [5]}})
    with scope(world.system.access_scope()):
        plans.subpartner_link(
            actor=world.system, parent=world.partner_b, child=world.partner_a, since=datetime.date(2026, 1, 1)
        )
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=world.workspace.pk)
    [override] = entries(partner=world.partner_b)
    assert override.derived_from is not None
    assert (override.kind, override.amount, override.derived_from.partner_id) == (
        "override",
        D("10.00"),
        world.partner_a.pk,
    )
    convert(world, "1000.00", kind="refund", refund_of=sale)
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(partner=world.partner_b) == 0 and total(partner=world.partner_a) == 0


def test_versions_by_date_and_partner_assignment_wins_over_program(world: World) -> None:
    plan = publish(world, PERCENT_20)
    publish(
        world,
        {"rules": [{"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": 25}}]},
        plan=plan,
        effective=datetime.date(2026, 3, 1),
    )
    publish(
        world,
        {"rules": [{"key": "vip", "event": "purchase", "reward": {"type": "percent", "rate": 40}}]},
        name="VIP",
        level="partner",
        target=world.partner_b.pk,
    )
    convert(world, "100.00", at=datetime.datetime(2026, 2, 10, tzinfo=datetime.UTC))
    convert(world, "100.00", at=datetime.datetime(2026, 3, 10, tzinfo=datetime.UTC))
    convert(world, "100.00", partner=world.partner_b)
    accrual.accrue(workspace_id=world.workspace.pk)
    assert [e.amount for e in entries(partner=world.partner_a)] == [D("20.00"), D("25.00")]
    assert [e.amount for e in entries(partner=world.partner_b)] == [D("40.00")]
    with unscoped():
        assert PlanVersion.objects.filter(plan=plan, status="published").count() == 2


def test_hold_release_and_bulk_approve_reject(world: World) -> None:
    publish(world, PERCENT_20, hold_days=7)
    convert(world, "100.00", at=T0)
    convert(world, "200.00", at=T0 + datetime.timedelta(days=20))
    convert(world, "300.00", at=T0 + datetime.timedelta(days=21))
    accrual.accrue(workspace_id=world.workspace.pk)
    a, b, c = entries()
    assert (
        ledger.holds_release(workspace_id=world.workspace.pk, today=T0.date() + datetime.timedelta(days=8))
        == 1
    )
    with scope(world.system.access_scope()):
        assert ledger.entries_approve(actor=world.system, ids=[a.pk, b.pk]) == 1
        assert ledger.entries_reject(actor=world.system, ids=[c.pk], reason="Fraudulent order") == 1
    assert [e.state for e in entries()] == ["approved", "approved", "rejected"]


def test_tiers_continue_across_batches_and_replay_is_identical(world: World) -> None:
    publish(
        world,
        {
            "rules": [
                {
                    "key": "vol",
                    "event": "purchase",
                    "reward": {
                        "type": "tiered",
                        "period": "quarter",
                        "mode": "retroactive",
                        "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
                    },
                }
            ]
        },
    )
    ws = world.workspace.pk
    for i, amount in enumerate(("30000.00", "15000.00", "10000.00", "7.77")):
        c = convert(world, amount, at=T0 + datetime.timedelta(days=i))
        accrual.accrue(workspace_id=ws, conversion_ids=[c.pk])  # one batch per sale
    assert total() == D("8251.17")  # 55,007.77 at 15%, the first 45,000 trued up
    result = replay(
        workspace_id=ws,
        start=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        end=datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC),
    )
    # four sales compared, the crossing sale's true-up with its rule's commission
    assert result.ok and result.identical == result.compared == 4


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=D("1"), max_value=D("5000"), places=2),
            st.sampled_from(["none", "part", "full"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_ledger_sums_to_expected_for_any_sales_and_refunds(
    world: World, sales: list[tuple[Decimal, str]]
) -> None:
    with unscoped():
        if not PlanVersion.objects.exists():
            publish(
                world,
                {"rules": [{"key": "s", "event": "purchase", "reward": {"type": "percent", "rate": "12.5"}}]},
            )
        partner = make_partner(
            world.system, f"Example {uuid.uuid4().hex[:8]}", tiers={"Partner Program": "Silver"}
        )
    expected = D(0)
    for amount, refund in sales:
        sale = convert(world, str(amount), partner=partner)
        earned = accrual.engine.cents(amount * D("12.5") / 100)
        if refund == "part":
            part = (amount / 3).quantize(D("0.01"))
            convert(world, str(part), kind="refund", refund_of=sale, partner=partner)
            earned -= accrual.engine.cents(earned * part / amount)
        elif refund == "full":
            convert(world, str(amount), kind="refund", refund_of=sale, partner=partner)
            earned = D(0)
        expected += earned
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(partner=partner) == expected


def test_catch_up_job_accrues_what_changed_and_a_rejected_conversion_is_reversed(world: World) -> None:
    from openprm.activity.services.conversions import conversion_reject
    from openprm.commissions.tasks import accrue_recent

    ws = world.workspace.pk
    assert accrue_recent.call_local(ws) == 0  # no published plan: nothing read
    publish(world, PERCENT_20)
    sale = convert(world, "500.00")
    assert accrue_recent.call_local(ws) == 1
    assert accrue_recent.call_local(ws) == 0
    with scope(world.system.access_scope()):
        conversion_reject(actor=world.system, conversion=sale, note="test order")
    assert accrue_recent.call_local(ws) == 1
    assert total() == 0 and entries(kind="reversal")[0].note == "conversion rejected"
