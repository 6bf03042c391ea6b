"""Two finance users marking the same exported run paid at the same moment (a double click, two tabs):
the run's row lock lets one pay, the other finds it paid — one payout entry per partner, nobody paid
twice. Two exports of one draft at once reserve each entry once."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection, connections

from openprm.commissions.models import LedgerEntry, PayoutItem, PayoutRun
from openprm.commissions.services import payouts
from openprm.commissions.tests.payout_fixtures import bank_details, entry, make_plan
from openprm.core.scoping import scope, unscoped
from openprm.testing import World, actor_for

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite serialises writers: no race to lose"
    ),
]


def _together(world: World, step: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        actor = actor_for(world.finance)
        try:
            with scope(actor.access_scope()):
                with unscoped():
                    run = PayoutRun.objects.get()
                barrier.wait()
                step(actor, run)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_exports_and_two_mark_paids_at_once_pay_once(world: World) -> None:
    plan = make_plan(world, min_payout="0")
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban="GB82WEST12345698765432")
    for _ in range(3):
        entry(world, world.partner_a, "10.00", plan=plan)
        entry(world, world.partner_b, "20.00", plan=plan)
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": datetime.date.today()})
    assert _together(world, lambda a, run: payouts.payout_run_export(actor=a, run=run)) == []
    assert (
        _together(world, lambda a, run: payouts.payout_run_mark_paid(actor=a, run=run, reference="R")) == []
    )
    with unscoped():
        assert PayoutRun.objects.get().status == "paid"
        assert PayoutItem.objects.filter(status="paid").count() == 2
        assert sorted(LedgerEntry.objects.filter(kind="payout").values_list("amount", flat=True)) == [
            -60,
            -30,
        ]
        assert not LedgerEntry.objects.exclude(kind="payout").exclude(state="paid").exists()
