"""A failed payment abandoned: nobody is paid, its amount is back in the partner's approved balance and
the next run pays it once (the entries it held are never paid again); a reason is required, only a
failed payment of a failed run qualifies, only ``payout.manage`` does it, and it is audited. Through the
service, the run page and the API."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun, Statement
from openprm.commissions.selectors import balances
from openprm.commissions.services import payouts
from openprm.commissions.tests.payout_fixtures import IBAN_B, bank_details, entry, make_plan
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.testing import World, actor_for

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today


def _failed_run(world: World, *, both_fail: bool = False) -> tuple[Any, PayoutRun, list[LedgerEntry]]:
    """A's 70.00 (two entries) failed at the provider; B's 50.00 paid (unless ``both_fail``)."""
    plan = make_plan(world, min_payout="0")
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban=IBAN_B)
    held = [
        entry(world, world.partner_a, "40.00", plan=plan),
        entry(world, world.partner_a, "30.00", plan=plan),
    ]
    entry(world, world.partner_b, "50.00", plan=plan)
    actor = actor_for(world.finance)
    failed = [str(world.partner_a.public_id)] + ([str(world.partner_b.public_id)] if both_fail else [])
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
        run = payouts.payout_run_export(actor=actor, run=run)
        run = payouts.payout_run_mark_paid(
            actor=actor, run=run, reference="B-1", failed=failed, error="Closed"
        )
    assert run.status == PayoutRun.Status.FAILED
    return actor, run, held


def _item(run: PayoutRun, partner: Any) -> PayoutItem:
    with unscoped():
        return PayoutItem.objects.get(run=run, partner=partner)


def _approved(actor: Any, partner: Any) -> dict[str, Decimal]:
    with scope(actor.access_scope()):
        return balances.balances(actor=actor, partner_id=partner.pk)[(partner.pk, "USD")]


def test_an_abandoned_payment_is_paid_once_by_the_next_run(world: World) -> None:
    actor, run, held = _failed_run(world)
    item = _item(run, world.partner_a)
    assert _approved(actor, world.partner_a)["approved"] == Decimal("70.00")
    with scope(actor.access_scope()):
        run = payouts.payout_item_abandon(
            actor=actor, run=run, item_id=item.public_id, reason="Account closed"
        )
    item.refresh_from_db()
    assert item.status == "abandoned" and item.abandoned_reason == "Account closed"
    assert run.status == PayoutRun.Status.PAID  # B was paid; nothing is left failed
    with unscoped():
        assert Statement.objects.filter(partner=world.partner_b).count() == 1
        assert not Statement.objects.filter(partner=world.partner_a).exists()
        rows = list(LedgerEntry.objects.filter(source_kind="payout", source_id=item.pk).order_by("amount"))
        for one in held:
            one.refresh_from_db()
            assert one.state == "approved" and one.paid_item_id == item.pk  # untouched, still its item's
    assert [(r.kind, r.state, r.amount, r.paid_item_id) for r in rows] == [
        ("adjustment", "approved", Decimal("-70.00"), item.pk),
        ("adjustment", "approved", Decimal("70.00"), None),
    ]
    assert _approved(actor, world.partner_a)["approved"] == Decimal("70.00")  # back in the balance, once

    # B's entries were paid; A bought new details: the next run pays A's 70.00 once
    bank_details(world, world.partner_a, iban=IBAN_B)
    with scope(actor.access_scope()):
        again = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
        again = payouts.payout_run_export(actor=actor, run=again)
        again = payouts.payout_run_mark_paid(actor=actor, run=again, reference="B-2")
    new_item = _item(again, world.partner_a)
    assert new_item.status == "paid" and new_item.amount == Decimal("70.00")
    with unscoped():
        assert not PayoutItem.objects.filter(run=again, partner=world.partner_b).exists()
        reserved = set(LedgerEntry.objects.filter(paid_item=new_item).values_list("kind", "amount"))
    assert reserved == {("adjustment", Decimal("70.00")), ("payout", Decimal("-70.00"))}
    figures = _approved(actor, world.partner_a)
    assert figures["approved"] == Decimal("0.00") and figures["paid"] == Decimal("70.00")
    with scope(actor.access_scope()):  # nothing left to pay A
        third = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
    with unscoped():
        assert not third.items.filter(partner=world.partner_a).exists()


def test_abandoning_every_failed_payment_of_a_run_that_paid_nothing_cancels_it(world: World) -> None:
    actor, run, _held = _failed_run(world, both_fail=True)
    with scope(actor.access_scope()):
        run = payouts.payout_item_abandon(
            actor=actor, run=run, item_id=_item(run, world.partner_a).public_id, reason="Closed"
        )
        assert run.status == PayoutRun.Status.FAILED  # B's payment still failed
        run = payouts.payout_item_abandon(
            actor=actor, run=run, item_id=_item(run, world.partner_b).public_id, reason="Closed too"
        )
    assert run.status == PayoutRun.Status.CANCELLED and run.paid_at is None
    with unscoped():
        assert not Statement.objects.exists()


def test_what_cannot_be_abandoned_and_who_may(world: World) -> None:
    actor, run, _held = _failed_run(world)
    item_a, item_b = _item(run, world.partner_a), _item(run, world.partner_b)
    with scope(actor.access_scope()):
        with pytest.raises(ValidationError) as missing_reason:
            payouts.payout_item_abandon(actor=actor, run=run, item_id=item_a.public_id, reason="  ")
        assert "reason" in missing_reason.value.message_dict
        with pytest.raises(ValidationError) as paid:
            payouts.payout_item_abandon(actor=actor, run=run, item_id=item_b.public_id, reason="x")
        assert "only a failed payment" in str(paid.value).lower()
        with pytest.raises(ValidationError):
            payouts.payout_item_abandon(actor=actor, run=run, item_id="not-an-id", reason="x")
    for user in (world.manager, world.analyst):
        other = actor_for(user)
        with scope(other.access_scope()), pytest.raises(PermissionDenied):
            payouts.payout_item_abandon(actor=other, run=run, item_id=item_a.public_id, reason="x")
    with scope(actor.access_scope()):
        run = payouts.payout_item_abandon(actor=actor, run=run, item_id=item_a.public_id, reason="Closed")
        with pytest.raises(ValidationError):  # the run is closed now: never twice
            payouts.payout_item_abandon(actor=actor, run=run, item_id=item_a.public_id, reason="Closed")
    with unscoped():
        assert LedgerEntry.objects.filter(source_kind="payout", source_id=item_a.pk).count() == 2
        audited = AuditEntry.objects.get(object_type="commissions.payoutitem", object_id=item_a.public_id)
    assert audited.actor_id == world.finance.pk
    assert audited.changes["status"] == {"before": "failed", "after": "abandoned"}
    assert audited.changes["carried_forward"]["after"] == "70.00"
    assert "details_secret" not in json.dumps(audited.changes)


def test_abandon_on_the_run_page_and_over_the_api(world: World, client_for: Any, api_for: Any) -> None:
    _actor, run, _held = _failed_run(world)
    item = _item(run, world.partner_a)
    url = f"/commissions/payouts/{run.public_id}/"
    finance = client_for(world.finance)
    page = finance.get(url).content.decode()
    assert f'id="abandon-{item.public_id}"' in page and "Abandon payment" in page
    analyst = client_for(world.analyst)
    assert f'id="abandon-{item.public_id}"' not in analyst.get(url).content.decode()
    step = {"step": "abandon", "item": str(item.public_id)}
    assert analyst.post(url, step | {"reason": "x"}).status_code == 403
    refused = finance.post(url, step, follow=True).content.decode()
    assert "Say why the payment is abandoned." in refused
    done = finance.post(url, step | {"reason": "Account closed"}, follow=True).content.decode()
    assert "Payment abandoned" in done and "abandoned, carried forward" in done and "Account closed" in done
    item.refresh_from_db()
    assert item.status == "abandoned"

    # over the API (a second failed run)
    _actor, run2, _held2 = _failed_run_again(world)
    item2 = _item(run2, world.partner_a)
    path = f"/api/v1/commissions/payouts/{run2.public_id}/items/{item2.public_id}/abandon"
    body = json.dumps({"reason": "Bounced twice"})
    assert api_for(world.a_admin).post(path, body, content_type="application/json").status_code == 404
    bad = api_for(world.finance).post(path, json.dumps({"reason": ""}), content_type="application/json")
    assert bad.status_code == 422
    answer = api_for(world.finance).post(path, body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    found = {i["id"]: i for i in answer.json()["items"]}
    assert found[str(item2.public_id)]["status"] == "abandoned" and answer.json()["status"] == "cancelled"
    again = api_for(world.finance).post(path, body, content_type="application/json")
    assert again.status_code == 422 and again.json()["code"]


def _failed_run_again(world: World) -> tuple[Any, PayoutRun, list[LedgerEntry]]:
    """After the first run closed: A's carried-forward 70.00 fails again, alone in its run."""
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
        run = payouts.payout_run_export(actor=actor, run=run)
        run = payouts.payout_run_mark_paid(
            actor=actor, run=run, reference="B-2", failed=[str(world.partner_a.public_id)], error="Bounced"
        )
    return actor, run, []


def test_the_partner_reads_an_abandoned_payments_entries_as_carried_forward(world: World) -> None:
    from openprm.commissions.selectors import portal

    actor, run, held = _failed_run(world)
    with scope(actor.access_scope()):
        payouts.payout_item_abandon(
            actor=actor, run=run, item_id=_item(run, world.partner_a).public_id, reason="Account closed"
        )
    partner_actor = actor_for(world.a_admin)
    with scope(partner_actor.access_scope()):
        rows = list(portal.entry_list(actor=partner_actor, partner_id=world.partner_a.pk))
        states = {row.pk: portal.explain(row, today=TODAY()).state_text for row in rows}
    assert {states[e.pk] for e in held} == {"not paid, carried forward to the next payout"}
    # the amount carried forward is the one still to be paid
    assert "approved, to be paid" in states.values()
