"""Vertical packs: SaaS usage (feature adoption, active users) from the customers app's usage reports, and
retail / distribution sell-through (rate, inventory turnover, pricing compliance) from the finance app's
sell-through reports. The packs' other metrics (CAC, LTV, support volume, influencer engagement and
reach) are the catalog's own entries, listed in the packs by ``Metric.packs``."""

from __future__ import annotations

from openprm.metrics.engine import Formula
from openprm.metrics.kpis.common import FACTOR_PLACES, money, per, ratio

USAGE = "product usage reports of partner-managed accounts (customers app)"
SELL_THROUGH = "sell-through reports of distribution partners (finance)"
SOLD, ON_HAND, AVG = "sellthrough.units_sold", "sellthrough.units_on_hand", "sellthrough.units_on_hand.avg"

FORMULAS: dict[str, Formula] = {
    "feature_adoption": Formula(
        ("usage.features_used", "usage.features_available"),
        lambda i: ratio(i["usage.features_used"], i["usage.features_available"]),
        USAGE,
    ),
    "active_users": Formula(("usage.active_users",), lambda i: int(i["usage.active_users"]), USAGE),
    "units_sold": Formula((SOLD,), lambda i: int(i[SOLD]), SELL_THROUGH),
    "sellthrough_revenue": Formula(
        ("sellthrough.revenue",), lambda i: money(i["sellthrough.revenue"]), SELL_THROUGH
    ),
    "sell_through_rate": Formula(
        (SOLD, ON_HAND), lambda i: ratio(i[SOLD], i[SOLD] + i[ON_HAND]), SELL_THROUGH
    ),
    "inventory_turnover": Formula((SOLD, AVG), lambda i: per(i[SOLD], i[AVG], FACTOR_PLACES), SELL_THROUGH),
    "pricing_compliance": Formula(
        ("sellthrough.lines_compliant", "sellthrough.lines"),
        lambda i: ratio(i["sellthrough.lines_compliant"], i["sellthrough.lines"]),
        SELL_THROUGH,
    ),
}
