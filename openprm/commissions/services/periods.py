"""A period recomputed after a refund lands in it: a retroactive tier's commissions and true-ups re-priced
at the rate of the period's volume net of refunds, and a threshold bonus the refunds undid reversed. The
difference is posted (new rows, never edits); an event later in the period continues from the net state.

Rules with caps are left as they are (their per-event trims do not add up to one period figure)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q

from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services.context import Context
from openprm.commissions.services.corrections import ENTRY_FIELDS, _reversal
from openprm.commissions.services.rows import POS

ZERO = Decimal(0)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State
Touched = tuple[int, str, datetime.date]  # partner, rule key, a day in the period


def _rules(ctx: Context) -> dict[str, engine.CompiledRule]:
    found: dict[str, engine.CompiledRule] = {}
    for versions in ctx.versions.values():
        for _, _, plan in versions:
            for rule in plan.rules:
                retro = rule.reward == "tiered" and rule.mode == "retroactive"
                if (
                    (retro or rule.reward == "threshold")
                    and rule.cap_event is None
                    and rule.cap_period is None
                ):
                    found[rule.key] = rule
    return found


def _next(start: datetime.date, period: str) -> datetime.date:
    month = start.month - 1 + {"month": 1, "quarter": 3, "year": 12}[period]
    return datetime.date(start.year + month // 12, month % 12 + 1, 1)


def _rate_at(rule: engine.CompiledRule, volume: Decimal) -> Decimal:
    rate = rule.tiers[0][1]
    for start, r in rule.tiers:
        if volume >= start:
            rate = r
    return rate


def touched_by_refunds(workspace_id: int, sale_ids: Iterable[int]) -> set[Touched]:
    """(partner, rule, day) of the refunded sales' entries."""
    rows = LedgerEntry.objects.filter(
        workspace_id=workspace_id,
        source_kind="conversion",
        source_id__in=sorted(set(sale_ids)),
        kind__in=[KIND.ACCRUAL, KIND.BONUS],
    ).exclude(rule_key="")
    return {
        (p, k, at.date()) for p, k, at in rows.values_list("partner_id", "rule_key", "occurred_at").order_by()
    }


def _period_entries(
    ctx: Context, partner: int, rule_key: str, start: datetime.date, end: datetime.date
) -> list:
    return list(
        LedgerEntry.objects.filter(
            workspace_id=ctx.workspace_id,
            partner_id=partner,
            rule_key=rule_key,
            occurred_at__date__gte=start,
            occurred_at__date__lt=end,
        )
        .exclude(state=STATE.REJECTED)
        .filter(
            Q(kind__in=[KIND.ACCRUAL, KIND.BONUS, KIND.ADJUSTMENT])
            | Q(kind__in=[KIND.REVERSAL, KIND.CLAWBACK], reverses__kind__in=[KIND.ACCRUAL, KIND.BONUS])
        )
        .order_by("occurred_at", "id")
        .values(*ENTRY_FIELDS)
    )


def period_rows(ctx: Context, touched: set[Touched], now: datetime.datetime) -> list[list[Any]]:
    """Rows that bring each touched (partner, rule, period) to what its net volume earns."""
    from openprm.commissions.services.accrual import refunded_shares

    rules = _rules(ctx)
    out: list[list[Any]] = []
    done: set[tuple[int, str, datetime.date]] = set()
    for partner, rule_key, day in sorted(touched):
        rule = rules.get(rule_key)
        if rule is None:
            continue
        start = engine.period_start(day, rule.period)
        if (partner, rule_key, start) in done:
            continue
        done.add((partner, rule_key, start))
        rows = _period_entries(ctx, partner, rule_key, start, _next(start, rule.period))
        sources = [r for r in rows if r["kind"] in (KIND.ACCRUAL, KIND.BONUS)]
        if not sources:
            continue
        conversions = {r["source_id"] for r in sources if r["source_kind"] == "conversion"}
        shares = refunded_shares(ctx.workspace_id, conversions)

        def share(r: dict[str, Any], shares: dict[int, Decimal] = shares) -> Decimal:
            return shares.get(r["source_id"], ZERO) if r["source_kind"] == "conversion" else ZERO

        volume = sum((r["base_amount"] * r["fx_rate"] * (1 - share(r)) for r in sources), ZERO)
        if rule.reward == "tiered":
            target = engine.cents(volume * _rate_at(rule, volume) / 100)
            current = sum((r["amount"] for r in rows), ZERO)
            if target != current:
                fixes = sum(1 for r in rows if r["kind"] == KIND.ADJUSTMENT)
                key = f"p{partner}:{rule_key}:{start:%Y%m%d}:{fixes}:trueup"
                note = f"period re-priced after a refund: net volume {volume:.2f}"
                row = _reversal(sources[-1], key, target - current, now, note)
                row[POS["kind"]] = KIND.ADJUSTMENT
                row[POS["reverses_id"]] = None
                row[POS["base_amount"]] = ZERO
                row[POS["rate"]] = None
                out.append(row)
            continue
        count = Decimal(sum(1 for r in sources if share(r) < 1))
        metric = count if rule.metric == "count" else volume
        paid = [r for r in rows if r["kind"] == KIND.BONUS and r["amount"]]
        net = sum((r["amount"] for r in rows if r["kind"] != KIND.ACCRUAL), ZERO)
        if metric < rule.threshold and net > 0 and paid:
            back, threshold = metric.normalize(), rule.threshold.normalize()
            note = f"{rule.metric} back to {back:f} of {threshold:f} after a refund"
            key = f"p{partner}:{rule_key}:{start:%Y%m%d}:bonus:{len(rows) - len(sources)}"
            out.append(_reversal(paid[-1], key, -net, now, note))
    return out
