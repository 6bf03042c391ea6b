"""The deal list's filters: what a page's query string or the API's query schema asks for, as plain values
the selectors apply (``selectors.deal_list``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from typing import Any


@dataclass
class DealFilters:
    q: str = ""
    partner: str = ""  # partner public id
    type: str = ""  # partner type key
    tier: str = ""  # tier public id
    stage: str = ""  # stage key
    approval: str = ""  # approval status
    owner: str = ""  # vendor-side owner public id, "me" or "none"
    close_month: str = ""  # YYYY-MM of expected close
    amount_min: str = ""
    amount_max: str = ""
    stalled: str = ""  # "1" for stalled only
    sort: str = "-registered"

    def errors(self) -> dict[str, str]:
        """Filter values that cannot be applied, by field (the page shows them; the API's schema refuses)."""
        if self.close_month:
            try:
                close_month_range(self.close_month)
            except ValueError as exc:
                return {"close_month": str(exc)}
        return {}

    @classmethod
    def from_mapping(cls, data: Any) -> DealFilters:
        values = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if raw:
                values[f.name] = str(raw).replace("\x00", "").strip()[:200]
        return cls(**values)


SORTS = {
    "registered": "registered_at",
    "-registered": "-registered_at",
    "amount": "amount",
    "-amount": "-amount",
    "close": "expected_close_date",
    "-close": "-expected_close_date",
    "customer": "customer_name",
    "-customer": "-customer_name",
}


CLOSE_MONTH_ERROR = "Use a month as YYYY-MM between 1900-01 and 2999-12."


def close_month_range(value: str) -> tuple[datetime.date, datetime.date]:
    """The first day of the month ``value`` (YYYY-MM) and of the next one; ValueError when it is not one.

    A date range (not year/month lookups) so the list pages on the expected-close index; years are those
    a close date may have (1900–2999), so ``0000-01`` is refused instead of reaching the database."""
    year_text, sep, month_text = value.partition("-")
    if not (
        sep and len(year_text) == 4 and year_text.isdigit() and len(month_text) == 2 and month_text.isdigit()
    ):
        raise ValueError(CLOSE_MONTH_ERROR)
    year, month = int(year_text), int(month_text)
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        raise ValueError(CLOSE_MONTH_ERROR)
    start = datetime.date(year, month, 1)
    end = datetime.date(year + 1, 1, 1) if month == 12 else datetime.date(year, month + 1, 1)
    return start, end


def close_month_choices(today: datetime.date, months: int = 12) -> list[tuple[str, str]]:
    """The close-month filter's options: this month, the previous three and the next ``months`` as
    (YYYY-MM, label)."""
    out = []
    year, month = today.year, today.month - 3
    while month < 1:
        year, month = year - 1, month + 12
    for _ in range(months + 4):
        value = f"{year:04d}-{month:02d}"
        out.append((value, datetime.date(year, month, 1).strftime("%b %Y")))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out
