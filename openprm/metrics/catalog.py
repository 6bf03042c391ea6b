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
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from enum import StrEnum

KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class Unit(StrEnum):
    """What a value counts, which decides how it is shown (see ``metrics.display``)."""

    COUNT = "count"
    CURRENCY = "currency"  # an amount in the workspace's reporting currency (Decimal, cents)
    RATIO = "ratio"  # a Decimal in [0, 1], shown as a percent
    DAYS = "days"
    SECONDS = "seconds"  # a duration, shown as minutes, hours or days
    DATE = "date"  # a UTC day
    PER_30_DAYS = "per_30_days"  # a count per 30 days of the period
    CURRENCY_PER_DAY = "currency_per_day"
    SCORE = "score"  # points on the metric's own scale (NPS −100..100, satisfaction 1..5)
    FACTOR = "factor"  # a plain multiple: cost per revenue dollar, inventory turns

    @property
    def note(self) -> str:
        """How the unit reads in API field descriptions ("" when the type says it all)."""
        return UNIT_NOTES[self]


UNIT_NOTES = {
    Unit.COUNT: "",
    Unit.CURRENCY: "An amount in the reporting currency.",
    Unit.RATIO: "A ratio between 0 and 1, rounded to 4 places.",
    Unit.DAYS: "In days.",
    Unit.SECONDS: "In seconds.",
    Unit.DATE: "A UTC day.",
    Unit.PER_30_DAYS: "Per 30 days, rounded to 2 places.",
    Unit.CURRENCY_PER_DAY: "An amount in the reporting currency per day.",
    Unit.SCORE: "Points on the scale the definition gives.",
    Unit.FACTOR: "A plain multiple, rounded to 2 places.",
}


class Direction(StrEnum):
    """Which way is good news: what a target, a trend arrow or an alert compares against."""

    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"
    NEUTRAL = "neutral"  # volume or context (tickets opened, deliverables due): neither way is better


class Indicator(StrEnum):
    """Leading: moves before the results (activity, pipeline). Lagging: measures results already in."""

    LEADING = "leading"
    LAGGING = "lagging"


class Category(StrEnum):
    PIPELINE = "pipeline"
    REVENUE = "revenue"
    COMMUNICATION = "communication"
    PORTAL = "portal"
    ENABLEMENT = "enablement"
    SUPPORT = "support"
    CAMPAIGN = "campaign"
    CONTENT = "content"
    REFERRALS = "referrals"
    ACTIVITY = "activity"
    PROGRAM = "program"
    COSTS = "costs"
    INVOICES = "invoices"
    CUSTOMERS = "customers"
    SATISFACTION = "satisfaction"
    RELATIONSHIP = "relationship"
    USAGE = "usage"
    SELL_THROUGH = "sell_through"


class Family(StrEnum):
    """The catalog's top-level grouping: the three families of the product brief and the vertical packs
    (a metric belongs to one family and may also appear in packs)."""

    FINANCIAL = "financial"
    ENGAGEMENT = "engagement"
    HEALTH = "health"
    SAAS = "saas"
    INFLUENCER = "influencer"
    RETAIL = "retail"

    @property
    def label(self) -> str:
        return FAMILY_LABELS[self]


FAMILY_LABELS = {
    Family.FINANCIAL: "Financial",
    Family.ENGAGEMENT: "Activity & engagement",
    Family.HEALTH: "Relationship health",
    Family.SAAS: "SaaS pack",
    Family.INFLUENCER: "Influencer pack",
    Family.RETAIL: "Retail & distribution pack",
}

