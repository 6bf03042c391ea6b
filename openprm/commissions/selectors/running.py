"""The running state of periods as the ledger holds it (a read): tier volume and counts net of refunds and
of sources that no longer count, and what each cap's period has earned net of reversals; rejected rows
count for nothing. The accrual continues periods from it (``services.running.load_state``) and the
portal shows a partner's progress to the next tier from it, so both read the same figures."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db.models import Q, Sum

from openprm.activity.models import Conversion
from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry

ZERO = Decimal(0)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State
# the tags of the reversals that close an evaluation (``detached``, ``retyped``, ``deleted``:
# ``services.stale``)
CLOSING = ("unwon", "void", "moved", "currency", "redated", "detached", "retyped", "deleted")


def closes(key: str) -> bool:
    """Whether a reversal's key closes its evaluation (``d12:moved:345:0``: the tag follows the source;
    an evaluation's own keys have the event there, a refund's the entry id)."""
    parts = key.split(":", 2)
    return len(parts) > 2 and parts[1] in CLOSING


def toggle(key: str) -> int:
    """+1 for the adjustment that takes a rule's row out of its event (``c12:purchase:big:out3``: the
    rule is no longer chosen, its base leaves the period's tier volume and count), -1 for the one that
    brings it back (``:in4``), 0 for any other row."""
    tail = key.rsplit(":", 1)[-1]
    if tail.startswith("out") and tail[3:].isdigit():
        return 1
    return -1 if tail.startswith("in") and tail[2:].isdigit() else 0


def ledger_state(
    *,
    workspace_id: int,
    partners: Iterable[int],
    periods: Mapping[str, Iterable[tuple[str, str]]],
    earliest: datetime.date,
    before: datetime.datetime | None = None,
) -> engine.State:
    """The running totals of the partners' periods from ``earliest`` (a year's start) on, for the rule
    keys of ``periods`` (each with the (tier period, cap period) of the rules that use the key); only
    entries that occurred before ``before`` when given. Every entry counts once per period start."""
    state = engine.State()
    wanted = {key: sorted(set(found)) for key, found in periods.items()}
    if not wanted:
        return state
    # Commissions, bonuses and true-ups; the adjustments of re-evaluations (their base is the change of
    # the source amount); reversals of those (refunds, sources that no longer count): caps count what is
    # earned net, volume is net of refunds and of sources that no longer count.
    entries = (
        LedgerEntry.objects.filter(
            workspace_id=workspace_id,
            partner_id__in=sorted(set(partners)),
            period__gte=earliest,
            rule_key__in=sorted(wanted),
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
        workspace_id, {f[10] for f in found if f[9] == "conversion" and f[10]}, before=before
    )
    # A commission whose rule is no longer chosen for its event (``toggle``): neither it nor the rows
    # linked to it count toward the period's volume and count (caps still count what it earned).
    toggles: dict[int, int] = defaultdict(int)
    for _, reverses, *_, key, reversed_kind in found:
        if reverses is not None and reversed_kind in (KIND.ACCRUAL, KIND.BONUS):
            toggles[reverses] += toggle(key)
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
            if closes(key):
                # the source no longer counts: what its rows counted leaves, at the same net share (the
                # refunded share never counted)
                count = -int(reversed_kind != KIND.ADJUSTMENT and share < 1)
            else:  # a refund: in the share
                volume = ZERO
        if (reverses if reverses is not None else pk) in out:
            volume, count = ZERO, 0
        # Once per period start: rules of one key with other periods (versions) whose starts coincide
        # (January opens its month, quarter and year) must not count the entry twice.
        tier_keys = {(partner, rule_key, engine.period_start(day, period)) for period, _ in wanted[rule_key]}
        for tier_key in tier_keys:
            state.volume[tier_key] = state.volume.get(tier_key, ZERO) + volume
            state.count[tier_key] = state.count.get(tier_key, 0) + count
        cap_keys = {(partner, rule_key, engine.period_start(day, cap)) for _, cap in wanted[rule_key]}
        for cap_key in cap_keys:
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
