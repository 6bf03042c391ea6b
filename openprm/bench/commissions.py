"""`prm bench commissions`: the accrual path against a raw insert of as many ledger rows, and a what-if
of a plan over 12 months of the scale dataset.

1. In a scratch workspace (inside one transaction rolled back at the end: nothing is kept), N synthetic
   conversions (default 1,000,000; 500 partners, 12 months, purchases and recurring payments, a few
   refunds) are written by COPY (not timed). Then, timed: the raw insert of N ledger rows with the
   same columns (COPY on PostgreSQL, executemany on SQLite: the floor), and the accrual of every
   conversion through the engine (``accrual.accrue_range``: sources read, plan resolved, rules
   evaluated, explanation built, rows written). ``ratio`` = raw seconds / accrual seconds (target ≥ 0.3).
2. On the scale dataset in the default workspace when it is there (``prm demo --scale m``), a draft plan
   (tiered on won deals, percent on purchases) is simulated over the last 12 months
   (``simulate.simulate_version``), in a rolled-back transaction: seconds, events, partners.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual, plans, simulate
from openprm.commissions.services.rows import COLUMNS
from openprm.core.actors import Actor
from openprm.core.bulk import FastTable, analyze_tables, uuid4_hex
from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Partner, PartnerType, Program
from openprm.partners.services import workspace_bootstrap

TARGET_RATIO = 0.3
RULES = {
    "rules": [
        {
            "key": "sales",
            "event": ["purchase", "recurring_payment"],
            "reward": {"type": "percent", "rate": 20},
            "recurring": {"months": 12},
        },
        {
            "key": "large",
            "event": "purchase",
            "reward": {"type": "percent", "rate": 25},
            "conditions": {"all": [{"field": "amount", "op": "gte", "value": 900}]},
        },
    ]
}
WHATIF_RULES = {
    "rules": [
        {
            "key": "won",
            "event": "deal_won",
            "reward": {
                "type": "tiered",
                "period": "quarter",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 8}, {"from": 100000, "rate": 12}],
            },
        },
        {
            "key": "bounty",
            "event": "deal_registered",
            "reward": {"type": "flat", "amount": 50},
            "conditions": {"all": [{"field": "amount", "op": "gte", "value": 10000}]},
        },
        {
            "key": "sales",
            "event": ["purchase", "recurring_payment"],
            "reward": {"type": "percent", "rate": 20},
        },
    ]
}


class _Rollback(Exception):
    pass


def _scratch(partners: int) -> tuple[Workspace, Program, list[int], Actor]:
    token = uuid.uuid4().hex[:10]
    workspace = Workspace.objects.create(name=f"Bench commissions {token}", slug=f"bench-comm-{token}")
    workspace_bootstrap(workspace=workspace)
    kind = PartnerType.objects.get(workspace=workspace, key="reseller")
    Partner.objects.bulk_create(
        Partner(workspace=workspace, external_id=f"CP-{i:05d}", name=f"Bench Partner {i}", type=kind)
        for i in range(partners)
    )
    ids = list(Partner.objects.filter(workspace=workspace).order_by("id").values_list("id", flat=True))
    program = Program.objects.filter(workspace=workspace).order_by("id").first()
    assert program is not None
    return workspace, program, ids, Actor.system(workspace.pk, label="bench")


def _conversions(
    workspace: Workspace, program: Program, partners: list[int], count: int, start: datetime.datetime
) -> None:
    rng = random.Random(13)
    table = FastTable(
        Conversion,
        [
            "public_id",
            "workspace_id",
            "partner_id",
            "program_id",
            "kind",
            "occurred_at",
            "amount",
            "currency",
            "customer_external_id",
            "idempotency_key",
            "status",
            "attributed_by",
            "created_at",
            "updated_at",
        ],
    )
    now = timezone.now()
    seconds = 365 * 86400
    rows = []
    for i in range(count):
        kind = "purchase" if i % 3 else "recurring_payment"
        at = start + datetime.timedelta(seconds=seconds * i // count)
        amount = Decimal(rng.randrange(1000, 120000)) / 100
        rows.append(
            [
                uuid4_hex(),
                workspace.pk,
                partners[i % len(partners)],
                program.pk,
                kind,
                at,
                amount,
                "USD",
                f"cust-{i % (count // 4 + 1)}",
                f"bench-{i}",
                "accepted",
                "link",
                now,
                now,
            ]
        )
        if len(rows) == 50_000:
            table.insert(rows)
            rows = []
    table.insert(rows)


def _raw_rows(
    workspace_id: int, partners: list[int], count: int, start: datetime.datetime
) -> list[list[Any]]:
    now = timezone.now()
    explanation = {"event": "purchase", "rules": [{"rule": "sales", "ok": True}], "chosen": ["sales"]}
    out = []
    for i in range(count):
        at = start + datetime.timedelta(seconds=365 * 86400 * i // count)
        values = {
            "public_id": uuid4_hex(),
            "workspace_id": workspace_id,
            "partner_id": partners[i % len(partners)],
            "kind": "accrual",
            "state": "pending",
            "source_kind": "conversion",
            "source_id": i,
            "source_event": "purchase",
            "idempotency_key": f"raw{i}",
            "plan_id": None,
            "plan_version_id": None,
            "rule_key": "sales",
            "occurred_at": at,
            "period": at.date().replace(day=1),
            "base_amount": Decimal("100.00"),
            "base_currency": "USD",
            "fx_rate": Decimal(1),
            "fx_date": at.date(),
            "amount": Decimal("20.00"),
            "currency": "USD",
            "rate": Decimal(20),
            "caps": [],
            "explanation": explanation,
            "hold_until": at.date(),
            "reverses_id": None,
            "derived_from_id": None,
            "note": "",
            "created_at": now,
            "approved_at": None,
        }
        out.append([None, *(values[c] for c in COLUMNS)])
    return out


def bench_accrual(*, conversions: int = 1_000_000, partners: int = 500) -> dict[str, Any]:
    found: dict[str, Any] = {}
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(days=366)
    try:
        with unscoped(), transaction.atomic():
            workspace, program, ids, actor = _scratch(partners)
            raw_ws, _, raw_ids, _ = _scratch(partners)
            with scope(actor.access_scope()):
                plan = plans.plan_create(actor=actor, name="Bench", currency="USD")
                plans.assignment_create(
                    actor=actor,
                    plan=plan,
                    level="program",
                    target_id=program.pk,
                    starts_on=datetime.date(2024, 1, 1),
                )
                draft = plans.version_create_draft(
                    actor=actor, plan=plan, rules=RULES, effective_from=datetime.date(2024, 1, 1)
                )
                plans.version_publish(actor=actor, version=draft)
            started = time.perf_counter()
            _conversions(workspace, program, ids, conversions, start)
            analyze_tables(Conversion, rows=conversions, in_transaction=True)
            generate_s = time.perf_counter() - started
            rows = _raw_rows(raw_ws.pk, raw_ids, conversions, start)
            started = time.perf_counter()
            for i in range(0, len(rows), 50_000):
                table = FastTable(LedgerEntry, COLUMNS, with_ids=True)
                part = rows[i : i + 50_000]
                for row, pk in zip(part, table.ids(len(part)), strict=True):
                    row[0] = pk
                table.insert(part)
            analyze_tables(LedgerEntry, rows=conversions, in_transaction=True)  # as the accrual does
            raw_s = time.perf_counter() - started
            del rows
            started = time.perf_counter()
            result = accrual.accrue_range(workspace_id=workspace.pk, start=start, end=end)
            accrue_s = time.perf_counter() - started
            with scope(actor.access_scope()):
                written = LedgerEntry.objects.filter(workspace=workspace).count()
            found = {
                "database": connection.vendor,
                "conversions": conversions,
                "partners": partners,
                "generate_s": round(generate_s, 2),
                "raw_insert_s": round(raw_s, 2),
                "accrue_s": round(accrue_s, 2),
                "ratio": round(raw_s / accrue_s, 3) if accrue_s else None,
                "accrued_per_s": round(conversions / accrue_s) if accrue_s else None,
                "ledger_rows": written,
                "evaluated": result.evaluated,
                "amount": f"{result.amount:.2f}",
                "target_ratio": TARGET_RATIO,
            }
            found["within_target"] = bool(found["ratio"] and found["ratio"] >= TARGET_RATIO)
            raise _Rollback
    except _Rollback:
        pass
    return found


def bench_whatif(*, months: int = 12) -> dict[str, Any]:
    """A draft plan simulated over the last ``months`` on the default workspace's data (the scale dataset)."""
    from openprm.core.models import Workspace as W

    workspace = W.objects.get(slug="default")
    actor = Actor.system(workspace.pk, label="bench")
    found: dict[str, Any] = {}
    try:
        with scope(actor.access_scope()), transaction.atomic():
            program = (
                Program.objects.filter(is_default=True).first() or Program.objects.order_by("id").first()
            )
            if program is None:
                return {"skipped": "no program in the default workspace"}
            partners = Partner.objects.count()
            plan = plans.plan_create(
                actor=actor, name=f"Bench what-if {uuid.uuid4().hex[:6]}", currency="USD"
            )
            plans.assignment_create(
                actor=actor,
                plan=plan,
                level="program",
                target_id=program.pk,
                starts_on=datetime.date(2000, 1, 1),
            )
            draft = plans.version_create_draft(
                actor=actor, plan=plan, rules=WHATIF_RULES, effective_from=timezone.localdate()
            )
            started = time.perf_counter()
            sim = simulate.simulate_version(actor=actor, version=draft, months=months)
            seconds = time.perf_counter() - started
            found = {
                "partners_in_workspace": partners,
                "months": months,
                "whatif_s": round(seconds, 2),
                "partners_paid": sum(1 for p in sim.partners if p.would_pay),
                "events": sum(p.events for p in sim.partners),
                "would_pay": f"{sim.would_pay:.2f}",
                "missing_fx": sim.missing_fx,
            }
            raise _Rollback
    except _Rollback:
        pass
    return found


def bench_commissions(*, conversions: int = 1_000_000, whatif: bool = True) -> dict[str, Any]:
    out = {"accrual": bench_accrual(conversions=conversions)}
    if whatif:
        out["whatif"] = bench_whatif()
    return out
