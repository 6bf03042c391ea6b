"""The ledger's filters and its keyset cursor.

The ledger grows to millions of rows, so it pages by keyset on its index ``(workspace, -occurred_at,
-id)``: a page is "the next N entries older than (occurred_at, id)", never an OFFSET that reads and
throws away every row before it, nor a COUNT of the whole table."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, fields
from typing import Any

KINDS = ("accrual", "reversal", "adjustment", "clawback", "bonus", "override", "payout")
STATES = ("pending", "approved", "paid", "rejected")
SOURCES = ("conversion", "deal", "event", "manual", "payout")
EARNED = ("nothing", "something")  # entries of 0.00 (an event evaluated that earned nothing) or not
MONTH_ERROR = "Use a month as YYYY-MM between 1900-01 and 2999-12."


def month_range(value: str) -> tuple[datetime.date, datetime.date]:
    """The first day of the month ``value`` (YYYY-MM) and of the next; ValueError when it is not one."""
    year_text, sep, month_text = value.partition("-")
    if not (
        sep and len(year_text) == 4 and year_text.isdigit() and len(month_text) == 2 and month_text.isdigit()
    ):
        raise ValueError(MONTH_ERROR)
    year, month = int(year_text), int(month_text)
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        raise ValueError(MONTH_ERROR)
    start = datetime.date(year, month, 1)
    end = datetime.date(year + 1, 1, 1) if month == 12 else datetime.date(year, month + 1, 1)
    return start, end


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: strictly older than this entry (its moment, then its id)."""

    occurred_at: datetime.datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.occurred_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """ValueError when ``text`` is not a cursor this module wrote."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            moment, _, pk = raw.partition("|")
            at = datetime.datetime.fromisoformat(moment)
            number = int(pk)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("Not a cursor of this list: start again from the first page.") from exc
        if at.tzinfo is None or number < 0 or number > 2**63 - 1:
            raise ValueError("Not a cursor of this list: start again from the first page.")
        return cls(occurred_at=at, id=number)


@dataclass
class LedgerFilters:
    partner: str = ""  # partner public id
    kind: str = ""  # a ledger kind
    state: str = ""  # a ledger state
    period: str = ""  # YYYY-MM (the month the source event fell in)
    plan: str = ""  # plan public id
    source: str = ""  # source kind (conversion, deal, event, manual, payout)
    source_id: str = ""  # the source row's id (with source)
    earned: str = ""  # "nothing": only 0.00 entries; "something": only the others; "": all

    def errors(self) -> dict[str, str]:
        """Filter values that cannot be applied, by field (the page shows them; the API answers 422)."""
        found: dict[str, str] = {}
        if self.kind and self.kind not in KINDS:
            found["kind"] = f"One of: {', '.join(KINDS)}."
        if self.state and self.state not in STATES:
            found["state"] = f"One of: {', '.join(STATES)}."
        if self.source and self.source not in SOURCES:
            found["source"] = f"One of: {', '.join(SOURCES)}."
        if self.earned and self.earned not in EARNED:
            found["earned"] = f"One of: {', '.join(EARNED)}."
        if self.source_id and not (self.source_id.isdigit() and len(self.source_id) <= 18):
            found["source_id"] = "A whole number."
        if self.period:
            try:
                month_range(self.period)
            except ValueError as exc:
                found["period"] = str(exc)
        return found

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @classmethod
    def from_mapping(cls, data: Any) -> LedgerFilters:
        values = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if raw:
                values[f.name] = str(raw).replace("\x00", "").strip()[:200]
        return cls(**values)

    def as_query(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}
