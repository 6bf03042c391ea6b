"""Activity and engagement metrics: communication, portal, enablement, support, campaigns, content,
referrals, activity and program-level figures."""

from __future__ import annotations

from openprm.metrics.catalog.base import Category, Direction, Indicator, Metric, Unit

_ENGAGEMENT = "openprm.metrics.formulas:Engagement"
_REFERRALS = "openprm.activity.selectors.referrals:ReferralTotals"

# A table, one metric per entry, its fields in the same order everywhere (the formatter leaves it be).
# fmt: off
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
