"""The metric catalog: every figure the product computes, with the words and units users read.

One entry per metric — key, label, unit, direction, definition, category, leading/lagging — and nothing
else says what a metric is called or means: the engagement API schema and the engagement panel take
their field descriptions, labels and value formats from here, and tests hold the formulas and this
catalog to each other (a formula field without an entry fails, and so does an entry without a formula).

``source`` names where the product computes a metric today (``module:Name[.field]``, a pure function or
a field of a pure function's result). The metric engine computes every entry that has a formula in
``metrics.kpis`` from its declared inputs; an entry without one says on which page it is shown
(``shown_on``). Each entry also carries its formula in words (``FORMULA_TEXTS``), the data it needs, its
family (financial, engagement, relationship health) and the vertical packs (SaaS, influencer, retail) it
belongs to; the glossary page (``/metrics/glossary/``) lists them all.

Look a metric up with :func:`metric`; an unknown key raises :class:`UnknownMetricError`, naming the
closest keys, rather than a bare ``KeyError``.

The entries live in one module per family — ``financial`` (pipeline, revenue, finance), ``engagement``,
``health`` and ``verticals`` (the SaaS and retail packs) — on the vocabulary of ``base``; this module
gathers them into :data:`METRICS` and keeps every name importable from ``openprm.metrics.catalog``.
"""

from __future__ import annotations

import dataclasses
import difflib

from openprm.metrics.catalog.base import (
    CATEGORY_FAMILY,
    FAMILY_LABELS,
    KEY,
    UNIT_NOTES,
    Category,
    Direction,
    Family,
    Indicator,
    Metric,
    Unit,
    UnknownMetricError,
)
from openprm.metrics.catalog.engagement import ENGAGEMENT_METRICS, PROGRAM_METRICS, REFERRAL_METRICS
from openprm.metrics.catalog.financial import FINANCIAL_METRICS, PIPELINE_METRICS, REVENUE_METRICS
from openprm.metrics.catalog.health import HEALTH_METRICS
from openprm.metrics.catalog.verticals import VERTICAL_METRICS

__all__ = [
    "CATEGORY_FAMILY",
    "ENGAGEMENT_METRICS",
    "FAMILY_LABELS",
    "FINANCIAL_METRICS",
    "FORMULA_TEXTS",
    "HEALTH_METRICS",
    "KEY",
    "METRICS",
    "PACKS",
    "PIPELINE_METRICS",
    "PROGRAM_METRICS",
    "REFERRAL_METRICS",
    "REVENUE_METRICS",
    "SHOWN_ON",
    "UNIT_NOTES",
    "VERTICAL_METRICS",
    "Category",
    "Direction",
    "Family",
    "Indicator",
    "Metric",
    "Unit",
    "UnknownMetricError",
    "metric",
]

