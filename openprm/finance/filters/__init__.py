"""The finance lists' filters, shared by the pages and the API (``GET /finance/...``): the records'
(``FinanceFilters``) and the exchange rates' (``FxFilters``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

INVOICE_STATUSES = ("paid", "unpaid", "overdue", "late", "disputed", "corrected")


def _month(text: str) -> datetime.date | None:
    text = text.strip()
    try:
        return datetime.date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        return None


@dataclass
class FinanceFilters:
    """``partner``: a partner's public id; ``start``/``end``: months or days, both included (the month of
    costs, sell-through and revenue; the issue date of invoices); the rest apply to one kind each."""

    partner: str = ""
    start: datetime.date | None = None
    end: datetime.date | None = None
    category: str = ""  # costs
    status: str = ""  # invoices: one of INVOICE_STATUSES
    sku: str = ""  # sell-through
    region: str = ""  # sell-through

    @classmethod
    def from_mapping(cls, data: Any) -> FinanceFilters:
        """A page's query string (unknown or malformed values are ignored)."""

        def text(key: str, limit: int = 100) -> str:
            return str(data.get(key, "") or "").replace("\x00", "").strip()[:limit]

        status = text("status")
        return cls(
            partner=text("partner", 64),
            start=_month(text("start", 10)),
            end=_month_end(text("end", 10)),
            category=text("category", 12),
            status=status if status in INVOICE_STATUSES else "",
            sku=text("sku", 60),
            region=text("region", 60),
        )


def _month_end(text: str) -> datetime.date | None:
    """The last day of a ``YYYY-MM`` month, or the day given."""
    day = _month(text)
    if day is None or len(text.strip()) != 7:
        return day
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)


@dataclass
class FxFilters:
    """The exchange-rate list's filters: ``currency`` (base or quote, a 3-letter code), ``day`` (that day
    only), ``start``/``end`` days, both included. A value that is not one (``day=xx``) is an error naming
    its parameter — the page shows it, the API answers 422 — never silently ignored."""

    currency: str = ""
    start: datetime.date | None = None
    end: datetime.date | None = None
    day: datetime.date | None = None
    invalid: dict[str, str] = field(default_factory=dict, compare=False)  # as given, unparsable

    @classmethod
    def from_mapping(cls, data: Any) -> FxFilters:
        """A page's query string; malformed values are kept in ``errors()``, not applied."""
        invalid: dict[str, str] = {}
        code = str(data.get("currency", "") or "").replace("\x00", "").strip().upper()
        if code and not (len(code) == 3 and code.isalpha() and code.isascii()):
            invalid["currency"] = "A currency code: three letters, e.g. USD."
            code = ""
        days: dict[str, datetime.date | None] = {}
        for key in ("start", "end", "day"):
            text = str(data.get(key, "") or "").replace("\x00", "").strip()
            days[key] = _day(text) if text else None
            if text and days[key] is None:
                invalid[key] = "A date as YYYY-MM-DD."
        return cls(currency=code, invalid=invalid, **days)

    def errors(self) -> dict[str, str]:
        """Values that cannot be applied, by parameter."""
        found = dict(self.invalid)
        if self.start and self.end and self.end < self.start:
            found["end"] = "On or after the start."
        return found

    def as_query(self) -> dict[str, str]:
        values = {
            "currency": self.currency,
            "day": self.day.isoformat() if self.day else "",
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
        }
        return {key: value for key, value in values.items() if value}


def _day(text: str) -> datetime.date | None:
    text = text.strip()
    if len(text) != 10:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


__all__ = ["INVOICE_STATUSES", "FinanceFilters", "FxFilters"]
