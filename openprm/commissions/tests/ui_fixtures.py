"""Helpers of the staff pages' and API tests: a plan through the service, and ledger entries written as
the accrual writes them (with an engine explanation), so the pages are tested on their own."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

from openprm.commissions.models import LedgerEntry, Plan
from openprm.commissions.services import plans as plan_services
from openprm.core.scoping import scope, unscoped
from openprm.testing import World

# far above any id a test's own deals or conversions get: an entry's made-up source is never a real one
_keys = itertools.count(10_000_000)

RULES = {
    "rules": [
        {
            "key": "resale",
            "label": "10% of won deals",
            "event": ["deal_won"],
            "reward": {"type": "percent", "rate": 10},
            "caps": {"per_event": 1000},
        },
        {
            "key": "big-deal",
            "event": ["deal_won"],
            "conditions": {"all": [{"field": "amount", "op": "gt", "value": 10000}]},
            "reward": {"type": "flat", "amount": 500},
            "bonus": True,
        },
    ]
}


def make_plan(world: World, name: str = "Resellers", publish: bool = True) -> Plan:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name=name, currency="USD")
        version = plan_services.version_create_draft(
            actor=world.system, plan=plan, rules=RULES, effective_from=datetime.date(2026, 1, 1)
        )
        if publish:
            plan_services.version_publish(actor=world.system, version=version)
    return plan


EXPLANATION = {
    "event": "deal_won",
    "amount": "12000.00",
    "selection": "highest",
    "rules": [
        {"rule": "resale", "ok": True},
        {"rule": "big-deal", "ok": False, "why": ["amount gt 20000: was 12000.00"]},
    ],
    "chosen": ["resale"],
    "lines": [
        {
            "rule": "resale",
            "kind": "accrual",
            "amount": "1000.00",
            "detail": "10% of 12000.00",
            "caps": [{"cap": "per_event", "limit": "1000", "trimmed": "200.00"}],
        }
    ],
}


def entry(
    world: World,
    partner: Any,
    amount: str,
    *,
    plan: Plan | None = None,
    state: str = "pending",
    kind: str = "accrual",
    when: datetime.datetime | None = None,
    **extra: Any,
) -> LedgerEntry:
    occurred = when or datetime.datetime(2026, 11, 10, 12, 0, tzinfo=datetime.UTC)
    with unscoped():
        version = plan.versions.order_by("-number").first() if plan else None
        return LedgerEntry.objects.create(
            workspace=world.workspace,
            partner=partner,
            kind=kind,
            state=state,
            source_kind=extra.pop("source_kind", "deal"),
            source_id=extra.pop("source_id", next(_keys)),
            source_event=extra.pop("source_event", "deal_won"),
            idempotency_key=f"ui-test:{next(_keys)}",
            plan=plan,
            plan_version=version,
            rule_key=extra.pop("rule_key", "resale"),
            occurred_at=occurred,
            period=occurred.date().replace(day=1),
            base_amount=extra.pop("base_amount", Decimal("11000.00")),
            base_currency=extra.pop("base_currency", "EUR"),
            fx_rate=extra.pop("fx_rate", Decimal("1.0909090909")),
            fx_date=extra.pop("fx_date", occurred.date()),
            amount=Decimal(amount),
            currency="USD",
            rate=extra.pop("rate", Decimal("10")),
            caps=extra.pop("caps", [{"cap": "per_event", "limit": "1000", "trimmed": "200.00"}]),
            explanation=extra.pop("explanation", EXPLANATION),
            approved_at=occurred if state in ("approved", "paid") else None,
            **extra,
        )
