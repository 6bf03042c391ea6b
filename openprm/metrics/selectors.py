"""Metric reads: a partner's engagement in a period and a program's active-partner share.

These read the daily rollups (``PartnerDayMetric``) and the paired intervals (``PairedInterval``) only —
never raw events — and leave the arithmetic to the pure functions in ``metrics.formulas``. The metrics
app is where rollups are read for display (pages and API alike), so every consumer gets the same figures.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Max, Q

from openprm.activity.models import PairedInterval, PartnerDayMetric
from openprm.activity.rollups import workspace_kinds
from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.metrics import formulas
from openprm.partners.models import Partner, PartnerProgram, Program

INTERVAL_KINDS = ("reply.partner", "reply.vendor", "ticket.resolved")
TREND_WEEKS = 26


def _cells(partner: Partner, since: datetime.date, end: datetime.date) -> dict[Any, Decimal]:
    rows = PartnerDayMetric.objects.filter(partner=partner, day__lte=end).filter(
        Q(day__gte=since) | Q(metric__in=formulas.HISTORY_METRICS)
    )
    return {(day, metric): value for day, metric, value in rows.values_list("day", "metric", "value")}


def _intervals(partner: Partner, period: formulas.Period) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    rows = PairedInterval.objects.filter(
        partner=partner, kind__in=INTERVAL_KINDS, day__gte=period.start, day__lte=period.end
    ).values_list("kind", "seconds")
    for kind, seconds in rows:
        found[kind].append(seconds)
    return found


@dataclass(frozen=True)
class PartnerEngagement:
    metrics: formulas.Engagement
    weekly: list[int]  # events per week, oldest first, TREND_WEEKS weeks up to the period's end


def partner_engagement(
    *, actor: Actor, partner: Partner, period: formulas.Period, weeks: int = TREND_WEEKS
) -> PartnerEngagement:
    """The partner's engagement in the period and its weekly activity trend (two queries)."""
    actor.require(Perm.PARTNER_VIEW)
    trend_start = period.end - datetime.timedelta(days=period.end.weekday(), weeks=weeks - 1)
    cells = _cells(partner, min(period.start, trend_start), period.end)
    return PartnerEngagement(
        metrics=formulas.engagement(cells, _intervals(partner, period), period),
        weekly=formulas.weekly_activity(cells, end=period.end, weeks=weeks),
    )


@dataclass(frozen=True)
class ActiveShare:
    program: Program
    as_of: datetime.date
    window_days: int
    active: int
    total: int
    share: Decimal | None


def active_partner_share(
    *, actor: Actor, program: Program, as_of: datetime.date, window_days: int | None = None
) -> ActiveShare:
    """The share of the program's (visible) partners with a qualifying event in its active window
    (``window_days`` days up to ``as_of``; default: the program's ``active_window_days``)."""
    actor.require(Perm.PARTNER_VIEW)
    window = program.active_window_days if window_days is None else window_days
    qualifying = [f"events.{k}" for k, kind in workspace_kinds(actor.workspace_id).items() if kind.qualifying]
    enrolled = PartnerProgram.objects.filter(program=program).values_list("partner_id", flat=True)
    partners = list(enrolled)
    latest = dict(
        PartnerDayMetric.objects.filter(
            partner_id__in=enrolled,
            metric__in=qualifying,
            value__gt=0,
            day__gt=as_of - datetime.timedelta(days=window),
            day__lte=as_of,
        )
        .values("partner_id")
        .annotate(last=Max("day"))
        .values_list("partner_id", "last")
    )
    active, total, share = formulas.active_share(latest, partners, as_of=as_of, window_days=window)
    return ActiveShare(program, as_of, window, active, total, share)
