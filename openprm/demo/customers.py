"""Demo customer accounts: partner-managed accounts with renewals, upsells and cross-sells, downgrades and
churn, CSAT answers (and a direct-channel baseline) and 12 months of product usage.

Written through the customers bulk services (``accounts_upsert`` and the rest), as an import would, from
its own seeded ``random.Random`` (so the other demo steps draw the same dice with or without it).
Partners that resell, service or distribute manage the most accounts; applicants none. A partner's
health shows: at-risk and inactive partners lose more accounts and get lower scores.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from openprm.core.actors import Actor
from openprm.customers.services import (
    UpsertResult,
    accounts_upsert,
    changes_upsert,
    csat_upsert,
    usage_upsert,
)
from openprm.demo.plan import PartnerPlan

CHUNK = 5_000
ACCOUNTS_BY_TYPE = {"reseller": 7, "service": 6, "distributor": 8, "agency": 4, "technology": 3}
CHURN_PER_YEAR = {"active": 0.08, "onboarding": 0.05, "at_risk": 0.3, "inactive": 0.4, "churned": 0.6}
MOOD = {"active": 0.4, "onboarding": 0.2, "at_risk": -0.6, "inactive": -0.4, "churned": -0.8}
FIRST = (
    "North",
    "Blue",
    "Bright",
    "Silver",
    "Quantum",
    "Green",
    "Summit",
    "Harbor",
    "Cedar",
    "Nova",
    "Atlas",
)
SECOND = (
    "Logistics",
    "Health",
    "Foods",
    "Retail",
    "Analytics",
    "Energy",
    "Labs",
    "Media",
    "Finance",
    "Works",
)
SUFFIX = ("Ltd", "GmbH", "Inc", "SA", "BV", "Group", "AB", "Oy")
FEATURES = 24


def _partners(plans: Sequence[PartnerPlan]) -> list[tuple[str, str, str]]:
    """(external id, status, type key) of the demo's partners."""
    return [(plan.partner.external_id or "", plan.partner.status, plan.type_key) for plan in plans]


def _day(start: datetime.date, end: datetime.date, rng: random.Random) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange(max(1, (end - start).days)))


def _score(rng: random.Random, mood: float) -> int:
    return max(1, min(5, round(rng.gauss(3.9 + mood, 0.9))))


def _write(upsert: Callable[..., UpsertResult], actor: Actor, items: list[dict[str, Any]]) -> int:
    written = 0
    for start in range(0, len(items), CHUNK):
        result = upsert(actor=actor, items=items[start : start + CHUNK])
        if result.errors:
            raise RuntimeError(f"demo customers: {result.errors[:3]}")
        written += result.created
    return written


def load(*, actor: Actor, plans: Sequence[PartnerPlan], seed: int, now: datetime.datetime) -> dict[str, int]:
    """Generate and write the customer accounts of the demo's partners; returns the counts written."""
    rng = random.Random(seed * 7919 + 11)
    today = now.date()
    first_day = today.replace(year=today.year - 3)
    accounts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    usage: list[dict[str, Any]] = []
    months = [_month_back(today, n) for n in range(12, 0, -1)]
    number = 0
    for external_id, status, type_key in _partners(plans):
        if status == "applicant" or not external_id:
            continue
        base = ACCOUNTS_BY_TYPE.get(type_key, 1)
        mood = MOOD.get(status, 0.0)
        for _ in range(rng.randint(0, base * 2)):
            number += 1
            ref = f"CUS-{100000 + number}"
            started = _day(first_day, today, rng)
            years = (today - started).days / 365
            ended = None
            if (today - started).days > 31 and rng.random() < CHURN_PER_YEAR.get(status, 0.1) * years:
                ended = _day(started + datetime.timedelta(days=30), today + datetime.timedelta(days=1), rng)
            arr = Decimal(rng.randrange(60, 2400) * 50)
            name = f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(SUFFIX)}"
            accounts.append(
                {
                    "external_id": ref,
                    "partner_external_id": external_id,
                    "name": name,
                    "domain": name.split()[0].lower() + name.split()[1].lower() + f"{number}.example",
                    "started_on": started,
                    "ended_on": ended,
                    "arr": arr,
                    "mrr": (arr / 12).quantize(Decimal("0.01")),
                }
            )
            end = min(ended or today, today)
            anniversary = _add_years(started, 1)
            year = 1
            while anniversary <= end:
                changes.append(_change(f"{ref}-R{year}", ref, "renewal", anniversary, arr))
                if rng.random() < 0.3 + mood / 4:
                    on = _day(anniversary, _add_years(anniversary, 1), rng)
                    if on <= end:
                        kind = "upsell" if rng.random() < 0.65 else "cross_sell"
                        changes.append(_change(f"{ref}-U{year}", ref, kind, on, arr * Decimal("0.2")))
                elif rng.random() < 0.08:
                    changes.append(
                        _change(f"{ref}-D{year}", ref, "downgrade", anniversary, arr * Decimal("0.15"))
                    )
                anniversary = _add_years(anniversary, 1)
                year += 1
            if ended is not None:
                changes.append(_change(f"{ref}-C", ref, "churn", ended, arr))
            for n in range(rng.randint(0, 1 + round(years * 2))):
                answers.append(
                    {
                        "external_id": f"{ref}-S{n + 1}",
                        "account_external_id": ref,
                        "score": _score(rng, mood),
                        "answered_on": _day(started, end + datetime.timedelta(days=1), rng),
                    }
                )
            seats = rng.randrange(5, 400)
            adoption = min(0.95, max(0.1, rng.gauss(0.55 + mood / 3, 0.15)))
            for month in months:
                if month < started.replace(day=1) or (ended is not None and month > ended):
                    continue
                seats = max(1, round(seats * rng.uniform(0.95, 1.07)))
                usage.append(
                    {
                        "account_external_id": ref,
                        "month": month,
                        "active_users": round(seats * rng.uniform(0.5, 0.95)),
                        "features_used": max(
                            1, min(FEATURES, round(FEATURES * adoption * rng.uniform(0.85, 1.1)))
                        ),
                        "features_available": FEATURES,
                    }
                )
    direct = [
        {
            "external_id": f"DIRECT-{n + 1}",
            "channel": "direct",
            "score": _score(rng, 0.1),
            "answered_on": _day(today.replace(year=today.year - 2), today + datetime.timedelta(days=1), rng),
        }
        for n in range(max(40, len(accounts) // 3))
    ]
    return {
        "accounts": _write(accounts_upsert, actor, accounts),
        "account_changes": _write(changes_upsert, actor, changes),
        "csat": _write(csat_upsert, actor, answers + direct),
        "usage": _write(usage_upsert, actor, usage),
    }


def _change(external_id: str, account: str, kind: str, on: datetime.date, amount: Decimal) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "account_external_id": account,
        "kind": kind,
        "occurred_on": on,
        "amount": amount.quantize(Decimal("0.01")),
    }


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _month_back(today: datetime.date, months: int) -> datetime.date:
    index = today.year * 12 + today.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)
