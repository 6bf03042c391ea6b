"""Financial metrics: the pipeline and revenue from deals, and the figures from finance records and
customer accounts (company revenue share, costs, margin, CAC, invoices, renewals)."""

from __future__ import annotations

from openprm.metrics.catalog.base import Category, Direction, Family, Indicator, Metric, Unit

_DEALS = "openprm.deals.metrics"
_FINANCE = "openprm.metrics.kpis.finance:FORMULAS"

# A table, one metric per entry, its fields in the same order everywhere (the formatter leaves it be).
# fmt: off
PIPELINE_METRICS = (
    Metric(key="pipeline_value", label="Pipeline",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source=f"{_DEALS}:pipeline_value",
           definition="The total amount of all open deals (registered, not yet won or lost): revenue that "
                      "may close in future periods."),
    Metric(key="weighted_pipeline", label="Weighted pipeline",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source=f"{_DEALS}:weighted_pipeline",
           definition="The sum over open deals of amount multiplied by the win probability of the deal's "
                      "current stage: the pipeline discounted by how likely each deal is to close."),
    Metric(key="win_rate", label="Win rate",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.PIPELINE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:win_rate",
           definition="The number of won deals divided by the number of closed deals (won + lost), "
                      "counted by deal, not by amount; open deals are not counted."),
    Metric(key="average_won_deal_size", label="Average won deal size",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.PIPELINE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:average_won_deal_size",
           definition="The total amount of won deals divided by the number of won deals."),
    Metric(key="time_to_close_days", label="Time to close",
           unit=Unit.DAYS, direction=Direction.LOWER, category=Category.PIPELINE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:time_to_close_days",
           definition="For won deals, the time from registration to close in days, reported as the median "
                      "and the mean; lost and open deals are not counted."),
    Metric(key="sales_velocity", label="Sales velocity",
           unit=Unit.CURRENCY_PER_DAY, direction=Direction.HIGHER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source=f"{_DEALS}:sales_velocity",
           definition="The revenue the pipeline is expected to produce per day: the number of open deals "
                      "multiplied by the win rate and by the average won deal size, divided by the "
                      "average sales cycle length in days."),
    Metric(key="average_open_deal_age_days", label="Open deal age",
           unit=Unit.DAYS, direction=Direction.LOWER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source=f"{_DEALS}:average_open_deal_age_days",
           definition="The mean time, in days, since registration of the deals still open: an ageing "
                      "pipeline signals deals likely to stall or be lost."),
    Metric(key="time_in_stage", label="Time in stage",
           unit=Unit.DAYS, direction=Direction.LOWER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source=f"{_DEALS}:time_in_stage",
           definition="For each pipeline stage, how long deals stay in it, in days, reported as the mean "
                      "and the median; a deal still in a stage counts up to now. Long stays show where "
                      "deals stall."),
    Metric(key="open_count", label="Open deals",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source=f"{_DEALS}:DealSummary.open_count",
           definition="Deals registered and not yet won or lost."),
    Metric(key="won_count", label="Won deals",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.PIPELINE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:DealSummary.won_count",
           definition="Deals won."),
    Metric(key="lost_count", label="Lost deals",
           unit=Unit.COUNT, direction=Direction.LOWER, category=Category.PIPELINE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:DealSummary.lost_count",
           definition="Deals lost."),
    Metric(key="deal_count", label="Deals",
           unit=Unit.COUNT, direction=Direction.NEUTRAL, category=Category.PIPELINE,
           source=f"{_DEALS}:DealSummary.deal_count",
           definition="All deals counted: open, won and lost."),
    Metric(key="stalled_deals", label="Stalled deals",
           unit=Unit.COUNT, direction=Direction.LOWER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source="openprm.deals.selectors:pipeline_review",
           definition="Open deals without a stage change within their stage's stall threshold."),
    Metric(key="deals_closing_this_month", label="Closing this month",
           unit=Unit.COUNT, direction=Direction.NEUTRAL, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source="openprm.deals.selectors:pipeline_review",
           definition="Open deals expected to close this month."),
    Metric(key="overdue_close_dates", label="Overdue close dates",
           unit=Unit.COUNT, direction=Direction.LOWER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source="openprm.deals.selectors:pipeline_review",
           definition="Open deals whose expected close date has passed."),
    Metric(key="overdue_approvals", label="Approvals past SLA",
           unit=Unit.COUNT, direction=Direction.LOWER, category=Category.PIPELINE,
           indicator=Indicator.LEADING, source="openprm.deals.selectors:pipeline_review",
           definition="Registrations still waiting for a decision past their due time."),
)

