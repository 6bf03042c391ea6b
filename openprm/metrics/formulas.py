"""Engagement metrics as pure functions over plain data (no Django, no database).

Callers (``metrics.selectors``) load one partner's daily rollup cells — ``(day, metric) → value``,
metric names as documented in ``activity.rollups`` — and the paired intervals (reply, ticket resolution)
that ended in the period, and pass them here. What each result field means, and how it reads, is in
``metrics.catalog`` (one entry per :class:`Engagement` field; a test holds the two together).

Conventions:

* A period is a range of whole UTC days, both ends included.
* Counts are ``int``; ratios are Decimals in [0, 1] rounded to 4 places (ROUND_HALF_UP); a rate over
  30 days is a Decimal rounded to 2 places; durations are seconds (``float``, an exact median).
* A metric without a meaningful value (a rate with nothing to divide by) is ``None``, never 0.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from openprm.metrics.periods import Period

Cells = Mapping[tuple[datetime.date, str], Decimal]
"""One partner's rollup cells: (day, metric) → value."""

RATIO_PLACES = Decimal("0.0001")
RATE_PLACES = Decimal("0.01")
CONVERSION_KINDS = ("signup", "purchase")
"""Conversions that count against clicks (recurring payments and refunds follow an earlier one)."""
HISTORY_METRICS = (
    "contact",
    "events.certification_earned",
    "events.certification_expired",
    "content.followers",
)
"""Metrics whose value depends on days before the period (last contact, certifications, audience)."""


@dataclass(frozen=True)
class Engagement:
    """Engagement of one partner in one period."""

    period: Period
    last_contact: datetime.date | None
    contacts: int
    contact_frequency: Decimal  # contact events per 30 days
    # reply times: medians of replies paired within a conversation (``activity.pairing``: in_reply_to,
    # thread_id, else the gap rule — never the next conversation's opening message)
    reply_partner_seconds: float | None  # median: the partner answering us
    reply_vendor_seconds: float | None  # median: us answering the partner
    logins: int
    downloads: int
    trainings_started: int
    trainings_completed: int
    training_completion_rate: Decimal | None
    active_certifications: int
    tickets_opened: int
    tickets_resolved: int
    ticket_resolution_seconds: float | None  # median
    meetings: int
    deliverables_due: int
    deliverables_approved: int
    campaign_completion_rate: Decimal | None
    deliverables_on_time: int
    deliverables_late: int
    on_time_delivery_rate: Decimal | None
    clicks: int
    conversions: int
    conversion_rate: Decimal | None
    reach: Decimal
    impressions: Decimal
    engagements: Decimal
    engagement_rate: Decimal | None
    followers_start: Decimal | None
    followers_end: Decimal | None
    audience_growth: Decimal | None


# --------------------------------------------------------------------------------------------- helpers


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator rounded to 4 places; None when the denominator is not positive."""
    if denominator <= 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def total(cells: Cells, metric: str, period: Period) -> Decimal:
    """The sum of a metric's cells over the period."""
    return sum((v for (day, name), v in cells.items() if name == metric and day in period), Decimal(0))


def count(cells: Cells, metric: str, period: Period) -> int:
    return int(total(cells, metric, period))


def median_seconds(values: Iterable[int]) -> float | None:
    """The exact median of durations in seconds; None when there is none."""
    found = sorted(values)
    return float(statistics.median(found)) if found else None


# --------------------------------------------------------------------------------------------- metrics


def last_contact(cells: Cells, *, end: datetime.date) -> datetime.date | None:
    """Last contact: the latest day, up to the end of the period, with a communication event with the
    partner in either direction (meetings, calls, e-mails; not internal notes). Leading indicator."""
    days = [day for (day, name), v in cells.items() if name == "contact" and v > 0 and day <= end]
    return max(days, default=None)


def per_30_days(number: int | Decimal, period: Period) -> Decimal:
    """Communication frequency: contact events per 30 days of the period. Leading indicator."""
    return (Decimal(number) * 30 / period.days).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def active_certifications(cells: Cells, *, end: datetime.date) -> int:
    """Active certifications: certifications earned minus certifications expired, over the partner's
    whole history up to the end of the period (never below 0). Leading indicator."""
    earned = sum((v for (d, n), v in cells.items() if n == "events.certification_earned" and d <= end), 0)
    expired = sum((v for (d, n), v in cells.items() if n == "events.certification_expired" and d <= end), 0)
    return max(0, int(earned - expired))


def audience(cells: Cells, period: Period) -> tuple[Decimal | None, Decimal | None]:
    """Followers at the start and at the end of the period (the ``content.followers`` gauge).

    At the end: the latest value reported on or before the last day. At the start: the latest value
    reported before the first day, or — for an audience first reported inside the period — the first one
    reported in it.
    """
    series = sorted((day, v) for (day, name), v in cells.items() if name == "content.followers")
    before = [v for day, v in series if day < period.start]
    inside = [v for day, v in series if day in period]
    at_end = [v for day, v in series if day <= period.end]
    start = before[-1] if before else (inside[0] if inside else None)
    return start, (at_end[-1] if at_end else None)


