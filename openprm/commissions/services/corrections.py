"""Corrections the accrual writes as new rows, never edits: reversals of refunded sales (prorated by the
cumulative refunded share, at the original entry's rate and FX; clawbacks once the entry was paid), of
deals moved out of won and of rejected conversions, and adjustments of won deals whose amount changed."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from openprm.commissions import engine
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import sources as src
from openprm.commissions.services.rows import POS as _POS
from openprm.commissions.services.rows import row as _row
from openprm.core.bulk import uuid4_hex

ZERO = Decimal(0)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State


def _reversal(
    entry: dict[str, Any], key: str, amount: Decimal, now: datetime.datetime, note: str
) -> list[Any]:
    paid = entry["state"] == STATE.PAID
    approved = paid or entry["state"] == STATE.APPROVED
    base = engine.cents(entry["base_amount"] * amount / entry["amount"]) if entry["amount"] else ZERO
    return _row(
        public_id=uuid4_hex(),
        workspace_id=entry["workspace_id"],
        partner_id=entry["partner_id"],
        kind=KIND.CLAWBACK if paid else KIND.REVERSAL,
        state=STATE.APPROVED if approved else STATE.PENDING,
        approved_at=now if approved else None,
        source_kind=entry["source_kind"],
        source_id=entry["source_id"],
        source_event=entry["source_event"],
        idempotency_key=key,
        plan_id=entry["plan_id"],
        plan_version_id=entry["plan_version_id"],
        rule_key=entry["rule_key"],
        occurred_at=entry["occurred_at"],
        period=entry["period"],
        base_amount=base,
        base_currency=entry["base_currency"],
        fx_rate=entry["fx_rate"],
        fx_date=entry["fx_date"],
        amount=amount,
        currency=entry["currency"],
        rate=entry["rate"],
        caps=[],
        explanation={"reverses": str(entry["public_id"]), "detail": note},
        hold_until=entry["hold_until"],
        reverses_id=entry["id"],
        note=note[:300],
        created_at=now,
    )


ENTRY_FIELDS = (
    "id",
    "public_id",
    "workspace_id",
    "partner_id",
    "kind",
    "state",
    "source_kind",
    "source_id",
    "source_event",
    "plan_id",
    "plan_version_id",
    "rule_key",
    "occurred_at",
    "period",
    "base_amount",
    "base_currency",
    "fx_rate",
    "fx_date",
    "amount",
    "currency",
    "rate",
    "hold_until",
)


def _entries_of(
    workspace_id: int, source_kind: str, ids: Iterable[int], kinds: list[str]
) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = sorted(set(ids))
    if not ids:
        return out
    rows = LedgerEntry.objects.filter(
        workspace_id=workspace_id, source_kind=source_kind, source_id__in=ids, kind__in=kinds
    ).exclude(state=STATE.REJECTED)
    entries = list(rows.order_by("id").values(*ENTRY_FIELDS))
    undone: dict[int, Decimal] = defaultdict(lambda: ZERO)
    fixes: dict[int, int] = defaultdict(int)
    for reverses, total, count in (
        LedgerEntry.objects.filter(reverses_id__in=[e["id"] for e in entries])
        .values_list("reverses_id")
        .annotate(total=Sum("amount", filter=~Q(state=STATE.REJECTED)), count=Count("id"))
        .order_by()
    ):  # the count includes rejected rows: their keys stay taken
        undone[reverses] = total or ZERO
        fixes[reverses] = count
    for entry in entries:
        entry["undone"] = undone[entry["id"]]
        entry["fixes"] = fixes[entry["id"]]
        out[entry["source_id"]].append(entry)
    return out


def refund_rows(workspace_id: int, refunds: list[src.Source], now: datetime.datetime) -> list[list[Any]]:
    """Reversals (or clawbacks) of the sales ``refunds`` refund, prorated by the cumulative refunded share."""
    sales = sorted({r.refund_of for r in refunds if r.refund_of})
    if not sales:
        return []
    from openprm.activity.models import Conversion

    sale_amount = dict(
        Conversion.objects.filter(workspace_id=workspace_id, pk__in=sales).values_list("id", "amount")
    )
    all_refunds: dict[int, list[tuple[Any, int, Decimal]]] = defaultdict(list)
    for rid, of, at, amount in Conversion.objects.filter(
        workspace_id=workspace_id, refund_of_id__in=sales, status=Conversion.Status.ACCEPTED
    ).values_list("id", "refund_of_id", "occurred_at", "amount"):
        all_refunds[of].append((at, rid, abs(amount)))
    entries = _entries_of(workspace_id, "conversion", sales, [KIND.ACCRUAL, KIND.OVERRIDE])
    rows = []
    for refund in sorted(refunds, key=lambda r: r.order):
        if refund.refund_of not in sale_amount or not sale_amount[refund.refund_of]:
            continue
        so_far = sum(
            (
                a
                for at, rid, a in sorted(all_refunds[refund.refund_of])
                if (at, rid) <= (refund.occurred_at, refund.id)
            ),
            ZERO,
        )
        share = min(so_far / sale_amount[refund.refund_of], Decimal(1))
        for entry in entries.get(refund.refund_of, []):
            if not entry["amount"]:
                continue
            target = engine.cents(entry["amount"] * share)
            amount = -(target + entry["undone"])  # undone is negative: what was reversed already
            if amount == 0:
                continue
            entry["undone"] += amount
            note = f"refund of {share * 100:.2f}% of the sale"
            # The fix counter: a refund re-read after its amount (or the sale's) changed posts a new
            # difference under a new key, never the first key again.
            key = f"r{refund.id}:{entry['id']}:{entry['fixes']}"
            entry["fixes"] += 1
            rows.append(_reversal(entry, key, amount, now, note))
    return rows


def deal_correction_rows(
    workspace_id: int, deals: list[src.DealState], now: datetime.datetime
) -> list[list[Any]]:
    """A deal moved out of won: reverse what the win earned. A won deal's amount changed: adjust its
    percentage commissions at the original rate and FX."""
    entries = _entries_of(workspace_id, "deal", [d.id for d in deals], [KIND.ACCRUAL, KIND.OVERRIDE])
    rows: list[list[Any]] = []
    for deal in deals:
        for entry in entries.get(deal.id, []):
            if entry["source_event"] != "deal_won" or not entry["amount"]:
                continue
            remaining = entry["amount"] + entry["undone"]
            if not deal.won:
                if remaining:
                    entry["fixes"] += 1
                    rows.append(
                        _reversal(
                            entry,
                            f"d{deal.id}:unwon:{entry['id']}:{entry['fixes'] - 1}",
                            -remaining,
                            now,
                            "deal no longer won",
                        )
                    )
                continue
            if entry["rate"] is None or entry["kind"] != KIND.ACCRUAL or not entry["base_amount"]:
                continue
            target = engine.cents(entry["amount"] * deal.amount / entry["base_amount"])
            if target != remaining:
                row = _reversal(
                    entry,
                    f"d{deal.id}:amount:{entry['id']}:{entry['fixes']}",
                    target - remaining,
                    now,
                    f"deal amount now {deal.amount}",
                )
                row[_POS["kind"]] = KIND.ADJUSTMENT
                rows.append(row)
    return rows


def void_rows(
    workspace_id: int, kind: str, ids: list[int], now: datetime.datetime, note: str
) -> list[list[Any]]:
    """Reverse whatever is left of the entries of sources that no longer count (a rejected conversion)."""
    rows = []
    for source_id, found in _entries_of(
        workspace_id, kind, ids, [KIND.ACCRUAL, KIND.OVERRIDE, KIND.BONUS]
    ).items():
        for entry in found:
            remaining = entry["amount"] + entry["undone"]
            if remaining:
                key = f"{kind[0]}{source_id}:void:{entry['id']}:{entry['fixes']}"
                rows.append(_reversal(entry, key, -remaining, now, note))
    return rows
