"""The ledger row layout of the accrual's bulk writes: ``[id, *COLUMNS]`` lists (plain, no ORM objects)."""

from __future__ import annotations

from typing import Any

COLUMNS = (
    "public_id",
    "workspace_id",
    "partner_id",
    "kind",
    "state",
    "source_kind",
    "source_id",
    "source_event",
    "idempotency_key",
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
    "caps",
    "explanation",
    "hold_until",
    "reverses_id",
    "derived_from_id",
    "note",
    "created_at",
    "approved_at",
)
POS = {name: i + 1 for i, name in enumerate(COLUMNS)}  # + 1: the id comes first


def row(**values: Any) -> list[Any]:
    out: list[Any] = [None] * (len(COLUMNS) + 1)
    for name, value in values.items():
        out[POS[name]] = value
    return out
