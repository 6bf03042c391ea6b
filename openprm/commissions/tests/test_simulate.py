"""What-if of a draft against what was accrued, and the payout forecast (nothing written)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual, plans, simulate
from openprm.commissions.tests.test_accrual import PERCENT_20, convert, publish
from openprm.core.scoping import scope, unscoped
from openprm.testing import World

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 3, 20)


def test_draft_what_if_per_partner_writes_nothing(world: World) -> None:
    plan = publish(world, PERCENT_20)
    convert(world, "1000.00", at=datetime.datetime(2026, 2, 3, tzinfo=datetime.UTC))
    convert(world, "500.00", partner=world.partner_b, at=datetime.datetime(2026, 3, 3, tzinfo=datetime.UTC))
    accrual.accrue(workspace_id=world.workspace.pk)
    with unscoped():
        before = LedgerEntry.objects.count()
    with scope(world.system.access_scope()):
        draft = plans.version_create_draft(
            actor=world.system,
            plan=plan,
            rules={
                "rules": [{"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": 25}}]
            },
            effective_from=datetime.date(2026, 4, 1),
        )
        result = simulate.simulate_version(actor=world.system, version=draft, months=3, today=TODAY)
        forecast = simulate.payout_forecast(actor=world.system, periods=3, today=TODAY)
    rows = {p.partner_name: (p.would_pay, p.actual, p.events) for p in result.partners}
    assert rows == {
        "Acme Resellers": (Decimal("250.00"), Decimal("200.00"), 1),
        "Globex Referrals": (Decimal("125.00"), Decimal("100.00"), 1),
    }
    assert (result.would_pay, result.actual) == (Decimal("375.00"), Decimal("300.00"))
    with unscoped():
        assert LedgerEntry.objects.count() == before
    # Both pending; their 30-day holds end in March and April.
    assert [(r.period.month, r.pending) for r in forecast] == [(3, Decimal("200.00")), (4, Decimal("100.00"))]
