"""The portal's "what raises your rate" shows the volume and count the engine continues from for the
partner's next event: refunds, amount corrections, closed evaluations (a rejected sale) and rules no longer
chosen are out of it, as the accrual counts them — and each partner sees only their own."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import convert, entries, publish
from openprm.commissions.tests.test_corrections_engine import edit

pytestmark = pytest.mark.django_db
D = Decimal

RULES = {
    "rules": [
        {
            "key": "vol",
            "label": "Volume",
            "event": "purchase",
            "conditions": {"all": [{"field": "amount", "op": "gte", "value": 1000}]},
            "reward": {
                "type": "tiered",
                "period": "month",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 10000, "rate": 20}],
            },
        },
        {"key": "small", "event": "purchase", "reward": {"type": "percent", "rate": 5}},
        {
            "key": "five",
            "event": "purchase",
            "reward": {
                "type": "threshold",
                "metric": "count",
                "threshold": 5,
                "period": "month",
                "amount": 100,
            },
        },
    ]
}


def _moment() -> datetime.datetime:
    """A moment of the current month (the portal's periods are today's)."""
    now = timezone.now()
    return max(now - datetime.timedelta(hours=1), now.replace(day=1, hour=0, minute=0, second=1))


def _page(client_for: Any, user: Any) -> str:
    return client_for(user).get(reverse("portal:commissions")).content.decode()


def test_the_next_tier_counts_what_the_engine_counts_after_refund_correction_closing_and_rule_out(
    world, client_for
):
    """Worked example, marginal 10% to 10,000 a month then 20%, for sales of 1,000 or more (else 5%),
    and a 100 bonus at 5 sales a month. A: 4,000, 3,000, 2,000 and 1,500 (volume 10,500, 4 sales) →
    1,000 of the first refunded (9,500) → the second corrected to 2,500 (9,000) → the third rejected
    (7,000, 3 sales) → the fourth corrected to 800: the volume rule is no longer chosen for it (5,500).
    The portal then says 4,500 to go and 2 more sales; A's next sale of 5,000 earns 4,500 at 10% and
    500 at 20% = 550, the fifth sale reaches the bonus. B's 9,000 is B's alone."""
    publish(world, RULES)
    ws, at = world.workspace.pk, _moment()
    first, second, third, fourth = (
        convert(world, amount, at=at, key=f"a{i}")
        for i, amount in enumerate(["4000", "3000", "2000", "1500"])
    )
    convert(world, "9000", at=at, partner=world.partner_b, key="b")
    accrual.accrue(workspace_id=ws)
    text = _page(client_for, world.a_rep)
    assert "Top rate reached this month (10,500.00 USD)." in text
    convert(world, "1000", kind="refund", refund_of=first, at=at, key="refund")
    edit(Conversion, second, amount=D("2500"))
    edit(Conversion, third, status=Conversion.Status.REJECTED)
    edit(Conversion, fourth, amount=D("800"))
    accrual.accrue(workspace_id=ws)

    text = _page(client_for, world.a_rep)
    assert "now 10%" in text
    assert "Earn 20% after 10,000.00 USD this month — 4,500.00 USD to go." in text
    assert "Bonus of 100.00 USD at 5 events this month — 2 more to go." in text
    assert "1,000.00 USD to go" not in text  # B's progress
    b_text = _page(client_for, world.b_admin)
    assert "Earn 20% after 10,000.00 USD this month — 1,000.00 USD to go." in b_text
    assert "Bonus of 100.00 USD at 5 events this month — 4 more to go." in b_text

    # the engine continues from the same figures
    fifth = convert(world, "5000", at=at, key="a5")
    accrual.accrue(workspace_id=ws)
    [paid] = entries(source_id=fifth.pk, rule_key="vol", kind="accrual")
    assert paid.amount == D("550.00")
    [bonus] = entries(source_id=fifth.pk, rule_key="five", kind="bonus")
    assert bonus.amount == D("0.00")  # the 4th sale that counts: still one to go
    text = _page(client_for, world.a_rep)
    assert "Top rate reached this month (10,500.00 USD)." in text
    assert "Bonus of 100.00 USD at 5 events this month — 1 more to go." in text


def test_a_fully_refunded_sale_leaves_the_volume_and_count(world, client_for):
    publish(world, RULES)
    ws, at = world.workspace.pk, _moment()
    sale = convert(world, "6000", at=at, key="a")
    convert(world, "2000", at=at, key="b")
    accrual.accrue(workspace_id=ws)
    assert "2,000.00 USD to go" in _page(client_for, world.a_rep)
    convert(world, "6000", kind="refund", refund_of=sale, at=at, key="refund")
    accrual.accrue(workspace_id=ws)
    text = _page(client_for, world.a_rep)
    assert "Earn 20% after 10,000.00 USD this month — 8,000.00 USD to go." in text
    assert "Bonus of 100.00 USD at 5 events this month — 4 more to go." in text
    assert "Earn 20%" in _page(client_for, world.b_admin)  # B: no volume of its own
    assert "10,000.00 USD to go" in _page(client_for, world.b_admin)


def _tiers(period: str) -> dict[str, Any]:
    reward = {
        "type": "tiered",
        "period": period,
        "mode": "marginal",
        "tiers": [{"from": 0, "rate": 10}, {"from": 10000, "rate": 20}],
    }
    return {"rules": [{"key": "vol", "event": "purchase", "reward": reward}]}


def test_a_sale_counts_once_when_a_rule_keys_versions_have_periods_that_start_together(world):
    """Version 1 pays monthly tiers, version 2 (from 15 January) quarterly ones under the same key: the
    quarter and January start together, and the 8,000 sale of 10 January counts once in the volume the
    2,000 sale of 20 January continues from (8,000 → 10,000: all at 10% = 200; counted twice it was 16,000
    and paid 20% = 400)."""
    plan = publish(world, _tiers("month"))
    publish(world, _tiers("quarter"), plan=plan, effective=datetime.date(2026, 1, 15))
    ws = world.workspace.pk
    first = convert(world, "8000", at=datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC), key="a")
    accrual.accrue(workspace_id=ws, conversion_ids=[first.pk])
    second = convert(world, "2000", at=datetime.datetime(2026, 1, 20, 12, tzinfo=datetime.UTC), key="b")
    accrual.accrue(workspace_id=ws, conversion_ids=[second.pk])
    [paid] = entries(source_id=second.pk, kind="accrual")
    assert paid.amount == D("200.00")
