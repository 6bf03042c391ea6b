"""The vertical packs' own metrics: SaaS usage and retail/distribution sell-through (entries of other
families that also belong to a pack are listed in ``PACKS``)."""

from __future__ import annotations

from openprm.metrics.catalog.base import Category, Direction, Indicator, Metric, Unit

_VERTICALS = "openprm.metrics.kpis.verticals:FORMULAS"
_FINANCE_INPUTS = "openprm.finance.selectors.metric_inputs"

# A table, one metric per entry, its fields in the same order everywhere (the formatter leaves it be).
# fmt: off
VERTICAL_METRICS = (
    Metric(key="feature_adoption", label="Feature adoption",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.USAGE,
           indicator=Indicator.LEADING, source=_VERTICALS,
           definition="Features used divided by features available, summed over the usage reports of the "
                      "partner's accounts for the period's months."),
    Metric(key="active_users", label="Active users",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.USAGE,
           indicator=Indicator.LEADING, source=_VERTICALS,
           definition="Active users of the partner's accounts in each account's latest reported month of "
                      "the period."),
    Metric(key="units_sold", label="Units sold",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.SELL_THROUGH,
           indicator=Indicator.LAGGING, source=_VERTICALS,
           definition="Units the distribution partner reported sold to end customers in the period's "
                      "months."),
    Metric(key="sellthrough_revenue", label="Sell-through revenue",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.SELL_THROUGH,
           indicator=Indicator.LAGGING, source=_VERTICALS,
           definition="Units sold times the price charged, over the sell-through reports of the period's "
                      "months."),
    Metric(key="sell_through_rate", label="Sell-through rate",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.SELL_THROUGH,
           indicator=Indicator.LAGGING, source=_VERTICALS,
           definition="Units sold in the period divided by units sold plus units still on hand at the last "
                      "report of the period."),
    Metric(key="inventory_turnover", label="Inventory turnover",
           unit=Unit.FACTOR, direction=Direction.HIGHER, category=Category.SELL_THROUGH,
           indicator=Indicator.LAGGING, source=_VERTICALS,
           definition="Units sold in the period divided by the average units on hand over the reported "
                      "months: how many times the stock turned."),
    Metric(key="pricing_compliance", label="Pricing compliance",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.SELL_THROUGH,
           indicator=Indicator.LAGGING, source=_VERTICALS,
           definition="Sell-through lines priced at least list price less the pricing tolerance (a "
                      "parameter, 5% by default), divided by all lines reported in the period."),
    Metric(key="regional_performance", label="Regional performance",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.SELL_THROUGH,
           indicator=Indicator.LAGGING, source=f"{_FINANCE_INPUTS}:sellthrough_by_region",
           shown_on="the regional table of the metrics API (GET /api/v1/metrics/regions: units and "
                    "revenue by region); per partner, see sell-through revenue",
           definition="Sell-through units and revenue by region of the reporting lines in the period."),
)
# fmt: on