# The formula of each entry in words (what the glossary shows next to the definition).
FORMULA_TEXTS: dict[str, str] = {
    "pipeline_value": "Σ amount of open deals at the end of the period",
    "weighted_pipeline": "Σ (amount × stage win probability) of open deals at the end of the period",
    "win_rate": "won deals ÷ (won deals + lost deals), closed in the period",
    "average_won_deal_size": "Σ amount of deals won ÷ number of deals won",
    "time_to_close_days": "Σ (close day − registration day) of deals won ÷ deals won with both days",
    "sales_velocity": "open deals × win rate × average won deal size ÷ average days to close",
    "average_open_deal_age_days": "mean of (today − registration day) over open deals",
    "time_in_stage": "mean and median days between entering and leaving each stage",
    "open_count": "count of open deals at the end of the period",
    "won_count": "count of deals won in the period",
    "lost_count": "count of deals lost in the period",
    "deal_count": "count of deals registered in the period",
    "stalled_deals": "count of open deals without a stage change within the stage's stall threshold",
    "deals_closing_this_month": "count of open deals with an expected close date this month",
    "overdue_close_dates": "count of open deals with an expected close date before today",
    "overdue_approvals": "count of registrations pending past their decision due time",
    "won_revenue": "Σ amount of deals won in the period",
    "sourced_revenue": "Σ amount of partner-sourced deals won in the period",
    "influenced_revenue": "Σ amount of partner-influenced deals won in the period",
    "sourced_share": "sourced revenue ÷ won revenue",
    "influenced_share": "influenced revenue ÷ won revenue",
    "revenue_per_partner": "won revenue ÷ number of partners",
    "average_revenue_per_partner": "won revenue ÷ number of partners",
    "last_contact": "max day ≤ period end with a contact event",
    "contacts": "count of contact events in the period",
    "contact_frequency": "contact events × 30 ÷ days in the period",
    "reply_partner_seconds": "median seconds from our message to the partner's reply",
    "reply_vendor_seconds": "median seconds from the partner's message to our reply",
    "meetings": "count of meeting events in the period",
    "logins": "count of portal_login events in the period",
    "downloads": "count of resource_download events in the period",
    "trainings_started": "count of training_started events in the period",
    "trainings_completed": "count of training_completed events in the period",
    "training_completion_rate": "trainings completed ÷ trainings started",
    "active_certifications": "certifications earned − certifications expired, up to the period end",
    "tickets_opened": "count of support_ticket_opened events in the period",
    "tickets_resolved": "count of support_ticket_resolved events in the period",
    "ticket_resolution_seconds": "median seconds from opening to resolution, tickets resolved in the period",
    "deliverables_due": "count of campaign_deliverable_due events in the period",
    "deliverables_approved": "count of campaign_deliverable_approved events in the period",
    "campaign_completion_rate": "deliverables approved ÷ deliverables due",
    "deliverable_quality": "deliverables approved ÷ deliverables submitted",
    "deliverables_on_time": "count of deliverables submitted by their due time",
    "deliverables_late": "count of deliverables submitted after their due time",
    "on_time_delivery_rate": "deliverables on time ÷ (on time + late)",
    "clicks": "count of tracking-link clicks in the period",
    "conversions": "count of accepted signups + purchases in the period",
    "conversion_rate": "conversions ÷ clicks",
    "reach": "Σ reach of content posts in the period",
    "impressions": "Σ impressions of content posts in the period",
    "engagements": "Σ engagements of content posts in the period",
    "engagement_rate": "engagements ÷ impressions",
    "followers_start": "followers reported last before the period (else first in it)",
    "followers_end": "followers reported last on or before the period end",
    "audience_growth": "followers at the end − followers at the start",
    "weekly_activity": "count of events per week, 26 weeks up to the period end",
    "referral_conversions": "count of accepted signups, purchases and recurring payments",
    "net_referral_revenue": "Σ accepted purchases and recurring payments − Σ accepted refunds",
    "active_partners": "count of partners with a qualifying event within the active window before the end",
    "enrolled_partners": "count of partners",
    "active_partner_share": "active partners ÷ partners",
    "company_revenue_share": "won revenue ÷ company revenue",
    "sourced_company_revenue_share": "sourced revenue ÷ company revenue",
    "partnership_costs": "Σ costs (fees + enablement + MDF + other) of the period's months",
    "margin_contribution": "won revenue − partnership costs",
    "cac_per_partner": "partnership costs ÷ deals won",
    "cost_per_partner_dollar": "partnership costs ÷ won revenue",
    "pltv": "revenue won to date − costs to date − years of partnership × yearly partnership cost",
    "payment_timeliness": "invoices paid on time ÷ (paid on time + paid late + overdue unpaid)",
    "invoice_accuracy": "invoices neither disputed nor corrected ÷ invoices issued",
    "upsell_rate": "accounts with an upsell or cross-sell ÷ (accounts at the start + new accounts)",
    "nps": "(promoters − detractors) ÷ survey responses × 100",
    "partner_satisfaction": "Σ survey scores ÷ survey responses",
    "churn_risk": "the churn model's probability (no churn model yet)",
    "collaboration_frequency": "collaboration events × 30 ÷ days in the period",
    "contract_compliance": "partners with an agreement in force at the period end ÷ partners",
    "disputes_resolved": "disputed invoices corrected ÷ disputed invoices",
    "retention": "accounts at the start still active at the end ÷ accounts at the start",
    "customer_accounts": "count of managed accounts active at the period end",
    "tier_progression": "tier rank at the period end − tier rank at its start",
    "csat_partner": "Σ CSAT scores ÷ CSAT answers, partner-managed accounts",
    "csat_direct": "Σ CSAT scores ÷ CSAT answers, direct accounts",
    "csat_vs_direct": "CSAT of partner accounts − CSAT of direct accounts",
    "feature_adoption": "Σ features used ÷ Σ features available",
    "active_users": "Σ active users of each account's latest month in the period",
    "units_sold": "Σ units sold",
    "sellthrough_revenue": "Σ units sold × price charged",
    "sell_through_rate": "units sold ÷ (units sold + units on hand at the last report)",
    "inventory_turnover": "units sold ÷ average units on hand",
    "pricing_compliance": "lines priced ≥ list × (1 − tolerance) ÷ lines",
    "regional_performance": "Σ units and Σ revenue of sell-through lines, by region",
}

