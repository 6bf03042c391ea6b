"""The dashboards' filters, parsed from the query string the same way by the pages, the chart data
requests and the exports: the partner filters (program, type, tier, region, owner, tag) and a period
(this month, quarter or year, the previous ones, or a custom range)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, fields
from typing import Any

from django.utils import timezone

from openprm.metrics.periods import Grain, Period, parse_period
from openprm.partners.filters import PartnerFilters

PARTNER_FIELDS = ("program", "type", "tier", "region", "owner", "tag")
COHORTS = {
    "tier": "Tier",
    "type": "Partner type",
    "region": "Region",
    "start_quarter": "Start quarter",
}
TREND_MONTHS = 12


def today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def presets(on: datetime.date) -> list[tuple[str, str]]:
    """The periods offered in the filter bar: (key as written in URLs, label)."""
    month, quarter, year = Period.month_of(on), Period.quarter_of(on), Period.year(on.year)
    return [
        (month.key, f"This month ({month.label})"),
        (month.previous().key, f"Last month ({month.previous().label})"),
        (quarter.key, f"This quarter ({quarter.label})"),
        (quarter.previous().key, f"Last quarter ({quarter.previous().label})"),
        (year.key, f"This year ({year.label})"),
        (year.previous().key, f"Last year ({year.previous().label})"),
    ]


@dataclass
class DashboardFilters:
    program: str = ""
    type: str = ""
    tier: str = ""
    region: str = ""
    owner: str = ""
    tag: str = ""
    period: str = ""  # a period key (see metrics.periods); "" for this year
    start: str = ""  # a custom range's first day (YYYY-MM-DD), with ``end``
    end: str = ""
    by: str = "tier"  # cohorts: how partners are grouped
    errors: dict[str, str] = field(default_factory=dict, init=False)

    @classmethod
    def from_mapping(cls, data: Any) -> DashboardFilters:
        values = {}
        for f in fields(cls):
            raw = data.get(f.name) if f.name != "errors" else None
            if raw:
                values[f.name] = str(raw).replace("\x00", "").strip()[:200]
        found = cls(**values)
        found.errors = found._check()
        return found

    def _check(self) -> dict[str, str]:
        errors = {}
        try:
            self.resolved_period()
        except ValueError as error:
            errors["start" if self.start or self.end else "period"] = str(error)
        if self.by not in COHORTS:
            errors["by"] = f"group partners by one of: {', '.join(COHORTS)}."
        return errors

    def resolved_period(self) -> Period:
        """The period asked for (``ValueError`` naming what is wrong), this year by default."""
        if self.start or self.end:
            if not (self.start and self.end):
                raise ValueError("a custom range needs both a start and an end day.")
            return parse_period(f"{self.start}..{self.end}")
        if self.period:
            return parse_period(self.period)
        return Period.year(today().year)

    @property
    def period_value(self) -> Period:
        """The period to show: the one asked for, or this year when it cannot be read (see ``errors``)."""
        try:
            return self.resolved_period()
        except ValueError:
            return Period.year(today().year)

    def trend_periods(self) -> list[Period]:
        """The months a trend shows: the 12 months up to the period's last month."""
        last = Period.month_of(self.period_value.end)
        months = [last]
        while len(months) < TREND_MONTHS:
            months.insert(0, months[0].previous())
        return months

    def partners(self) -> PartnerFilters:
        return PartnerFilters(**{name: getattr(self, name) for name in PARTNER_FIELDS})

    def query(self, **changes: str) -> dict[str, str]:
        """The filters as query parameters (empty ones left out), with ``changes`` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"}
        values.update(changes)
        if values.get("by") == "tier":
            values.pop("by")
        return {k: v for k, v in values.items() if v}


__all__ = ["COHORTS", "DashboardFilters", "Grain", "presets", "today"]
