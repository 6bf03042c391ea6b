"""Payouts end to end through the engine's services: a published plan (20 % of purchases, 30-day hold,
50.00 minimum) accrues conversions, the hold releases them, a run pays the partners above the minimum
(the small balance carried forward), a refund after payment becomes a clawback netted in the next run,
and a negative balance is carried forward, never charged."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry, PayoutItem, Statement
from openprm.commissions.services import accrual, ledger, payouts, plans
from openprm.commissions.tests.payout_fixtures import bank_details
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Program
from openprm.testing import World, actor_for

pytestmark = pytest.mark.django_db
RULES = {"rules": [{"key": "sales", "event": ["purchase"], "reward": {"type": "percent", "rate": 20}}]}


def _publish(world: World) -> None:
    actor = world.system
    with scope(actor.access_scope()):
        plan = plans.plan_create(
            actor=actor, name="Resellers", currency="USD", hold_days=30, min_payout=Decimal("50")
        )
        program = Program.objects.get(is_default=True)
        plans.assignment_create(
            actor=actor, plan=plan, level="program", target_id=program.pk, starts_on=datetime.date(2025, 1, 1)
        )
        version = plans.version_create_draft(
            actor=actor, plan=plan, rules=RULES, effective_from=datetime.date(2025, 1, 1)
        )
        plans.version_publish(actor=actor, version=version)


def _convert(world: World, partner: Any, amount: str, days_ago: int, **extra: Any) -> Conversion:
    with unscoped():
        return Conversion.objects.create(
            workspace=world.workspace,
            partner=partner,
            kind=extra.pop("kind", "purchase"),
            occurred_at=timezone.now() - datetime.timedelta(days=days_ago),
            amount=Decimal(amount),
            currency="USD",
            idempotency_key=f"j-{partner.pk}-{amount}-{days_ago}-{extra.get('refund_of')}",
            **extra,
        )


def _run_and_pay(world: World, reference: str) -> dict[int, PayoutItem]:
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(
            actor=actor, data={"currency": "USD", "cutoff": timezone.now().date()}
        )
        if run.total > 0:
            run = payouts.payout_run_export(actor=actor, run=run)
            run = payouts.payout_run_mark_paid(actor=actor, run=run, reference=reference)
        else:
            payouts.payout_run_cancel(actor=actor, run=run)
    with unscoped():
        return {i.partner_id: i for i in run.items.all()}


def test_accrue_approve_run_export_paid_then_clawback_netted(world: World) -> None:
    _publish(world)
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban="GB82WEST12345698765432")
    sale = _convert(world, world.partner_a, "1000.00", days_ago=60)  # earns 200.00
    _convert(world, world.partner_b, "100.00", days_ago=60)  # earns 20.00: below the 50.00 minimum
    _convert(world, world.partner_a, "500.00", days_ago=5)  # earns 100.00, still in its hold
    ws = world.workspace.pk
    accrual.accrue(workspace_id=ws)
    assert ledger.holds_release(workspace_id=ws) == 2

    first = _run_and_pay(world, "SEPA-1")
    assert (first[world.partner_a.pk].status, first[world.partner_a.pk].amount) == ("paid", Decimal("200.00"))
    assert first[world.partner_b.pk].status == "skipped" and "minimum" in first[world.partner_b.pk].note
    with unscoped():
        paid = LedgerEntry.objects.filter(partner=world.partner_a, kind="accrual", state="paid")
        assert paid.aggregate(s=Sum("amount"))["s"] == Decimal("200.00")
        assert Statement.objects.get(partner=world.partner_a).paid == Decimal("200.00")

    # a full refund of the paid sale: a clawback of 200.00, netted in the next run
    _convert(world, world.partner_a, "1000.00", days_ago=1, kind="refund", refund_of=sale)
    accrual.accrue(workspace_id=ws)
    with unscoped():
        clawback = LedgerEntry.objects.get(partner=world.partner_a, kind="clawback")
    assert clawback.amount == Decimal("-200.00")
    with unscoped():  # the recent sale's hold is over (finance approves early)
        recent = list(
            LedgerEntry.objects.filter(partner=world.partner_a, state="pending").values_list("pk", flat=True)
        )
    with scope(actor_for(world.finance).access_scope()):
        ledger.entries_approve(actor=actor_for(world.finance), ids=recent)
    second = _run_and_pay(world, "SEPA-2")
    a = second[world.partner_a.pk]
    assert (a.status, a.amount) == ("skipped", Decimal("-100.00"))  # 100.00 earned - 200.00 clawed back
    assert "never charged" in a.note
    with unscoped():
        assert LedgerEntry.objects.filter(kind="payout").count() == 1  # nobody was charged or paid twice
        owed = LedgerEntry.objects.filter(partner=world.partner_a).exclude(state="rejected")
        assert owed.aggregate(s=Sum("amount"))["s"] == Decimal("-100.00")
