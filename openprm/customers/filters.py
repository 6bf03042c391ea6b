"""The customer lists' filters, shared by the pages and ``GET /customers/...``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUSES = ("active", "churned")
ACCOUNT_SORTS = {
    "name": ("name", "id"),
    "-started": ("-started_on", "-id"),
    "started": ("started_on", "id"),
    "partner": ("partner__name", "name", "id"),
    "-arr": ("-arr", "name", "id"),
}


def _text(data: Any, key: str, limit: int = 200) -> str:
    return str(data.get(key, "") or "").replace("\x00", "").strip()[:limit]


@dataclass
class AccountFilters:
    q: str = ""  # name or domain (contains), or exact external id
    partner: str = ""  # a partner's public id
    status: str = ""  # active, churned or "" (both)
    sort: str = "name"

    @classmethod
    def from_mapping(cls, data: Any) -> AccountFilters:
        status = _text(data, "status")
        sort = _text(data, "sort")
        return cls(
            q=_text(data, "q"),
            partner=_text(data, "partner", 40),
            status=status if status in STATUSES else "",
            sort=sort if sort in ACCOUNT_SORTS else "name",
        )


@dataclass
class RecordFilters:
    """Changes, CSAT answers and usage months: of one account, one partner, a kind or channel."""

    account: str = ""  # an account's public id
    partner: str = ""  # a partner's public id
    kind: str = ""  # changes: renewal, upsell, ...; CSAT: the channel (partner or direct)
