"""Deterministic replay: re-run the engine over the sources of a window, from the ledger's state at the
window's start, without writing, and compare every amount with the ledger's to the cent.

The same events (and the same partner facts, rates and plan versions) give byte-identical amounts; a
difference means an input changed since the accrual (a tier, an FX rate imported late, a deal edited) or
that events arrived late, out of order (the ledger continued the period where it stood: the adjustments
are in the ledger, the replay orders by occurrence). Events re-evaluated when the partner's lifetime
amount moved under them compare with their rows as the re-evaluation left them (each event reads its
figure as it is now)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import sources as src
from openprm.commissions.services.accrual import (
    _POS,
    AccrualResult,
    Fx,
    evaluate_sources,
    workspace_scope,
)
from openprm.commissions.services.context import load_context
from openprm.commissions.services.lifetime import EXPLAINED
from openprm.commissions.services.running import load_state

KIND = LedgerEntry.Kind


@dataclass(slots=True)
class ReplayResult:
    compared: int = 0
    identical: int = 0
    differences: list[dict[str, str]] = field(default_factory=list)
    total_replayed: Decimal = Decimal(0)
    total_ledger: Decimal = Decimal(0)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "identical": self.identical,
            "differences": self.differences[:50],
            "total_replayed": f"{self.total_replayed:.2f}",
            "total_ledger": f"{self.total_ledger:.2f}",
        }


def replay(*, workspace_id: int, start: datetime.datetime, end: datetime.datetime) -> ReplayResult:
    """Replay the sales, wins and events that occurred in ``[start, end)`` (reversals are not replayed:
    they follow the entries they reverse)."""
    with workspace_scope(workspace_id):
        return _replay(workspace_id, start, end)


def _replay(workspace_id: int, start: datetime.datetime, end: datetime.datetime) -> ReplayResult:
    result = ReplayResult()
    ctx = load_context(workspace_id)
    if ctx.empty:
        return result
    wanted = ctx.events()
    sales = [
        c
        for c in src.conversions(workspace_id, start=start, end=end, customers=ctx.needs_customers())
        if c.event in wanted
    ]
    sales += [
        s for d in src.deals(workspace_id, start=start, end=end) for s in d.sources if s.event in wanted
    ]
    custom = [e for e in wanted if e.startswith("custom:") or e in ("lead_accepted", "target_reached")]
    if custom:
        sales += src.activity_events(workspace_id, types=custom, start=start, end=end)
    todo = sorted(sales, key=lambda s: s.order)
    replayed: dict[str, Decimal] = {}
    if todo:
        ctx.partners = src.partner_facts(workspace_id, {s.partner_id for s in todo})
        days = [s.occurred_at.date() for s in todo]
        fx = Fx(workspace_id, min(days), max(days))
        rows = evaluate_sources(
            ctx, todo, load_state(ctx, todo, before=start), fx, timezone.now(), AccrualResult()
        )
        replayed = {row[_POS["idempotency_key"]]: row[_POS["amount"]] for row in rows}
    ledger = dict(
        LedgerEntry.objects.filter(
            workspace_id=workspace_id,
            occurred_at__gte=start,
            occurred_at__lt=end,
            source_kind__in=["conversion", "deal", "event"],
            kind__in=[KIND.ACCRUAL, KIND.BONUS, KIND.OVERRIDE, KIND.ADJUSTMENT],
        )
        .exclude(reverses__isnull=False)
        .values_list("idempotency_key", "amount")
    )
    settled = _lifetime_settled(workspace_id, start, end)
    for key, change in settled.items():
        if key in ledger:
            ledger[key] += change
    for key in sorted(set(replayed) | set(ledger)):
        if key not in replayed and key in settled and not ledger[key]:
            continue  # taken back whole once the partner's lifetime amount moved: the replay pays nothing
        result.compared += 1
        mine, theirs = replayed.get(key), ledger.get(key)
        result.total_replayed += mine or 0
        result.total_ledger += theirs or 0
        if mine is not None and theirs is not None and str(mine) == str(theirs):
            result.identical += 1
        else:
            result.differences.append(
                {
                    "key": key,
                    "replayed": "-" if mine is None else str(mine),
                    "ledger": "-" if theirs is None else str(theirs),
                }
            )
    return result


def _lifetime_settled(
    workspace_id: int, start: datetime.datetime, end: datetime.datetime
) -> dict[str, Decimal]:
    """What the re-evaluations of a moved lifetime amount (``services.lifetime_review``: adjustments that
    record the figure they read) added to each row of the window, by the row's key: the replay, which
    reads each event's figure as it is now, compares with the rows as they stand after them."""
    out: dict[str, Decimal] = {}
    for key, amount in (
        LedgerEntry.objects.filter(
            workspace_id=workspace_id,
            occurred_at__gte=start,
            occurred_at__lt=end,
            kind=KIND.ADJUSTMENT,
            reverses__isnull=False,
            explanation__has_key=EXPLAINED,
        )
        .exclude(state=LedgerEntry.State.REJECTED)
        .values_list("reverses__idempotency_key", "amount")
        .order_by()
    ):
        out[key] = out.get(key, Decimal(0)) + amount
    return out
