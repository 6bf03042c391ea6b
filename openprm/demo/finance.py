"""Demo financial inputs: 24 months of partnership costs, invoices to reselling partners with their
payments, distributors' monthly sell-through reports, and the company's total revenue.

Written through the finance list service (``records_upsert``), as an import would, from its own seeded
``random.Random`` (so the other demo steps draw the same dice with or without it). A partner's health
shows: at-risk and inactive partners pay later, dispute more invoices and price below list more often.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openprm.core.actors import Actor
from openprm.demo.plan import PartnerPlan
from openprm.finance.services import COMPANY_REVENUE, COSTS, INVOICES, SELLTHROUGH, Kind, records_upsert

MONTHS = 24
CHUNK = 5_000
FEE_BY_TYPE = {"reseller": 400, "distributor": 900, "service": 300, "technology": 600, "agency": 250}
INVOICED_TYPES = frozenset({"reseller", "distributor", "service"})
LATE = {"active": 0.1, "onboarding": 0.15, "at_risk": 0.45, "inactive": 0.35, "churned": 0.5}
SKUS = (("NX-100", Decimal("49.00")), ("NX-200", Decimal("129.00")), ("NX-PRO", Decimal("399.00")))
REGIONS = {"EMEA": ("DACH", "UKI", "Nordics"), "NA": ("US East", "US West"), "APAC": ("ANZ", "SEA")}


def _month(today: datetime.date, back: int) -> datetime.date:
    index = today.year * 12 + today.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def _write(kind: Kind, actor: Actor, items: list[dict[str, Any]]) -> int:
    written = 0
    for start in range(0, len(items), CHUNK):
        result = records_upsert(actor=actor, kind=kind, items=items[start : start + CHUNK])
        if result.errors:
            raise RuntimeError(f"demo finance ({kind.name}): {result.errors[:3]}")
        written += result.created
    return written


def load(*, actor: Actor, plans: Sequence[PartnerPlan], seed: int, now: datetime.datetime) -> dict[str, int]:
    """Generate and write the demo's financial inputs; returns the counts written per kind."""
    rng = random.Random(seed * 104729 + 7)
    today = now.date()
    months = [_month(today, back) for back in range(MONTHS - 1, -1, -1)]
    costs: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for plan in plans:
        partner = plan.partner
        status = str(partner.status)
        if status == "applicant" or not partner.external_id:
            continue
        ref = partner.external_id
        fee = FEE_BY_TYPE.get(plan.type_key, 100)
        late = LATE.get(status, 0.2)
        region = str(partner.region or "EMEA")
        for number, month in enumerate(months):
            if rng.random() < 0.9:
                amount = Decimal(fee) * Decimal(rng.uniform(0.8, 1.2))
                costs.append(_cost(ref, month, "fees", amount))
            if month.month in (1, 4, 7, 10) and rng.random() < 0.7:
                costs.append(_cost(ref, month, "enablement", Decimal(rng.randrange(500, 4000))))
            if plan.type_key in ("reseller", "distributor") and rng.random() < 0.25:
                costs.append(_cost(ref, month, "mdf", Decimal(rng.randrange(20, 150) * 100)))
            if rng.random() < 0.05:
                costs.append(_cost(ref, month, "other", Decimal(rng.randrange(100, 2000))))
            if plan.type_key in INVOICED_TYPES and number >= MONTHS - 18 and rng.random() < 0.8:
                invoices.append(_invoice(rng, ref, month, today, late))
            if plan.type_key == "distributor" and number >= MONTHS - 12:
                lines += _sellthrough(rng, ref, month, region, late)
    revenue = [{"period": month, "amount": Decimal(rng.randrange(1_800, 2_600) * 1000)} for month in months]
    return {
        "costs": _write(COSTS, actor, costs),
        "invoices": _write(INVOICES, actor, invoices),
        "sellthrough": _write(SELLTHROUGH, actor, lines),
        "company_revenue": _write(COMPANY_REVENUE, actor, revenue),
    }


def _cost(ref: str, month: datetime.date, category: str, amount: Decimal) -> dict[str, Any]:
    return {"partner": ref, "period": month, "category": category, "amount": amount.quantize(Decimal("0.01"))}


def _invoice(
    rng: random.Random, ref: str, month: datetime.date, today: datetime.date, late: float
) -> dict[str, Any]:
    issued = month + datetime.timedelta(days=rng.randrange(0, 5))
    due = issued + datetime.timedelta(days=30)
    paid: datetime.date | None = due - datetime.timedelta(days=rng.randrange(0, 20))
    if rng.random() < late:
        paid = due + datetime.timedelta(days=rng.randrange(1, 60))
    if paid is not None and (paid > today or rng.random() < late / 8):
        paid = None  # not paid yet (or overdue)
    return {
        "partner": ref,
        "number": f"INV-{ref}-{month:%Y%m}",
        "issued_on": issued,
        "due_on": due,
        "amount": Decimal(rng.randrange(20, 400) * 50),
        "paid_on": paid,
        "disputed": rng.random() < late / 5,
        "corrected": rng.random() < 0.04,
    }


def _sellthrough(
    rng: random.Random, ref: str, month: datetime.date, region: str, late: float
) -> list[dict[str, Any]]:
    rows = []
    for sku, list_price in SKUS:
        for area in REGIONS.get(region, REGIONS["EMEA"])[:2]:
            discount = Decimal(rng.choice(["0", "0.02", "0.04"]))
            if rng.random() < late / 2:
                discount = Decimal(rng.choice(["0.08", "0.12"]))  # below the 5% tolerance
            rows.append(
                {
                    "partner": ref,
                    "period": month,
                    "sku": sku,
                    "region": area,
                    "units_sold": rng.randrange(5, 300),
                    "units_on_hand": rng.randrange(10, 500),
                    "unit_price": (list_price * (1 - discount)).quantize(Decimal("0.01")),
                    "list_price": list_price,
                }
            )
    return rows
