"""Relationship-health metrics: satisfaction (NPS, satisfaction index, CSAT), churn risk and the other
relationship figures."""

from __future__ import annotations

from openprm.metrics.catalog.base import Category, Direction, Indicator, Metric, Unit

_HEALTH = "openprm.metrics.kpis.health:FORMULAS"

# A table, one metric per entry, its fields in the same order everywhere (the formatter leaves it be).
# fmt: off
HEALTH_METRICS = (
    Metric(key="nps", label="NPS",
           unit=Unit.SCORE, direction=Direction.HIGHER, category=Category.SATISFACTION,
           indicator=Indicator.LEADING, source=_HEALTH,
           definition="Net promoter score of the partner's survey answers in the period: the percentage of "
                      "promoters (9 or 10) minus the percentage of detractors (0 to 6), from -100 to 100."),
    Metric(key="partner_satisfaction", label="Partner satisfaction index",
           unit=Unit.SCORE, direction=Direction.HIGHER, category=Category.SATISFACTION,
           indicator=Indicator.LEADING, source=_HEALTH,
           definition="The mean score of the partner's satisfaction survey answers in the period, on the "
                      "survey's own scale."),
    Metric(key="churn_risk", label="Churn risk",
           unit=Unit.RATIO, direction=Direction.LOWER, category=Category.RELATIONSHIP,
           indicator=Indicator.LEADING, source=_HEALTH,
           definition="The probability that the partner leaves the program, from the churn model. "
                      "Placeholder: until a churn model is built into the product, this metric always "
                      "reads no data."),
    Metric(key="collaboration_frequency", label="Collaboration frequency",
           unit=Unit.PER_30_DAYS, direction=Direction.HIGHER, category=Category.RELATIONSHIP,
           indicator=Indicator.LEADING, source=_HEALTH,
           definition="Joint work with the partner (by default meetings and calls; a parameter) per 30 "
                      "days of the period."),
    Metric(key="contract_compliance", label="Contract compliance",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.RELATIONSHIP,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="Whether the partner has an active agreement in force at the end of the period "
                      "(started, not expired or terminated): 100% or 0% for one partner, the share of "
                      "partners for a set."),
    Metric(key="disputes_resolved", label="Disputes resolved",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.RELATIONSHIP,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="Of the invoices issued in the period that the partner disputed, the share that was "
                      "corrected."),
    Metric(key="retention", label="Retention",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.CUSTOMERS,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="Customer accounts managed by the partner at the start of the period that are still "
                      "customers at its end, divided by the accounts at the start."),
    Metric(key="customer_accounts", label="Customer accounts",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CUSTOMERS,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="Customer accounts the partner manages at the end of the period."),
    Metric(key="tier_progression", label="Tier progression",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.RELATIONSHIP,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="How many tier ranks the partner moved up (or down, negative) in its programs during "
                      "the period, from the dated tier history (joining or leaving a program is no move)."),
    Metric(key="csat_partner", label="CSAT of partner accounts",
           unit=Unit.SCORE, direction=Direction.HIGHER, category=Category.SATISFACTION,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="The mean customer satisfaction score (1 to 5) of the answers in the period from "
                      "accounts the partner manages."),
    Metric(key="csat_direct", label="CSAT of direct accounts",
           unit=Unit.SCORE, direction=Direction.NEUTRAL, category=Category.SATISFACTION,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="The mean customer satisfaction score (1 to 5) of the answers in the period from "
                      "accounts the company serves directly: the baseline partners are compared with."),
    Metric(key="csat_vs_direct", label="CSAT vs direct",
           unit=Unit.SCORE, direction=Direction.HIGHER, category=Category.SATISFACTION,
           indicator=Indicator.LAGGING, source=_HEALTH,
           definition="The CSAT of the partner's accounts minus the CSAT of direct accounts in the period, "
                      "in points: above 0, the partner's customers are happier than direct ones."),
)
# fmt: on
