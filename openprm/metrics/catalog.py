"""The metric catalog: every figure the product computes, with the words and units users read.

One entry per metric — key, label, unit, direction, definition, category, leading/lagging — and nothing
else says what a metric is called or means: the engagement API schema and the engagement panel take
their field descriptions, labels and value formats from here, and tests hold the formulas and this
catalog to each other (a formula field without an entry fails, and so does an entry without a formula).

``source`` names where the product computes a metric today (``module:Name[.field]``, a pure function or
a field of a pure function's result). Issue 11's metric engine turns that into a formula with declared
inputs; it adds fields to :class:`Metric` (with defaults, so the entries below keep reading the same).

Look a metric up with :func:`metric`; an unknown key raises :class:`UnknownMetricError`, naming the
closest keys, rather than a bare ``KeyError``.
"""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        if not KEY.match(self.key):
            raise ValueError(f"metric key {self.key!r}: lower-case letters, digits and underscores")
        if not self.label or not self.label[0].isupper():
            raise ValueError(f"{self.key}: the label starts with a capital letter")
        if not self.definition.endswith(".") or not self.definition[0].isupper():
            raise ValueError(f"{self.key}: the definition is a sentence (capital letter, full stop)")
        if ":" not in self.source:
            raise ValueError(f"{self.key}: the source reads module:Name")

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
           definition="Meetings with the partner in the period."),
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


def _registry(*groups: tuple[Metric, ...]) -> dict[str, Metric]:
    registry: dict[str, Metric] = {}
    for entry in (m for group in groups for m in group):
        if entry.key in registry:
            raise ValueError(f"metric {entry.key!r} is catalogued twice")
        registry[entry.key] = entry
    return registry


METRICS: dict[str, Metric] = _registry(
    PIPELINE_METRICS, REVENUE_METRICS, ENGAGEMENT_METRICS, REFERRAL_METRICS, PROGRAM_METRICS
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
