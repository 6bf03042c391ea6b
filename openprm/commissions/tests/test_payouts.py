"""Payout runs: netting (clawbacks against earnings), thresholds (plan's and the partner's own), negative
balances carried forward and never charged, export files per method, mark paid (entries → paid, one
payout ledger entry per partner, a statement), failure and retry paying nobody twice, one open run per
currency, finance only."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun, Statement
from openprm.commissions.services import payout_files, payouts
from openprm.commissions.tests.payout_fixtures import IBAN_A, bank_details, email_details, entry, make_plan
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.testing import World, actor_for, make_partner

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today


def _finance(world: World):  # type: ignore[no-untyped-def]
    return actor_for(world.finance)


def _create(world: World, currency: str = "USD") -> PayoutRun:
    actor = _finance(world)
    with scope(actor.access_scope()):
        return payouts.payout_run_create(actor=actor, data={"currency": currency, "cutoff": TODAY()})


def _items(run: PayoutRun) -> dict[int, PayoutItem]:
    with unscoped():
        return {i.partner_id: i for i in run.items.all()}


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def test_a_run_nets_clawbacks_and_carries_small_and_negative_balances_forward(world: World) -> None:
    plan = make_plan(world, min_payout="50.00")
    partner_c = make_partner(world.system, "Initech Partners", external_id="C-1")
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban="GB82WEST12345698765432")
    bank_details(world, partner_c, iban="FR1420041010050500013M02606")
    entry(world, world.partner_a, "100.00", plan=plan)
    entry(world, world.partner_a, "50.00", plan=plan)
    entry(world, world.partner_a, "-30.00", plan=plan, kind="clawback")  # netted, not charged separately
    entry(world, world.partner_a, "999.00", plan=plan, state="pending")  # still in its hold
    entry(world, world.partner_a, "500.00", plan=plan, days_ago=-0)  # occurred today: inside the cutoff
    entry(world, world.partner_a, "77.00", plan=plan, currency="EUR")  # another currency's run
    entry(world, world.partner_b, "20.00", plan=plan)  # below the 50.00 minimum
    entry(world, partner_c, "10.00", plan=plan)
    entry(world, partner_c, "-40.00", plan=plan, kind="clawback")  # negative: carried forward

    run = _create(world)
    items = _items(run)
    a, b, c = items[world.partner_a.pk], items[world.partner_b.pk], items[partner_c.pk]
    assert (a.status, a.amount) == ("pending", Decimal("620.00"))
    assert (b.status, b.amount) == ("skipped", Decimal("20.00"))
    assert "Below the 50.00 USD minimum" in b.note
    assert (c.status, c.amount) == ("skipped", Decimal("-30.00"))
    assert "never charged" in c.note
    assert run.total == Decimal("620.00") and run.status == "draft"
    with unscoped():  # a draft reserves nothing
        assert not LedgerEntry.objects.filter(paid_item__isnull=False).exists()


def test_the_partners_own_minimum_overrides_the_plans(world: World) -> None:
    plan = make_plan(world, min_payout="500.00")
    bank_details(world, world.partner_a, min_payout="10.00")
    bank_details(world, world.partner_b, iban="GB82WEST12345698765432")
    entry(world, world.partner_a, "20.00", plan=plan)
    entry(world, world.partner_b, "20.00", plan=plan)
    items = _items(_create(world))
    assert items[world.partner_a.pk].status == "pending"
    assert items[world.partner_b.pk].status == "skipped" and "500.00" in items[world.partner_b.pk].note


def test_without_payout_details_the_balance_waits(world: World) -> None:
    entry(world, world.partner_a, "80.00", plan=make_plan(world, min_payout="0"))
    item = _items(_create(world))[world.partner_a.pk]
    assert item.status == "skipped" and "No payout details" in item.note


def test_export_mark_paid_pays_each_entry_once_with_a_payout_entry_and_a_statement(world: World) -> None:
    plan = make_plan(world, min_payout="0")
    bank_details(world, world.partner_a)
    email_details(world, world.partner_b, "paypal", "payouts@globex.example")
    first = entry(world, world.partner_a, "120.00", plan=plan)
    entry(world, world.partner_a, "-20.00", plan=plan, kind="reversal")
    entry(world, world.partner_b, "45.50", plan=plan)
    actor = _finance(world)
    run = _create(world)
    with scope(actor.access_scope()):
        run = payouts.payout_run_export(actor=actor, run=run)
        assert run.status == "exported" and run.attempts == 1
        bank = payout_files.export_file(actor=actor, run=run, method="bank")
        paypal = payout_files.export_file(actor=actor, run=run, method="paypal")
        wise = payout_files.export_file(actor=actor, run=run, method="wise")
    rows = _csv(bank.content)
    assert rows[0] == ["name", "iban", "bic", "account_number", "amount", "currency", "reference"]
    assert rows[1][:6] == ["Acme Resellers GmbH", IBAN_A, "COBADEFFXXX", "", "100.00", "USD"]
    assert rows[1][6].startswith("PRM-") and len(rows) == 2
    paypal_rows = _csv(paypal.content)
    assert paypal_rows == [
        ["payouts@globex.example", "45.50", "USD", paypal_rows[0][3], paypal_rows[0][4], "PayPal"]
    ]
    assert _csv(wise.content) == [_csv(wise.content)[0]]  # header only: nobody is paid by Wise
    with unscoped():
        item_a = PayoutItem.objects.get(run=run, partner=world.partner_a)
        assert set(LedgerEntry.objects.filter(paid_item=item_a).values_list("amount", flat=True)) == {
            Decimal("120.00"),
            Decimal("-20.00"),
        }
    with scope(actor.access_scope()):
        run = payouts.payout_run_mark_paid(actor=actor, run=run, reference="BATCH-2026-11")
        again = payouts.payout_run_mark_paid(actor=actor, run=run, reference="BATCH-2026-11")
    assert run.status == again.status == "paid"
    with unscoped():
        first.refresh_from_db()
        assert first.state == "paid" and first.paid_item_id == item_a.pk
        money_out = LedgerEntry.objects.filter(kind="payout", partner=world.partner_a)
        assert list(money_out.values_list("amount", "state")) == [(Decimal("-100.00"), "paid")]
        statement = Statement.objects.get(partner=world.partner_a)
        assert (statement.earned, statement.paid, statement.closing) == (
            Decimal("100.00"),
            Decimal("100.00"),
            Decimal("0.00"),
        )
        assert statement.payout_item_id == item_a.pk
        assert (
            AuditEntry.objects.filter(object_type="commissions.payoutrun", object_id=run.public_id).count()
            == 6  # create, export, paid + the three file downloads
        )
    # the next run finds nothing left to pay for these entries
    entry(world, world.partner_a, "5.00", plan=plan)
    items = _items(_create(world))
    assert items[world.partner_a.pk].amount == Decimal("5.00")


def test_a_failed_payment_is_retried_without_paying_anyone_twice(world: World) -> None:
    plan = make_plan(world, min_payout="0")
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban="GB82WEST12345698765432")
    entry(world, world.partner_a, "70.00", plan=plan)
    entry(world, world.partner_b, "30.00", plan=plan)
    actor = _finance(world)
    run = _create(world)
    with scope(actor.access_scope()):
        run = payouts.payout_run_export(actor=actor, run=run)
        first_file = _csv(payout_files.export_file(actor=actor, run=run, method="bank").content)
        # the bank refused B's transfer (closed account): A paid, B failed
        run = payouts.payout_run_mark_paid(
            actor=actor,
            run=run,
            reference="B-1",
            failed=[str(world.partner_b.public_id)],
            error="Account closed",
        )
        assert run.status == "failed"
        with pytest.raises(ValidationError):
            payouts.payout_run_mark_paid(actor=actor, run=run, reference="B-1")  # retry first
        run = payouts.payout_run_retry(actor=actor, run=run)
        assert run.status == "exported" and run.attempts == 2
        second_file = _csv(payout_files.export_file(actor=actor, run=run, method="bank").content)
        assert [r[0] for r in second_file[1:]] == ["Globex Referrals GmbH"]  # A is not in the file again
        # the same reference for B's payment on the retry: the bank can refuse a duplicate
        assert second_file[1][6] == next(r[6] for r in first_file[1:] if r[0] == "Globex Referrals GmbH")
        run = payouts.payout_run_mark_paid(actor=actor, run=run, reference="B-2")
        payouts.payout_run_mark_paid(actor=actor, run=run, reference="B-3")  # again: no change
    assert run.status == "paid"
    with unscoped():
        out = LedgerEntry.objects.filter(kind="payout").order_by("partner__name")
        assert list(out.values_list("partner__name", "amount")) == [
            ("Acme Resellers", Decimal("-70.00")),
            ("Globex Referrals", Decimal("-30.00")),
        ]
        assert not LedgerEntry.objects.exclude(kind="payout").exclude(state="paid").exists()
        assert PayoutItem.objects.get(partner=world.partner_a).reference == "B-1"
        assert PayoutItem.objects.get(partner=world.partner_b).reference == "B-2"
    # a new run pays nothing already paid
    with scope(actor.access_scope()):
        fresh = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
    assert _items(fresh) == {}


def test_a_refused_file_fails_the_run_and_the_retry_exports_the_same_payments(world: World) -> None:
    bank_details(world, world.partner_a)
    entry(world, world.partner_a, "70.00", plan=make_plan(world, min_payout="0"))
    actor = _finance(world)
    run = _create(world)
    with scope(actor.access_scope()):
        run = payouts.payout_run_export(actor=actor, run=run)
        before = payout_files.export_file(actor=actor, run=run, method="bank").content
        run = payouts.payout_run_fail(actor=actor, run=run, error="File format rejected")
        assert run.status == "failed" and run.last_error == "File format rejected"
        run = payouts.payout_run_retry(actor=actor, run=run)
        after = payout_files.export_file(actor=actor, run=run, method="bank").content
        run = payouts.payout_run_mark_paid(actor=actor, run=run, reference="OK-1")
    assert _csv(before)[1] == _csv(after)[1]
    with unscoped():
        assert LedgerEntry.objects.filter(kind="payout").count() == 1


def test_one_open_run_per_currency_and_drafts_cancel(world: World) -> None:
    actor = _finance(world)
    run = _create(world)
    with pytest.raises(ValidationError) as refused:
        _create(world)
    assert "already open" in str(refused.value)
    _create(world, currency="EUR")  # another currency may run
    with scope(actor.access_scope()):
        payouts.payout_run_cancel(actor=actor, run=run)
        with pytest.raises(ValidationError):
            payouts.payout_run_export(actor=actor, run=PayoutRun.objects.get(pk=run.pk))
    _create(world)  # the cancelled one no longer blocks


def test_only_finance_and_admins_run_payouts(world: World) -> None:
    for user in (world.manager, world.analyst):
        actor = actor_for(user)
        with scope(actor.access_scope()), pytest.raises(PermissionDenied):
            payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})


def test_cutoff_in_the_future_or_bad_currency_is_refused(world: World) -> None:
    actor = _finance(world)
    with scope(actor.access_scope()), pytest.raises(ValidationError) as refused:
        payouts.payout_run_create(
            actor=actor, data={"currency": "US", "cutoff": timezone.now().date() + datetime.timedelta(days=2)}
        )
    assert set(refused.value.message_dict) == {"currency", "cutoff"}
