"""Reads for the partner portal's own pages, on top of the owning apps' selectors.

The home page's figures are the metric engine's (``metrics.figures``), like every other figure: the
partner's deals in other currencies converted into the workspace's reporting currency at each day's rate,
and the deals no rate converts yet said beside them (never a silent 0). Its recent decisions are the deals
the actor may see (the deals selector applies the scope: a partner's deals, a rep's own registrations).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from openprm.core.actors import Actor
from openprm.deals import selectors as deal_selectors
from openprm.deals.models import ApprovalStatus, Deal
from openprm.metrics import figures as metric_figures
from openprm.metrics.periods import Period
from openprm.partners.models import Partner
from openprm.scorecards import selectors as scorecard_selectors
from openprm.scorecards.scoring import lower_is_better
from openprm.scorecards.selectors import Progress, Scorecard, TierProgress, Trend
from openprm.scorecards.tiers import CriterionCheck

RECENT_DECISIONS = 5
HOME_METRICS = ("open_count", "pipeline_value", "won_revenue")


@dataclass(frozen=True)
class CurrencyFigures:
    """The home cards, in the workspace's reporting ``currency``: the open pipeline today, won revenue
    this calendar year and in the last 365 days."""

    currency: str
    open_count: int
    open_amount: Decimal
    won_this_year: Decimal
    won_last_12_months: Decimal


@dataclass(frozen=True)
class PortalSummary:
    """The partner's figures (None before it has any deal), what they leave out, its latest decisions."""

    main: CurrencyFigures | None
    decisions: list[Deal] = field(default_factory=list)
    year: int = 0
    unconverted: str = ""  # "2 deals in USD not included yet (no exchange rate for …)."


def _money(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal("0.00")


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | Decimal) else 0


def portal_summary(*, actor: Actor, partner: Partner, now: datetime.datetime | None = None) -> PortalSummary:
    """``partner``'s open deals (count and amount), won revenue this calendar year and in the last 365
    days through the metric engine (the year and the 365 days computed together), the deals in other
    currencies no rate converts yet over those 365 days, and the last approvals and rejections."""
    now = now or timezone.now()
    today = now.astimezone(datetime.UTC).date()
    this_year, last_365 = Period(datetime.date(today.year, 1, 1), today), Period.last(365, end=today)
    year_table, recent = metric_figures.metric_series(
        actor=actor,
        keys=HOME_METRICS,
        periods=[this_year, last_365],
        partners=[partner.pk],
        per_partner=False,
    )
    main = None
    if recent.total("open_count").available:
        main = CurrencyFigures(
            currency=metric_figures.reporting_currency(actor.workspace_id),
            open_count=_count(recent.total("open_count").value),
            open_amount=_money(recent.total("pipeline_value").value),
            won_this_year=_money(year_table.total("won_revenue").value),
            won_last_12_months=_money(recent.total("won_revenue").value),
        )
    decisions = list(
        deal_selectors.deal_list(actor=actor)
        .filter(
            approval_status__in=(ApprovalStatus.APPROVED, ApprovalStatus.REJECTED), decided_at__isnull=False
        )
        .order_by("-decided_at", "-id")[:RECENT_DECISIONS]
    )
    return PortalSummary(
        main=main,
        decisions=decisions,
        year=today.year,
        unconverted=metric_figures.unconverted_note(actor=actor, period=last_365, partners=[partner.pk]),
    )


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