CATEGORY_FAMILY = {
    Category.PIPELINE: Family.FINANCIAL,
    Category.REVENUE: Family.FINANCIAL,
    Category.COSTS: Family.FINANCIAL,
    Category.INVOICES: Family.FINANCIAL,
    Category.COMMUNICATION: Family.ENGAGEMENT,
    Category.PORTAL: Family.ENGAGEMENT,
    Category.ENABLEMENT: Family.ENGAGEMENT,
    Category.SUPPORT: Family.ENGAGEMENT,
    Category.CAMPAIGN: Family.ENGAGEMENT,
    Category.CONTENT: Family.ENGAGEMENT,
    Category.REFERRALS: Family.ENGAGEMENT,
    Category.ACTIVITY: Family.ENGAGEMENT,
    Category.PROGRAM: Family.ENGAGEMENT,
    Category.CUSTOMERS: Family.HEALTH,
    Category.SATISFACTION: Family.HEALTH,
    Category.RELATIONSHIP: Family.HEALTH,
    Category.USAGE: Family.SAAS,
    Category.SELL_THROUGH: Family.RETAIL,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric: what users read about it, and where the product computes it today."""

    key: str  # stable: API field names, saved targets and URLs use it
    label: str  # short, as shown next to the value
    unit: Unit
    direction: Direction
    definition: str  # plain words, one or two sentences, what a user reads in a glossary or a tooltip
    category: Category
    source: str  # module:Name[.field] of the pure function (or its result's field) computing it
    indicator: Indicator | None = None  # None where neither reading is clear
    formula: str = ""  # the formula in words (filled from FORMULA_TEXTS when the entry gives none)
    needs: str = ""  # the data it needs, when the engine's formula does not say (metrics.kpis)
    family: Family | None = None  # default: the family of its category
    packs: tuple[Family, ...] = ()  # vertical packs it also belongs to
    shown_on: str = ""  # for a metric the engine does not compute: where the product shows it

    def __post_init__(self) -> None:
        if not KEY.match(self.key):
            raise ValueError(f"metric key {self.key!r}: lower-case letters, digits and underscores")
        if not self.label or not self.label[0].isupper():
            raise ValueError(f"{self.key}: the label starts with a capital letter")
        if not self.definition.endswith(".") or not self.definition[0].isupper():
            raise ValueError(f"{self.key}: the definition is a sentence (capital letter, full stop)")
        if ":" not in self.source:
            raise ValueError(f"{self.key}: the source reads module:Name")
        if self.family is None:
            object.__setattr__(self, "family", CATEGORY_FAMILY[self.category])

    @property
    def families(self) -> tuple[Family, ...]:
        """Its family, then the packs it appears in."""
        return (self.family or CATEGORY_FAMILY[self.category], *self.packs)

    def describe(self) -> str:
        """The definition with its unit, as API field descriptions give it."""
        return f"{self.definition} {self.unit.note}".strip()


class UnknownMetricError(LookupError):
    """A metric key the catalog does not know (a typo, or a metric not catalogued yet)."""


# --------------------------------------------------------------------------------------------- entries

_DEALS = "openprm.deals.metrics"
_ENGAGEMENT = "openprm.metrics.formulas:Engagement"
_REFERRALS = "openprm.activity.selectors.referrals:ReferralTotals"

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

ENGAGEMENT_METRICS = (
    Metric(key="last_contact", label="Last contact",
           unit=Unit.DATE, direction=Direction.HIGHER, category=Category.COMMUNICATION,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.last_contact",
           definition="The latest day, up to the end of the period, with a communication event with the "
                      "partner in either direction (meetings, calls, e-mails; not internal notes)."),
    Metric(key="contacts", label="Contacts",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.COMMUNICATION,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.contacts",
           definition="Communication events with the partner in the period, in either direction "
                      "(meetings, calls, e-mails; not internal notes)."),
    Metric(key="contact_frequency", label="Contacts / 30 days",
           unit=Unit.PER_30_DAYS, direction=Direction.HIGHER, category=Category.COMMUNICATION,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.contact_frequency",
           definition="Contact events per 30 days of the period."),
    Metric(key="reply_partner_seconds", label="Partner replies in",
           unit=Unit.SECONDS, direction=Direction.LOWER, category=Category.COMMUNICATION,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.reply_partner_seconds",
           definition="Median time the partner takes to answer us, within a conversation: a message's "
                      "in_reply_to or thread_id, else the other side's next message within 7 days unless "
                      "4 days of silence opened a new conversation."),
    Metric(key="reply_vendor_seconds", label="We reply in",
           unit=Unit.SECONDS, direction=Direction.LOWER, category=Category.COMMUNICATION,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.reply_vendor_seconds",
           definition="Median time we take to answer the partner, within a conversation (paired as the "
                      "partner's replies are)."),
    Metric(key="meetings", label="Meetings",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.COMMUNICATION,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.meetings",
           definition="Meetings held with the partner in the period (meeting attendance)."),
    Metric(key="logins", label="Portal logins",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.PORTAL,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.logins",
           definition="Sign-ins of the partner's users to the partner portal in the period."),
    Metric(key="downloads", label="Downloads",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.PORTAL,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.downloads",
           definition="Resources the partner's users downloaded in the period."),
    Metric(key="trainings_started", label="Trainings started",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.ENABLEMENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.trainings_started",
           definition="Trainings the partner's people started in the period."),
    Metric(key="trainings_completed", label="Trainings completed",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.ENABLEMENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.trainings_completed",
           definition="Trainings the partner's people completed in the period."),
    Metric(key="training_completion_rate", label="Training completion",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.ENABLEMENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.training_completion_rate",
           definition="Trainings completed in the period divided by trainings started in it."),
    Metric(key="active_certifications", label="Active certifications",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.ENABLEMENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.active_certifications",
           definition="Certifications earned minus certifications expired, over the partner's whole "
                      "history up to the end of the period (never below 0)."),
    Metric(key="tickets_opened", label="Support tickets",
           unit=Unit.COUNT, direction=Direction.NEUTRAL, category=Category.SUPPORT,
           source=f"{_ENGAGEMENT}.tickets_opened",
           definition="Support tickets the partner opened in the period."),
    Metric(key="tickets_resolved", label="Support tickets resolved",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.SUPPORT,
           source=f"{_ENGAGEMENT}.tickets_resolved",
           definition="Support tickets of the partner resolved in the period."),
    Metric(key="ticket_resolution_seconds", label="Ticket resolution time",
           unit=Unit.SECONDS, direction=Direction.LOWER, category=Category.SUPPORT,
           source=f"{_ENGAGEMENT}.ticket_resolution_seconds",
           definition="Median time from a support ticket's opening to its resolution, over the tickets "
                      "resolved in the period."),
    Metric(key="deliverables_due", label="Campaign deliverables due",
           unit=Unit.COUNT, direction=Direction.NEUTRAL, category=Category.CAMPAIGN,
           source=f"{_ENGAGEMENT}.deliverables_due",
           definition="Campaign deliverables that fell due in the period."),
    Metric(key="deliverables_approved", label="Campaign deliverables approved",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CAMPAIGN,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.deliverables_approved",
           definition="Campaign deliverables approved in the period."),
    Metric(key="campaign_completion_rate", label="Campaign completion",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.CAMPAIGN,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.campaign_completion_rate",
           definition="Campaign deliverables approved in the period divided by those due in it."),
    Metric(key="deliverable_quality", label="Deliverable quality",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.CAMPAIGN,
           indicator=Indicator.LEADING, source="openprm.metrics.kpis.engagement:FORMULAS",
           definition="Campaign deliverables approved in the period divided by those submitted in it: "
                      "the share of the partner's work accepted as delivered."),
    Metric(key="deliverables_on_time", label="Deliverables on time",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CAMPAIGN,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.deliverables_on_time",
           definition="Campaign deliverables submitted by their due time, counted on the day submitted."),
    Metric(key="deliverables_late", label="Deliverables late",
           unit=Unit.COUNT, direction=Direction.LOWER, category=Category.CAMPAIGN,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.deliverables_late",
           definition="Campaign deliverables submitted after their due time, counted on the day "
                      "submitted."),
    Metric(key="on_time_delivery_rate", label="On-time delivery",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.CAMPAIGN,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.on_time_delivery_rate",
           definition="Deliverables submitted on time divided by all deliverables submitted in the "
                      "period."),
    Metric(key="clicks", label="Clicks",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.REFERRALS,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.clicks",
           definition="Clicks on the partner's tracking links in the period."),
    Metric(key="conversions", label="Conversions",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.REFERRALS,
           indicator=Indicator.LAGGING, source=f"{_ENGAGEMENT}.conversions",
           definition="Accepted signups and purchases attributed to the partner in the period (the "
                      "conversions that count against clicks)."),
    Metric(key="conversion_rate", label="Conversion rate",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.REFERRALS,
           indicator=Indicator.LAGGING, source=f"{_ENGAGEMENT}.conversion_rate",
           definition="Conversions divided by clicks in the period."),
    Metric(key="reach", label="Reach",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CONTENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.reach",
           definition="People reached by the partner's content posts in the period, as reported per post."),
    Metric(key="impressions", label="Impressions",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CONTENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.impressions",
           definition="Impressions of the partner's content posts in the period."),
    Metric(key="engagements", label="Engagements",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CONTENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.engagements",
           definition="Engagements (likes, comments, shares) with the partner's content posts in the "
                      "period."),
    Metric(key="engagement_rate", label="Engagement rate",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.CONTENT,
           indicator=Indicator.LEADING, source=f"{_ENGAGEMENT}.engagement_rate",
           definition="Engagements divided by impressions of the partner's content posts in the period."),
    Metric(key="followers_start", label="Audience at start",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CONTENT,
           source=f"{_ENGAGEMENT}.followers_start",
           definition="The partner's audience (followers) at the start of the period: the latest figure "
                      "reported before it, or the first one reported in it."),
    Metric(key="followers_end", label="Audience",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CONTENT,
           source=f"{_ENGAGEMENT}.followers_end",
           definition="The partner's audience (followers) at the end of the period: the latest figure "
                      "reported on or before its last day."),
    Metric(key="audience_growth", label="Audience growth",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.CONTENT,
           indicator=Indicator.LAGGING, source=f"{_ENGAGEMENT}.audience_growth",
           definition="Followers at the end of the period minus followers at its start."),
    Metric(key="weekly_activity", label="Weekly activity",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.ACTIVITY,
           indicator=Indicator.LEADING, source="openprm.metrics.formulas:weekly_activity",
           definition="Events per week (weeks start on Monday), oldest first, for the 26 weeks up to the "
                      "end of the period."),
)

REFERRAL_METRICS = (
    Metric(key="referral_conversions", label="Conversions",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.REFERRALS,
           indicator=Indicator.LAGGING, source=f"{_REFERRALS}.conversions",
           definition="Accepted signups, purchases and recurring payments attributed to the partner (or "
                      "that came through a link), refunds not counted."),
    Metric(key="net_referral_revenue", label="Net revenue",
           unit=Unit.CURRENCY, direction=Direction.HIGHER, category=Category.REFERRALS,
           indicator=Indicator.LAGGING, source=f"{_REFERRALS}.revenue",
           definition="Amounts of accepted purchases and recurring payments attributed to the partner, "
                      "minus accepted refunds."),
)

PROGRAM_METRICS = (
    Metric(key="active_partners", label="Active partners",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.PROGRAM,
           indicator=Indicator.LEADING, source="openprm.metrics.formulas:active_share",
           definition="Partners of the program with a qualifying activity (per the event types) within "
                      "the program's active window."),
    Metric(key="enrolled_partners", label="Enrolled partners",
           unit=Unit.COUNT, direction=Direction.HIGHER, category=Category.PROGRAM,
           source="openprm.metrics.formulas:active_share",
           definition="Partners enrolled in the program."),
    Metric(key="active_partner_share", label="Active-partner share",
           unit=Unit.RATIO, direction=Direction.HIGHER, category=Category.PROGRAM,
           indicator=Indicator.LEADING, source="openprm.metrics.formulas:active_share",
           definition="Active partners divided by all the program's enrolled partners."),
)

# fmt: on

_FINANCE = "openprm.metrics.kpis.finance:FORMULAS"
_HEALTH = "openprm.metrics.kpis.health:FORMULAS"
_VERTICALS = "openprm.metrics.kpis.verticals:FORMULAS"
_FINANCE_INPUTS = "openprm.finance.selectors.metric_inputs"

# fmt: off
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
                      "Placeholder: the churn model comes with issue 12, until then this metric always "
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
                      "the period. Reads no data until tier changes are recorded with their dates."),
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
    "churn_risk": "the churn model's probability (issue 12)",
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
