"""Demo commissions: one published plan per program with realistic rules (through the plans service),
a second version of the resale plan from three months ago (a raised rate: what was earned before keeps
the old one), then six months of accruals and the holds that ended released. Fast: the accrual is the
batch path over the demo's deals and conversions."""

from __future__ import annotations

import datetime
from typing import Any

from openprm.commissions.services import accrual, ledger, plans
from openprm.core.actors import Actor
from openprm.partners.models import Program

RESALE_V1: dict[str, Any] = {
    "rules": [
        {
            "key": "resale",
            "label": "10% of won deals up to 50,000 a quarter, then 15%",
            "event": "deal_won",
            "reward": {
                "type": "tiered",
                "period": "quarter",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
            },
            "caps": {"per_event": 25000},
        },
        {
            "key": "registration-bounty",
            "label": "500 per approved registration over 10,000",
            "event": "deal_approved",
            "reward": {"type": "flat", "amount": 500},
            "conditions": {"all": [{"field": "amount", "op": "gt", "value": 10000}]},
        },
        {
            "key": "quarter-bonus",
            "label": "1,000 bonus at 150,000 won in a quarter",
            "event": "deal_won",
            "reward": {"type": "threshold", "threshold": 150000, "period": "quarter", "amount": 1000},
        },
    ],
    "overrides": {"levels": [5]},
}
RESALE_V2: dict[str, Any] = {
    **RESALE_V1,
    "rules": [
        {
            **RESALE_V1["rules"][0],
            "label": "12% of won deals up to 50,000 a quarter, then 15%",
            "reward": {
                **RESALE_V1["rules"][0]["reward"],
                "tiers": [{"from": 0, "rate": 12}, {"from": 50000, "rate": 15}],
            },
        },
        *RESALE_V1["rules"][1:],
    ],
}
REFERRAL: dict[str, Any] = {
    "rules": [
        {
            "key": "referral",
            "label": "20% of purchases and of the customer's payments for 12 months",
            "event": ["purchase", "recurring_payment"],
            "reward": {"type": "percent", "rate": 20},
            "recurring": {"months": 12},
            "caps": {"per_event": 2000},
        },
        {
            "key": "signup",
            "label": "5 per signup",
            "event": "signup",
            "reward": {"type": "flat", "amount": 5},
        },
    ]
}


def _months_back(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


def load(*, actor: Actor, now: datetime.datetime) -> dict[str, int]:
    today = now.date()
    made = 0
    for program in Program.objects.order_by("id"):
        referral = "referral" in program.name.lower()
        plan = plans.plan_create(
            actor=actor,
            name=f"{program.name} commissions",
            currency="USD",
            program=program,
            hold_days=30,
            selection="stack",
            description="Demo plan: the rules as partners read them in the portal.",
        )
        plans.assignment_create(
            actor=actor, plan=plan, level="program", target_id=program.pk, starts_on=_months_back(today, 24)
        )
        first = plans.version_create_draft(
            actor=actor,
            plan=plan,
            rules=REFERRAL if referral else RESALE_V1,
            effective_from=_months_back(today, 24),
            note="Launch terms",
        )
        plans.version_publish(actor=actor, version=first)
        if not referral:
            second = plans.version_create_draft(
                actor=actor,
                plan=plan,
                rules=RESALE_V2,
                effective_from=_months_back(today, 3),
                note="Rate raised",
            )
            plans.version_publish(actor=actor, version=second)
        made += 1
    start = datetime.datetime.combine(_months_back(today, 6), datetime.time(), tzinfo=datetime.UTC)
    result = accrual.accrue_range(workspace_id=actor.workspace_id, start=start, end=now)
    released = ledger.holds_release(workspace_id=actor.workspace_id, today=today)
    return {"plans": made, "ledger_rows": result.rows, "approved": released}
