"""Reads for the partner portal's own pages, on top of the owning apps' selectors.

The home page's figures are aggregates computed by the database over the deals the actor may see (the
deals selector applies the scope: a partner's deals, a rep's own registrations); no deal is loaded into
Python to be counted or summed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.deals import selectors as deal_selectors
from openprm.deals.models import ApprovalStatus, Deal, Outcome
from openprm.metrics.periods import Period
from openprm.partners.models import Partner
from openprm.scorecards import selectors as scorecard_selectors
from openprm.scorecards.scoring import lower_is_better
from openprm.scorecards.selectors import Progress, Scorecard, TierProgress, Trend
from openprm.scorecards.tiers import CriterionCheck

RECENT_DECISIONS = 5
# Registrations that may still become business: waiting for a decision, or approved and not closed.
LIVE_APPROVALS = (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO, ApprovalStatus.APPROVED)


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    open_count: int
    open_amount: Decimal
    won_this_year: Decimal
    won_last_12_months: Decimal


@dataclass(frozen=True)
class PortalSummary:
    """The partner's figures per currency (most open deals first) and its latest decisions."""

    figures: list[CurrencyFigures]
    decisions: list[Deal] = field(default_factory=list)
    year: int = 0

    @property
    def main(self) -> CurrencyFigures | None:
        return self.figures[0] if self.figures else None

    @property
    def others(self) -> list[CurrencyFigures]:
        return self.figures[1:]


def portal_summary(*, actor: Actor, now: datetime.datetime | None = None) -> PortalSummary:
    """Open deals (count and amount), won revenue this calendar year and in the last 12 months, and
    the last approvals and rejections: one grouped aggregate query plus one short list."""
    now = now or timezone.now()
    local_now = timezone.localtime(now)
    year_start = local_now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    twelve_months_ago = now - datetime.timedelta(days=365)
    deals = deal_selectors.deal_list(actor=actor)
    is_open = Q(stage__outcome=Outcome.OPEN, approval_status__in=LIVE_APPROVALS)
    won = Q(stage__outcome=Outcome.WON, approval_status=ApprovalStatus.APPROVED)
    zero = Decimal("0.00")
    rows = (
        deals.order_by()
        .values("currency")
        .annotate(
            open_count=Count("id", filter=is_open),
            open_amount=Sum("amount", filter=is_open),
            won_this_year=Sum("amount", filter=won & Q(closed_at__gte=year_start)),
            won_last_12_months=Sum("amount", filter=won & Q(closed_at__gte=twelve_months_ago)),
        )
        .filter(Q(open_count__gt=0) | Q(won_last_12_months__gt=0) | Q(won_this_year__gt=0))
    )
    figures = sorted(
        (
            CurrencyFigures(
                currency=row["currency"],
                open_count=row["open_count"],
                open_amount=row["open_amount"] or zero,
                won_this_year=row["won_this_year"] or zero,
                won_last_12_months=row["won_last_12_months"] or zero,
            )
            for row in rows
        ),
        key=lambda f: (-f.open_count, -f.won_last_12_months, f.currency),
    )
    decisions = list(
        deals.filter(
            approval_status__in=(ApprovalStatus.APPROVED, ApprovalStatus.REJECTED), decided_at__isnull=False
        ).order_by("-decided_at", "-id")[:RECENT_DECISIONS]
    )
    return PortalSummary(figures=figures, decisions=decisions, year=local_now.year)


# --- performance ------------------------------------------------------------------------------------------
# The partner's own scorecard, targets, tier progress, trends and rank band, read from the scorecards
# selectors (which read the metric engine). Peers only ever reach this page as the rank band: no other
# partner's name, figure or id. Metrics that read internal figures (partnership costs, the company's
# revenue: ``figures.staff_only``) are kept from partner users by the scorecards selectors themselves: a
# scored one keeps its place without value, target or points (``Scorecard.withheld``), a tier criterion on
# one reads met or not met only, and a target on one is never listed.

PERFORMANCE_TRENDS = ("won_revenue", "pipeline_value", "win_rate", "deal_count", "logins", "contacts")


@dataclass(frozen=True)
class TierStep:
    """One criterion of a tier with how far along the partner is (0–100, 100 when met)."""

    check: CriterionCheck
    percent: int


@dataclass(frozen=True)
class Performance:
    partner: Partner
    period: Period
    card: Scorecard
    tier: TierProgress
    next_steps: list[TierStep]  # the next tier's criteria
    keep_steps: list[TierStep]  # the current tier's criteria
    trends: list[Trend]
    targets: list[Progress]

    @property
    def gaps(self) -> int:
        return sum(1 for s in self.next_steps if not s.check.met)


def step_percent(check: CriterionCheck) -> int:
    """How much of a criterion's minimum is reached, 0–100 (for a lower-is-better metric: the minimum ÷
    the value); 100 only when it is met."""
    if check.met:
        return 100
    if check.value is None or check.minimum is None:
        return 0
    value = Decimal(str(check.value))
    if lower_is_better(check.metric):
        share = check.minimum / value if value > 0 else Decimal(1)
    else:
        share = value / check.minimum if check.minimum > 0 else Decimal(1)
    return max(0, min(99, int(share * 100)))


def performance(
    *, actor: Actor, partner: Partner, period: Period, today: datetime.date | None = None
) -> Performance:
    """The partner's performance over ``period`` as its own users see it. Targets are those in force on
    the period's last day (or today, for the current period): that month's, quarter's and year's."""
    today = today or timezone.now().astimezone(datetime.UTC).date()
    card, tier = scorecard_selectors.scorecard_with_progress(actor=actor, partner=partner, period=period)
    trends = scorecard_selectors.trends(actor=actor, partner=partner, period=period, keys=PERFORMANCE_TRENDS)
    day = min(period.end, today)
    periods = [Period.month_of(day), Period.quarter_of(day), Period.year(day.year)]
    targets = scorecard_selectors.partner_targets(actor=actor, partner=partner, periods=periods, today=today)
    return Performance(
        partner=partner,
        period=period,
        card=card,
        tier=tier,
        next_steps=[TierStep(c, step_percent(c)) for c in tier.next_checks],
        keep_steps=[TierStep(c, step_percent(c)) for c in tier.current_checks],
        trends=trends,
        targets=targets,
    )
