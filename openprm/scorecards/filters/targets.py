"""The target list's filters (parsed from a query string or the API's query schema)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

SCOPES = (("partner", "Partner"), ("tier", "Tier"), ("program", "Program"))


@dataclass
class TargetFilters:
    metric: str = ""
    period: str = ""  # YYYY-MM, YYYY-Qn or YYYY
    scope: str = ""  # partner, tier or program
    partner: str = ""  # partner public id
    tier: str = ""  # tier public id
    program: str = ""  # program public id: its own targets and its tiers'
    owner: str = ""  # user public id, "me" or "none"

    @classmethod
    def from_mapping(cls, data: Any) -> TargetFilters:
        values = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if raw:
                values[f.name] = str(raw).replace("\x00", "").strip()[:200]
        return cls(**values)
