"""The running state of the periods a batch touches, read from the ledger before the engine continues
them: tier volume and counts (net of refunds and of sources that no longer count), and what each cap's
period has earned (net of reversals); rejected rows count for nothing."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, Sum

from openprm.activity.models import Conversion
from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import corrections
from openprm.commissions.services import sources as src
from openprm.commissions.services.context import Context

ZERO = Decimal(0)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State


def load_state(
    ctx: Context, todo: list[src.Source], *, before: datetime.datetime | None = None
) -> engine.State:
    """The running totals of the periods ``todo`` touches, from the ledger (tiers, thresholds, caps);
    only entries that occurred before ``before`` when given (a replay starts from there)."""
    state = engine.State()
    if not todo or not ctx.stateful():
        return state
    rules: dict[str, list[engine.CompiledRule]] = defaultdict(list)
    for versions in ctx.versions.values():
        for _, _, plan in versions:
            for rule in plan.rules:
                if rule.reward in ("tiered", "threshold") or rule.cap_period is not None:
                    rules[rule.key].append(rule)
    earliest = min(engine.period_start(s.occurred_at.date(), "year") for s in todo)
    partners = sorted({s.partner_id for s in todo})
    # Commissions, bonuses and true-ups; the adjustments of re-evaluations (their base is the change of
    # the source amount); reversals of those (refunds, sources that no longer count): caps count what is
    # earned net, volume is net of refunds and of sources that no longer count.
    entries = (
        LedgerEntry.objects.filter(
            workspace_id=ctx.workspace_id,
            partner_id__in=partners,
            period__gte=earliest,
            rule_key__in=sorted(rules),
        )
        .filter(
            Q(kind__in=[KIND.ACCRUAL, KIND.BONUS, KIND.ADJUSTMENT])
            | Q(
                kind__in=[KIND.REVERSAL, KIND.CLAWBACK],
                reverses__kind__in=[KIND.ACCRUAL, KIND.BONUS, KIND.ADJUSTMENT],
            )
        )
        .exclude(state=STATE.REJECTED)
    )  # as the periods' re-evaluation: rejected rows earned nothing
    if before is not None:
        entries = entries.filter(occurred_at__lt=before)
    found = list(
        entries.values_list(
            "id",
            "reverses_id",
            "partner_id",
            "rule_key",
            "kind",
            "occurred_at",
            "base_amount",
            "fx_rate",
            "amount",
            "source_kind",
            "source_id",
            "idempotency_key",
            "reverses__kind",
        ).order_by()
    )
    refunded = refunded_shares(
        ctx.workspace_id, {f[10] for f in found if f[9] == "conversion" and f[10]}, before=before
    )
    # A commission whose rule is no longer chosen for its event (``corrections.toggle``): neither it nor
    # the rows linked to it count toward the period's volume and count (caps still count what it earned).
    toggles: dict[int, int] = defaultdict(int)
    for _, reverses, *_, key, reversed_kind in found:
        if reverses is not None and reversed_kind in (KIND.ACCRUAL, KIND.BONUS):
            toggles[reverses] += corrections.toggle(key)
    out = {pk for pk, net in toggles.items() if net > 0}
    for (
        pk,
        reverses,
        partner,
        rule_key,
        kind,
        at,
        base,
        fx_rate,
        amount,
        source_kind,
        source_id,
        key,
        reversed_kind,
    ) in found:
        day = at.date()
        share = refunded.get(source_id or 0, ZERO) if source_kind == "conversion" else ZERO
        volume, count = base * fx_rate * (1 - share), 0
        if kind in (KIND.ACCRUAL, KIND.BONUS):
            count = int(share < 1)  # a fully refunded sale does not count at all
        elif kind in (KIND.REVERSAL, KIND.CLAWBACK):
            if corrections.closes(key):
                # the source no longer counts: what its rows counted leaves, at the same net share (the
                # refunded share never counted)
                count = -int(reversed_kind != KIND.ADJUSTMENT and share < 1)
            else:  # a refund: in the share
                volume = ZERO
        if (reverses if reverses is not None else pk) in out:
            volume, count = ZERO, 0
        seen: set[tuple[str, str]] = set()
        for rule in rules[rule_key]:
            if (rule.period, rule.cap_period_kind) in seen:
                continue
            seen.add((rule.period, rule.cap_period_kind))
            tier_key = (partner, rule_key, engine.period_start(day, rule.period))
            state.volume[tier_key] = state.volume.get(tier_key, ZERO) + volume
            state.count[tier_key] = state.count.get(tier_key, 0) + count
            cap_key = (partner, rule_key, engine.period_start(day, rule.cap_period_kind))
            state.earned[cap_key] = state.earned.get(cap_key, ZERO) + amount
    return state


def refunded_shares(
    workspace_id: int, sale_ids: set[int], *, before: datetime.datetime | None = None
) -> dict[int, Decimal]:
    """The refunded share (0..1) of each sale that has accepted refunds (occurred before ``before``)."""
    if not sale_ids:
        return {}
    refunds = Conversion.objects.filter(
        workspace_id=workspace_id,
        refund_of_id__in=sorted(sale_ids),
        kind="refund",
        status=Conversion.Status.ACCEPTED,
    )
    if before is not None:
        refunds = refunds.filter(occurred_at__lt=before)
    totals = dict(refunds.values_list("refund_of_id").annotate(total=Sum("amount")).order_by())
    if not totals:
        return {}
    sales = Conversion.objects.filter(workspace_id=workspace_id, pk__in=list(totals))
    out = {}
    for pk, amount in sales.values_list("id", "amount"):
        if amount:
            out[pk] = min(abs(Decimal(str(totals[pk]))) / abs(amount), Decimal(1))  # SQLite sums as floats
    return out
