"""How a metric's value reads on a page, decided by its unit in the catalog.

Pages take labels from ``catalog.metric(key).label`` and values from :func:`show`, so the same figure
reads the same wherever it appears.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

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
    return str(value)
