"""Input and output schemas of the ledger API: the filtered, keyset-paginated list, one entry with its
explanation, bulk approve / reject, and "why did this deal or conversion earn nothing"."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from openprm.commissions.models import LedgerEntry
from openprm.core.schemas import Input, Text


class LedgerQuery(Schema):
    partner: Text(64) = Field("", description="Partner public id")  # type: ignore[valid-type]
    kind: Literal["", "accrual", "reversal", "adjustment", "clawback", "bonus", "override", "payout"] = ""
    state: Literal["", "pending", "approved", "paid", "rejected"] = ""
    period: Text(7) = Field("", description="YYYY-MM: the month the source event fell in")  # type: ignore[valid-type]
    plan: Text(64) = Field("", description="Plan public id")  # type: ignore[valid-type]
    source: Literal["", "conversion", "deal", "event", "manual", "payout"] = ""
    earned: Literal["", "nothing", "something"] = Field(
        "",
        description="`nothing`: only entries of 0.00 (events that earned nothing); `something`: the others",
    )
    limit: int = Field(50, ge=1, le=500)
    cursor: Text(200) = Field("", description="`next_cursor` of the previous page")  # type: ignore[valid-type]


class EntryOut(Schema):
    id: uuid.UUID
    partner_id: uuid.UUID
    partner_name: str
    kind: str
    state: str
    source_kind: str
    source_id: int | None
    source_event: str
    plan_id: uuid.UUID | None
    plan_name: str
    plan_version: int | None
    rule_key: str
    occurred_at: datetime.datetime
    period: datetime.date
    base_amount: Decimal
    base_currency: str
    fx_rate: Decimal
    fx_date: datetime.date | None
    amount: Decimal
    currency: str
    rate: Decimal | None = Field(description="Percent applied; null for a flat reward")
    caps: list[Any]
    hold_until: datetime.date | None
    reverses_id: uuid.UUID | None
    note: str
    approved_at: datetime.datetime | None
    paid_at: datetime.datetime | None
    rejected_at: datetime.datetime | None
    rejected_reason: str
    explanation: dict[str, Any] | None = Field(None, description="On the single-entry answer")
    explained: list[str] | None = Field(None, description="The explanation in words (single entry)")


def entry_out(entry: LedgerEntry, explained: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": entry.public_id,
        "partner_id": entry.partner.public_id,
        "partner_name": entry.partner.name,
        "kind": entry.kind,
        "state": entry.state,
        "source_kind": entry.source_kind,
        "source_id": entry.source_id,
        "source_event": entry.source_event,
        "plan_id": entry.plan.public_id if entry.plan else None,
        "plan_name": entry.plan.name if entry.plan else "",
        "plan_version": entry.plan_version.number if entry.plan_version else None,
        "rule_key": entry.rule_key,
        "occurred_at": entry.occurred_at,
        "period": entry.period,
        "base_amount": entry.base_amount,
        "base_currency": entry.base_currency,
        "fx_rate": entry.fx_rate,
        "fx_date": entry.fx_date,
        "amount": entry.amount,
        "currency": entry.currency,
        "rate": entry.rate,
        "caps": entry.caps,
        "hold_until": entry.hold_until,
        "reverses_id": entry.reverses.public_id if entry.reverses else None,
        "note": entry.note,
        "approved_at": entry.approved_at,
        "paid_at": entry.paid_at,
        "rejected_at": entry.rejected_at,
        "rejected_reason": entry.rejected_reason,
        "explanation": entry.explanation if explained is not None else None,
        "explained": explained,
    }


class LedgerPage(Schema):
    items: list[EntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end")


class BulkApprove(Input):
    ids: list[uuid.UUID] = Field(min_length=1, max_length=5000)


class BulkReject(Input):
    ids: list[uuid.UUID] = Field(min_length=1, max_length=5000)
    reason: Text(300, 1)  # type: ignore[valid-type]


class AdjustmentIn(Input):
    """A manual adjustment: ``amount`` (positive or negative, in the plan's currency) to ``partner`` under
    ``plan``, with a reason (kept on the entry; the partner reads it)."""

    partner: uuid.UUID = Field(description="The partner's public id")
    plan: uuid.UUID = Field(description="The plan's public id: the entry is in its currency, held as it says")
    amount: Decimal = Field(
        max_digits=14, decimal_places=2, description="Positive adds, negative deducts; not zero"
    )
    reason: Text(300, 1)  # type: ignore[valid-type]
    occurred_on: datetime.date | None = Field(
        None,
        ge=datetime.date(1900, 1, 1),
        le=datetime.date(2999, 12, 31),
        description="The day it belongs to (its period); default today",
    )


class BulkOut(Schema):
    changed: int = Field(description="Entries moved (the others were not in a state that allows it)")


class WhyQuery(Schema):
    source: Literal["deal", "conversion"]
    id: uuid.UUID = Field(description="The deal's or conversion's public id")


class WhyOut(Schema):
    source: str
    id: uuid.UUID
    label: str
    earned: bool
    entries: list[EntryOut]
    explained: list[str] = Field(description="Why it earned what it did, or nothing")