REVENUE_METRICS = (
    Metric(key="won_revenue", label="Won revenue",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:revenue_split",
           definition="The total amount of won deals, partner-sourced and partner-influenced."),
    Metric(key="sourced_revenue", label="Partner-sourced revenue",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:revenue_split",
           definition="The total amount of won deals that partners brought in."),
    Metric(key="influenced_revenue", label="Partner-influenced revenue",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:revenue_split",
           definition="The total amount of won deals that partners helped close."),
    Metric(key="sourced_share", label="Sourced share",
           unit=Unit.RATIO, direction=Direction.NEUTRAL, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:revenue_split",
           definition="Partner-sourced revenue divided by won revenue."),
    Metric(key="influenced_share", label="Influenced share",
           unit=Unit.RATIO, direction=Direction.NEUTRAL, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:revenue_split",
           definition="Partner-influenced revenue divided by won revenue (one minus the sourced share)."),
    Metric(key="revenue_per_partner", label="Revenue per partner",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:revenue_per_partner",
           definition="For each partner, the total amount of its won deals."),
    Metric(key="average_revenue_per_partner", label="Average revenue per partner",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=f"{_DEALS}:average_revenue_per_partner",
           definition="The total amount of won deals divided by the number of partners."),
)

FINANCIAL_METRICS = (
    Metric(key="company_revenue_share", label="Share of company revenue",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=_FINANCE,
           definition="Revenue won through partners (sourced and influenced) divided by the company's "
                      "total revenue of the same months."),
    Metric(key="sourced_company_revenue_share", label="Sourced share of company revenue",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.REVENUE,
           indicator=Indicator.LAGGING, source=_FINANCE,
           definition="Partner-sourced revenue divided by the company's total revenue of the same months."),
    Metric(key="partnership_costs", label="Partnership costs",
           unit=Unit.CURRENCY, direction=Direction.LOWER, category=Category.COSTS,
           indicator=Indicator.LAGGING, source=_FINANCE,
           definition="What the partnership cost in the period's months: fees, enablement, market "
                      "development funds and other costs recorded for the partner."),
    Metric(key="margin_contribution", label="Margin contribution",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.COSTS,
           indicator=Indicator.LAGGING, source=_FINANCE,
           definition="Revenue won through the partner minus the partnership costs of the same period: "
                      "what the partner contributes once its costs are paid."),
    Metric(key="cac_per_partner", label="CAC per partner",
           unit=Unit.CURRENCY, direction=Direction.LOWER, category=Category.COSTS,
           indicator=Indicator.LAGGING, source=_FINANCE, packs=(Family.SAAS,),
           definition="Customer acquisition cost through the partner: partnership costs of the period "
                      "divided by the new customers won through the partner (won deals) in it."),
    Metric(key="cost_per_partner_dollar", label="Cost per partner dollar",
           unit=Unit.FACTOR, direction=Direction.LOWER, category=Category.COSTS,
           indicator=Indicator.LAGGING, source=_FINANCE,
           definition="Partnership costs divided by the revenue won through the partner: what each "
                      "dollar of partner revenue cost."),
    Metric(key="pltv", label="Partner lifetime value",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.COSTS,
           indicator=Indicator.LAGGING, source=_FINANCE, packs=(Family.SAAS,),
           definition="Total revenue won through the partner since the start, minus every partnership cost "
                      "recorded, minus the length of the partnership in years times the yearly cost of "
                      "running a partnership (a parameter), as of the end of the period."),
    Metric(key="payment_timeliness", label="Payment timeliness",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.INVOICES,
           indicator=Indicator.LAGGING, source=_FINANCE,
           definition="Of the invoices due in the period that are settled or overdue, the share paid on or "
                      "before the due date."),
    Metric(key="invoice_accuracy", label="Invoice accuracy",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.INVOICES,
           indicator=Indicator.LAGGING, source=_FINANCE,
           definition="Invoices issued in the period that were neither disputed nor corrected, divided by "
                      "all invoices issued in it."),
    Metric(key="upsell_rate", label="Upsell / cross-sell rate",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.CUSTOMERS,
           family=Family.FINANCIAL, indicator=Indicator.LAGGING, source=_FINANCE,
           definition="Customer accounts the partner manages with an upsell or cross-sell in the period, "
                      "divided by the accounts that were its customers during the period."),
)
# fmt: on