# Entries shown elsewhere than through the metric engine: the page that shows them.
SHOWN_ON: dict[str, str] = {
    "average_open_deal_age_days": "the pipeline summary of the program and partner pages",
    "time_in_stage": "the pipeline review (deals, by stage)",
    "stalled_deals": "the pipeline review",
    "deals_closing_this_month": "the pipeline review",
    "overdue_close_dates": "the pipeline review",
    "overdue_approvals": "the pipeline review",
    "weekly_activity": "the partner page's engagement panel (a 26-week trend)",
    "referral_conversions": "the referrals page (by partner)",
    "net_referral_revenue": "the referrals page (by partner)",
}

# Vertical packs an existing entry also belongs to.
PACKS: dict[str, tuple[Family, ...]] = {
    "reach": (Family.INFLUENCER,),
    "impressions": (Family.INFLUENCER,),
    "engagements": (Family.INFLUENCER,),
    "engagement_rate": (Family.INFLUENCER,),
    "audience_growth": (Family.INFLUENCER,),
    "conversions": (Family.INFLUENCER,),
    "tickets_opened": (Family.SAAS,),
    "ticket_resolution_seconds": (Family.SAAS,),
}


def _registry(*groups: tuple[Metric, ...]) -> dict[str, Metric]:
    registry: dict[str, Metric] = {}
    for entry in (m for group in groups for m in group):
        if entry.key in registry:
            raise ValueError(f"metric {entry.key!r} is catalogued twice")
        registry[entry.key] = dataclasses.replace(
            entry,
            formula=entry.formula or FORMULA_TEXTS.get(entry.key, ""),
            shown_on=entry.shown_on or SHOWN_ON.get(entry.key, ""),
            packs=entry.packs or PACKS.get(entry.key, ()),
        )
    return registry


METRICS: dict[str, Metric] = _registry(
    PIPELINE_METRICS,
    REVENUE_METRICS,
    ENGAGEMENT_METRICS,
    REFERRAL_METRICS,
    PROGRAM_METRICS,
    FINANCIAL_METRICS,
    HEALTH_METRICS,
    VERTICAL_METRICS,
)
"""Every metric the product computes, by key."""


def metric(key: str) -> Metric:
    """The catalogued metric ``key``: its label, unit, direction and definition."""
    try:
        return METRICS[key]
    except KeyError:
        close = difflib.get_close_matches(key, METRICS, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownMetricError(f"No metric {key!r} in the catalog.{hint}") from None
