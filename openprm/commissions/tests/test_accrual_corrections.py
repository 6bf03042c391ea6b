"""Corrections the review found broken: re-read refunds, missing FX, rejected originals,
refunds against tiers and thresholds, bonuses accrued one run at a time."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.services import accrual
from openprm.commissions.services.rows import COLUMNS, POS
from openprm.commissions.tests.test_accrual import PERCENT_20, T0, convert, entries, publish, total
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db
D = Decimal


def test_refund_amount_edited_after_accrual_posts_the_difference_and_accrual_goes_on(world):
    publish(world, PERCENT_20)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    refund = convert(world, "500.00", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("100.00")
    with unscoped():
        Conversion.objects.filter(pk=refund.pk).update(amount=D("600.00"), updated_at=timezone.now())
    convert(world, "100.00", key="later", at=T0 + datetime.timedelta(days=2))
    result = accrual.accrue(workspace_id=ws)
    assert result.failed == []
    assert total() == D("100.00")  # 200 - 120 + 20
    accrual.accrue(workspace_id=ws)  # idempotent
    assert total() == D("100.00")


def test_sale_amount_edited_after_refund_does_not_stop_accrual(world):
    publish(world, PERCENT_20)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    convert(world, "500.00", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    with unscoped():
        Conversion.objects.filter(pk=sale.pk).update(amount=D("2000.00"), updated_at=timezone.now())
    convert(world, "100.00", key="later", at=T0 + datetime.timedelta(days=2))
    accrual.accrue(workspace_id=ws)
    assert entries(kind="accrual")[-1].amount == D("20.00")


def test_corrections_skip_keys_already_written_and_go_on(world):
    publish(world, PERCENT_20)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    convert(world, "500.00", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    [reversal] = entries(kind="reversal")
    rows = [[None] * (len(COLUMNS) + 1)]
    rows[0][POS["idempotency_key"]] = reversal.idempotency_key
    result = accrual.AccrualResult()
    with unscoped():
        assert accrual.write_corrections(ws, rows, result) == []
    bad = [[None] * (len(COLUMNS) + 1)]
    bad[0][POS["idempotency_key"]] = "new-key"
    bad[0][POS["source_kind"]] = "conversion"
    bad[0][POS["source_id"]] = 1
    with unscoped():
        assert accrual.write_corrections(ws, bad, result) == []
    assert result.failed and result.failed[0].startswith("conversion 1:")
    assert len(entries()) == 2


def _eur(world, amount: str, key: str, *, kind: str = "purchase", refund_of=None, days: int = 0):
    with unscoped():
        return Conversion.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            kind=kind,
            occurred_at=T0 + datetime.timedelta(days=days),
            amount=D(amount),
            currency="EUR",
            refund_of=refund_of,
            idempotency_key=key,
        )


def test_a_sale_without_its_rate_waits_and_is_accrued_by_the_catch_up_once_the_rate_exists(world, client_for):
    from openprm.commissions.models import AccrualState
    from openprm.finance.models import FxRate

    publish(world, PERCENT_20)
    ws = world.workspace.pk
    sale = _eur(world, "1000", "eur-sale")
    _eur(world, "1000", "eur-refund", kind="refund", refund_of=sale, days=1)
    accrual.accrue_catch_up(workspace_id=ws)
    assert entries() == []
    why = client_for(world.finance).get(f"/commissions/ledger/why/?source=conversion&id={sale.public_id}")
    assert "waiting for an exchange rate" in why.content.decode()
    with unscoped():
        FxRate.objects.create(
            workspace=world.workspace, day=T0.date(), base="EUR", quote="USD", rate=D("1.1")
        )
        # the watermark is long past the sale: only the waiting list brings it back
        AccrualState.objects.filter(workspace_id=ws).update(
            deals_changed_after=timezone.now() + datetime.timedelta(hours=1)
        )
    accrual.accrue_catch_up(workspace_id=ws)
    assert [e.amount for e in entries(kind="accrual")] == [D("220.00")]
    assert total() == D("0.00")  # the refund waited with its sale, then reversed it
    accrual.accrue_catch_up(workspace_id=ws)
    assert total() == D("0.00") and len(entries()) == 2


def test_the_fx_import_enqueues_the_accrual(world, monkeypatch):
    from openprm.finance.services import fx

    called = []
    monkeypatch.setattr(
        fx, "enqueue_after_commit", lambda name, *, workspace_id, coalesce=None: called.append(name)
    )
    fx.rates_changed(world.workspace.pk)
    assert called == ["openprm.commissions.tasks.accrue_recent"]


THRESHOLD = {
    "rules": [
        {"key": "sales", "event": ["purchase"], "reward": {"type": "percent", "rate": 10}},
        {
            "key": "three",
            "event": ["purchase"],
            "reward": {
                "type": "threshold",
                "metric": "count",
                "threshold": 3,
                "amount": 500,
                "period": "month",
            },
        },
    ]
}


def test_a_threshold_bonus_counts_events_accrued_one_run_each_and_pays_once(world):
    publish(world, THRESHOLD)
    ws = world.workspace.pk
    for i in range(5):
        convert(world, "100.00", key=f"s{i}", at=T0 + datetime.timedelta(hours=i))
        accrual.accrue(workspace_id=ws)
    assert [e.amount for e in entries(kind="bonus") if e.amount] == [D("500.00")]
    assert total() == D("550.00")


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
    ]
}


def test_a_refund_takes_its_volume_out_of_the_tier_and_the_true_up_back(world):
    publish(world, RETRO)
    ws = world.workspace.pk
    convert(world, "40000.00", key="a")
    accrual.accrue(workspace_id=ws)
    big = convert(world, "20000.00", key="b", at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    assert total() == D("9000.00")
    convert(world, "20000.00", kind="refund", refund_of=big, key="c", at=T0 + datetime.timedelta(days=2))
    accrual.accrue(workspace_id=ws)
    assert total() == D("4000.00")
    convert(world, "1000.00", key="d", at=T0 + datetime.timedelta(days=3))
    accrual.accrue(workspace_id=ws)
    assert total() == D("4100.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("4100.00")


def test_a_refund_below_the_threshold_reverses_the_bonus_and_a_new_crossing_pays_once(world):
    publish(world, THRESHOLD)
    ws = world.workspace.pk
    sales = []
    for i in range(3):
        sales.append(convert(world, "100.00", key=f"s{i}", at=T0 + datetime.timedelta(hours=i)))
        accrual.accrue(workspace_id=ws)
    assert total() == D("530.00")
    convert(world, "100.00", kind="refund", refund_of=sales[0], key="r0", at=T0 + datetime.timedelta(hours=5))
    accrual.accrue(workspace_id=ws)
    assert total() == D("20.00")
    convert(world, "100.00", key="s9", at=T0 + datetime.timedelta(hours=6))
    accrual.accrue(workspace_id=ws)
    assert total() == D("530.00")
    accrual.accrue(workspace_id=ws)
    assert total() == D("530.00")


def test_rejecting_an_entry_rejects_its_reversals_and_overrides(world):
    from openprm.commissions.services import ledger, plans
    from openprm.core.scoping import scope

    publish(world, {**PERCENT_20, "overrides": {"levels": [5]}})
    ws = world.workspace.pk
    with scope(world.system.access_scope()):
        plans.subpartner_link(
            actor=world.system, parent=world.partner_b, child=world.partner_a, since=datetime.date(2026, 1, 1)
        )
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    convert(world, "500.00", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    [original] = entries(kind="accrual")
    with scope(world.system.access_scope()):
        assert ledger.entries_reject(actor=world.system, ids=[original.pk], reason="fraud") == 4
    ledger.holds_release(workspace_id=ws, today=datetime.date(2027, 1, 1))
    assert {e.state for e in entries()} == {"rejected"}
    assert total(state="approved") == D("0")


def test_rejecting_an_entry_whose_dependent_is_paid_is_refused(world):
    from django.core.exceptions import ValidationError

    from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun
    from openprm.commissions.services import ledger
    from openprm.core.scoping import scope

    publish(world, PERCENT_20)
    ws = world.workspace.pk
    sale = convert(world, "1000.00")
    accrual.accrue(workspace_id=ws)
    convert(world, "500.00", kind="refund", refund_of=sale, at=T0 + datetime.timedelta(days=1))
    accrual.accrue(workspace_id=ws)
    [original] = entries(kind="accrual")
    [reversal] = entries(kind="reversal")
    with unscoped():
        LedgerEntry.objects.filter(pk=reversal.pk).update(state="approved", approved_at=timezone.now())
        run = PayoutRun.objects.create(workspace=world.workspace, currency="USD", cutoff=T0.date())
        item = PayoutItem.objects.create(
            workspace=world.workspace, run=run, partner=world.partner_a, amount=D("-100"), currency="USD"
        )
    with scope(world.system.access_scope()):
        ledger.entries_mark_paid(actor=world.system, item=item, ids=[reversal.pk])
        with pytest.raises(ValidationError, match="already paid"):
            ledger.entries_reject(actor=world.system, ids=[original.pk], reason="fraud")
    assert entries(kind="accrual")[0].state == "pending"


@pytest.mark.parametrize(("field", "value"), [("currency", "EUR"), ("selection", "stack"), ("hold_days", 0)])
def test_money_fields_of_a_published_plan_cannot_change(world, field, value):
    from django.core.exceptions import ValidationError

    from openprm.commissions.services import plans
    from openprm.core.scoping import scope

    plan = publish(world, PERCENT_20)
    with scope(world.system.access_scope()), pytest.raises(ValidationError) as raised:
        plans.plan_update(actor=world.system, plan=plan, **{field: value})
    assert field in raised.value.message_dict and "new plan" in raised.value.message_dict[field][0]
    with scope(world.system.access_scope()):  # the same value, and other fields, still save
        plans.plan_update(actor=world.system, plan=plan, name="Renamed", **{field: getattr(plan, field)})
