"""Helpers of the payouts tests: ledger entries written as the engine writes them (approved after the
hold), a plan with a minimum payout, payout details through the service."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any
from unittest import mock

from django.utils import timezone

from openprm.commissions.models import LedgerEntry, Plan
from openprm.commissions.services.details import payout_details_save
from openprm.core.actors import Actor
from openprm.core.scoping import scope, unscoped
from openprm.testing import World

# far above any id a test's own deals or conversions get: an entry's made-up source is never a real one
_keys = itertools.count(20_000_000)
IBAN_A = "DE89370400440532013000"
IBAN_B = "GB82WEST12345698765432"


def make_plan(
    world: World, *, min_payout: str = "50.00", currency: str = "USD", name: str = "Resellers"
) -> Plan:
    with unscoped():
        return Plan.objects.create(
            workspace=world.workspace, name=name, currency=currency, min_payout=Decimal(min_payout)
        )


def entry(
    world: World,
    partner: Any,
    amount: str,
    *,
    plan: Plan | None = None,
    kind: str = "accrual",
    state: str = "approved",
    currency: str = "USD",
    days_ago: int = 40,
    **extra: Any,
) -> LedgerEntry:
    occurred = timezone.now() - datetime.timedelta(days=days_ago)
    booked = occurred + datetime.timedelta(days=extra.pop("booked_later", 0))
    with unscoped(), mock.patch("django.utils.timezone.now", return_value=booked):  # created_at: booked
        return LedgerEntry.objects.create(
            workspace=world.workspace,
            partner=partner,
            kind=kind,
            state=state,
            source_kind=extra.pop("source_kind", "conversion"),
            source_id=extra.pop("source_id", next(_keys)),
            source_event=extra.pop("source_event", "purchase"),
            idempotency_key=f"test:{next(_keys)}",
            plan=plan,
            rule_key=extra.pop("rule_key", "sales-10"),
            occurred_at=occurred,
            period=occurred.date().replace(day=1),
            base_amount=extra.pop("base_amount", Decimal(amount) * 10),
            base_currency=extra.pop("base_currency", currency),
            amount=Decimal(amount),
            currency=currency,
            rate=extra.pop("rate", Decimal("10")),
            approved_at=occurred if state in ("approved", "paid") else None,
            **extra,
        )


def bank_details(world: World, partner: Any, iban: str = IBAN_A, **extra: Any) -> None:
    actor = Actor.system(world.workspace.pk)
    data = {
        "method": "bank",
        "currency": "USD",
        "holder_name": f"{partner.name} GmbH",
        "iban": iban,
        "bic": "COBADEFFXXX",
        "tax_id": "DE123456789",
        **extra,
    }
    with scope(actor.access_scope()):
        payout_details_save(actor=actor, partner_id=partner.pk, data=data)


def email_details(world: World, partner: Any, method: str, email: str) -> None:
    actor = Actor.system(world.workspace.pk)
    with scope(actor.access_scope()):
        payout_details_save(
            actor=actor, partner_id=partner.pk, data={"method": method, "currency": "EUR", "email": email}
        )
