"""Metric reads: a partner's engagement in a period and a program's active-partner share.

These read the event rollups through ``activity.rollups.read`` only — never raw events — and leave the
arithmetic to the pure functions in ``metrics.formulas``. The metrics app is where rollups are read for
display (pages and API alike), so every consumer gets the same figures.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from decimal import Decimal

from openprm.activity.rollups import read, workspace_kinds
from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.metrics import formulas
from openprm.partners.models import Partner, PartnerProgram, Program

INTERVAL_KINDS = ("reply.partner", "reply.vendor", "ticket.resolved")
TREND_WEEKS = 26
ENGAGEMENT_METRICS = (
    "contact",
    "events.portal_login",
    "events.resource_download",
    "events.training_started",
    "events.training_completed",
    "events.certification_earned",
    "events.certification_expired",
    "events.support_ticket_opened",
    "events.support_ticket_resolved",
    "events.meeting",
    "events.campaign_deliverable_due",
    "events.campaign_deliverable_approved",
    "deliverable.on_time",
    "deliverable.late",
    "clicks",
    *(f"conversions.{kind}" for kind in formulas.CONVERSION_KINDS),
    "content.reach",
    "content.impressions",
    "content.engagements",
    "content.followers",
)
"""The daily figures ``formulas.engagement`` reads."""


def _cells(
    workspace_id: int, partner: Partner, since: datetime.date, end: datetime.date
) -> tuple[dict[tuple[datetime.date, str], Decimal], dict[tuple[datetime.date, str], Decimal]]:
    """The partner's daily cells from ``since`` to ``end`` plus, before ``since``, those of the history
    metrics (last contact, certifications, audience); and apart, the daily event totals (``events.*``)
    for the weekly trend. Two queries."""
    ids = [partner.pk]
    daily = read.sums(
        workspace_id,
        start=since,
        end=end,
        metrics=[*ENGAGEMENT_METRICS, read.ALL_EVENTS],
        partner_ids=ids,
        by="day",
    )
    cells: dict[tuple[datetime.date, str], Decimal] = {}
    totals: dict[tuple[datetime.date, str], Decimal] = {}
    for day, values in daily.items():
        for metric, value in values.items():
            (totals if metric == read.ALL_EVENTS else cells)[(day, metric)] = value
    history = read.sums(  # one row per day with any of them: what the old cell table held
        workspace_id,
        start=datetime.date.min,
        end=since - datetime.timedelta(days=1),
        metrics=formulas.HISTORY_METRICS,
        partner_ids=ids,
        by="day",
    )
    for day, values in history.items():
        for metric, value in values.items():
            cells[(day, metric)] = value
    return cells, totals


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
    cells, totals = _cells(actor.workspace_id, partner, min(period.start, trend_start), period.end)
    found = read.kind_medians(
        actor.workspace_id, kinds=INTERVAL_KINDS, start=period.start, end=period.end, partner_ids=[partner.pk]
    )
    medians = {kind: found.get(kind, {}).get(partner.pk) for kind in INTERVAL_KINDS}
    metrics = dataclasses.replace(
        formulas.engagement(cells, {}, period),
        reply_partner_seconds=medians["reply.partner"],
        reply_vendor_seconds=medians["reply.vendor"],
        ticket_resolution_seconds=medians["ticket.resolved"],
    )
    return PartnerEngagement(
        metrics=metrics, weekly=formulas.weekly_activity(totals, end=period.end, weeks=weeks)
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
    partners = list(PartnerProgram.objects.filter(program=program).values_list("partner_id", flat=True))
    latest = read.last_days(
        actor.workspace_id,
        metrics=qualifying,
        on_or_before=as_of,
        since=as_of - datetime.timedelta(days=window - 1),
        partner_ids=partners,
    )
    active, total, share = formulas.active_share(latest, partners, as_of=as_of, window_days=window)
    return ActiveShare(program, as_of, window, active, total, share)
