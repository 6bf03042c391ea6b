"""The engine helper's selectors: a partner user sees only their own entries, balances and plan; the
explanation reads as sentences."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from openprm.commissions.selectors import balances, ledger, plans
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import PERCENT_20, T0, convert, publish
from openprm.core.scoping import scope
from openprm.testing import World, actor_for

pytestmark = pytest.mark.django_db


def test_two_partners_are_isolated(world: World) -> None:
    publish(world, PERCENT_20)
    convert(world, "100.00")
    convert(world, "300.00", partner=world.partner_b)
    accrual.accrue(workspace_id=world.workspace.pk)
    a = actor_for(world.a_admin)
    with scope(a.access_scope()):
        mine = list(ledger.entry_list(actor=a))
        assert [e.partner_id for e in mine] == [world.partner_a.pk]
        assert list(balances.balances(actor=a)) == [(world.partner_a.pk, "USD")]
        assert list(ledger.entry_list(actor=a, partner_id=world.partner_b.pk)) == []
        assert plans.plan_for_partner(actor=a, partner_id=world.partner_b.pk, day=T0.date()) is None
        found = plans.plan_for_partner(actor=a, partner_id=world.partner_a.pk, day=T0.date())
        assert found is not None and found[1].number == 1
    staff = actor_for(world.finance)
    with scope(staff.access_scope()):
        totals = balances.balances(actor=staff)
        assert totals[(world.partner_b.pk, "USD")]["pending"] == Decimal("60.00")
        [entry] = ledger.entry_list(actor=staff, partner_id=world.partner_a.pk)
        assert ledger.explanation_lines(entry) == [
            "Rule sales: conditions met.",
            "sales: 20% of 100.00 = 20.00 USD.",
        ]
        assert (
            plans.plan_for_partner(actor=staff, partner_id=world.partner_b.pk, day=datetime.date(2024, 1, 1))
            is None
        )
