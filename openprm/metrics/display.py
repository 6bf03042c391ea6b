"""How a metric's value reads on a page, decided by its unit in the catalog.

Pages take labels from ``catalog.metric(key).label`` and values from :func:`show`, so the same figure
reads the same wherever it appears.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openprm.deals.rollups.conversion import Unconverted
from openprm.metrics.catalog import Metric, Unit

EMPTY = "—"


def duration(seconds: float | None) -> str:
    """A readable duration: "45 min", "3.5 h", "2.1 days"; "—" when there is none."""
    if seconds is None:
        return EMPTY
    if seconds < 3600:
        return f"{max(seconds, 0) / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def percent(value: Decimal | float | None) -> str:
    """A ratio in [0, 1] as a whole percent ("42%"); "—" when there is none."""
    return EMPTY if value is None else f"{value * 100:.0f}%"


def show(metric: Metric, value: Any, *, empty: str = EMPTY) -> str:
    """``value`` of ``metric`` as shown on a page; ``empty`` when it has none (e.g. "never")."""
    if value is None:
        return empty
    if metric.unit is Unit.RATIO:
        return percent(value)
    if metric.unit is Unit.SECONDS:
        return duration(value)
    if metric.unit is Unit.DATE and isinstance(value, datetime.date):
        return value.isoformat()
    if metric.unit is Unit.COUNT and isinstance(value, Decimal):
        return f"{value:,.0f}"  # reported figures (reach, impressions) are large: group the thousands
    if metric.unit is Unit.CURRENCY and isinstance(value, Decimal | int):
        return f"{value:,.2f}"  # money: the thousands grouped, cents shown
    return str(value)


def _days(days: set[datetime.date]) -> str:
    ordered = sorted(days)
    if len(ordered) <= 3:
        return ", ".join(d.isoformat() for d in ordered)
    return f"{len(ordered)} days from {ordered[0].isoformat()} to {ordered[-1].isoformat()}"


def unconverted_note(items: Sequence[Unconverted], *, currency: str, rates_url: str | None) -> str:
    """What the money figures leave out, said beside them (never a silent 0.00): "12 deals in USD not
    converted: no USD→EUR rate for …; import rates at /finance/fx-rates/". ``rates_url`` None (partner
    users: the rates are internal): no link, no rate talk beyond "no exchange rate yet"."""
    parts = []
    for item in items:
        # registrations are counted; a day may hold only wins or losses of deals registered earlier; the
        # open deals a missing rate of the period's end leaves out of the pipeline are counted apart
        counted = [f"{item.deals} deal{'s' if item.deals != 1 else ''}"] if item.deals else []
        if item.open_deals:
            counted.append(f"{item.open_deals} open deal{'s' if item.open_deals != 1 else ''}")
        deals = " and ".join(counted) if counted else "Deals"
        deals += f" in {item.currency}"
        if rates_url is None:
            parts.append(f"{deals} not included yet (no exchange rate for {_days(item.days)})")
        else:
            parts.append(f"{deals} not converted: no {item.currency}→{currency} rate for {_days(item.days)}")
    if not parts:
        return ""
    note = "; ".join(parts)
    return f"{note}; import rates at {rates_url}" if rates_url else f"{note}."