def audience_growth(cells: Cells, period: Period) -> Decimal | None:
    """Audience growth: followers at the end of the period minus followers at its start. Lagging."""
    start, end = audience(cells, period)
    return None if start is None or end is None else end - start


def engagement(cells: Cells, intervals: Mapping[str, Sequence[int]], period: Period) -> Engagement:
    """Every engagement metric of one partner in the period.

    ``cells``: the partner's rollup cells of the period, plus the HISTORY_METRICS cells before it;
    ``intervals``: kind (``reply.partner``, ``reply.vendor``, ``ticket.resolved``) → the seconds of the
    intervals that ended in the period.
    """

    def n(metric: str) -> int:
        return count(cells, metric, period)

    contacts = n("contact")
    started, completed = n("events.training_started"), n("events.training_completed")
    due, approved = n("events.campaign_deliverable_due"), n("events.campaign_deliverable_approved")
    on_time, late = n("deliverable.on_time"), n("deliverable.late")
    clicks = n("clicks")
    conversions = sum(n(f"conversions.{kind}") for kind in CONVERSION_KINDS)
    impressions = total(cells, "content.impressions", period)
    engagements = total(cells, "content.engagements", period)
    followers_start, followers_end = audience(cells, period)
    return Engagement(
        period=period,
        last_contact=last_contact(cells, end=period.end),
        contacts=contacts,
        contact_frequency=per_30_days(contacts, period),
        reply_partner_seconds=median_seconds(intervals.get("reply.partner", ())),
        reply_vendor_seconds=median_seconds(intervals.get("reply.vendor", ())),
        logins=n("events.portal_login"),
        downloads=n("events.resource_download"),
        trainings_started=started,
        trainings_completed=completed,
        training_completion_rate=ratio(completed, started),
        active_certifications=active_certifications(cells, end=period.end),
        tickets_opened=n("events.support_ticket_opened"),
        tickets_resolved=n("events.support_ticket_resolved"),
        ticket_resolution_seconds=median_seconds(intervals.get("ticket.resolved", ())),
        meetings=n("events.meeting"),
        deliverables_due=due,
        deliverables_approved=approved,
        campaign_completion_rate=ratio(approved, due),
        deliverables_on_time=on_time,
        deliverables_late=late,
        on_time_delivery_rate=ratio(on_time, on_time + late),
        clicks=clicks,
        conversions=conversions,
        conversion_rate=ratio(conversions, clicks),
        reach=total(cells, "content.reach", period),
        impressions=impressions,
        engagements=engagements,
        engagement_rate=ratio(engagements, impressions),
        followers_start=followers_start,
        followers_end=followers_end,
        audience_growth=audience_growth(cells, period),
    )


def weekly_activity(cells: Cells, *, end: datetime.date, weeks: int) -> list[int]:
    """Events per week (weeks start on Monday), oldest first, for the ``weeks`` weeks up to the one
    holding ``end`` (that week only up to ``end``)."""
    last_monday = end - datetime.timedelta(days=end.weekday())
    first_monday = last_monday - datetime.timedelta(weeks=weeks - 1)
    buckets = [0] * weeks
    for (day, name), value in cells.items():
        if name.startswith("events.") and first_monday <= day <= end:
            buckets[(day - first_monday).days // 7] += int(value)
    return buckets


def sparkline(values: Sequence[int | float], *, width: int = 240, height: int = 40, pad: int = 2) -> str:
    """SVG polyline points drawing ``values`` left to right in a ``width`` × ``height`` box ("" if none).

    The lowest line is the box's bottom; an all-zero series is a flat line at the bottom."""
    if not values:
        return ""
    top = max(max(values), 1)
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = []
    for i, value in enumerate(values):
        x = pad + i * step
        y = height - pad - (height - 2 * pad) * (value / top)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def active_share(
    last_qualifying: Mapping[int, datetime.date | None],
    partners: Iterable[int],
    *,
    as_of: datetime.date,
    window_days: int,
) -> tuple[int, int, Decimal | None]:
    """Active-partner share: the partners of the program with a qualifying activity (per the event-type
    catalog) within the program's active window ending on ``as_of``, divided by all the program's
    partners. Leading indicator.

    ``last_qualifying``: partner → the latest day with a qualifying event (on or before ``as_of``).
    Returns (active, total, share).
    """
    since = as_of - datetime.timedelta(days=window_days - 1)
    ids = set(partners)
    active = sum(1 for p in ids if (day := last_qualifying.get(p)) is not None and since <= day <= as_of)
    return active, len(ids), ratio(active, len(ids))
