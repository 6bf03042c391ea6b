"""Reads of targets: the list (filtered, narrowed to what the actor may see), one target, its history, and
progress — the value so far from the metric engine, attainment and pace.

What an actor sees: staff every target (staff restricted to their own partners: those partners' targets
and the tier and program targets); a partner user their own partner's targets and those of the tiers and
programs their partner is enrolled in — never another partner's. Notes are internal: the API and pages
leave them out for partner users.

Targets on metrics built on internal figures (partnership costs, the company's revenue:
``figures.staff_only``) are staff-only as a whole: staff may set one for a partner, a tier or a program,
but a partner user never gets it from here — it is left out of every list (``target_list``,
``partner_targets``) and ``target_get`` answers DoesNotExist (a 404), so neither its value nor its metric
reaches the partner's pages or API, and the metric engine is never asked for a figure it would refuse.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.filters import owner_filter
from openprm.core.ids import parse_uuid
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.metrics import figures
from openprm.metrics.catalog import METRICS
from openprm.metrics.engine import Value
from openprm.metrics.periods import Period, parse_period
from openprm.partners.models import Partner, PartnerProgram
from openprm.scorecards import scoring
from openprm.scorecards.filters import TargetFilters
from openprm.scorecards.models import Target


def _today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def _internal_metrics() -> list[str]:
    """The metrics whose targets partner users never see (built on internal figures)."""
    return sorted(key for key in METRICS if figures.staff_only(key))


def _for_audience(actor: Actor, queryset: QuerySet[Target]) -> QuerySet[Target]:
    """``queryset`` without the targets of internal metrics when the actor is a partner user."""
    if actor.is_partner_user:
        return queryset.exclude(metric__in=_internal_metrics())
    return queryset


def _visible(actor: Actor) -> QuerySet[Target]:
    actor.require(Perm.PARTNER_VIEW)
    queryset = _for_audience(
        actor,
        Target.objects.select_related(
            "partner", "tier", "tier__program", "program", "owner", "accepted_by", "created_by"
        ),
    )
    if actor.partner_id is not None:
        enrolments = list(
            PartnerProgram.objects.filter(partner_id=actor.partner_id).values_list("program_id", "tier_id")
        )
        programs = [p for p, _ in enrolments]
        tiers = [t for _, t in enrolments if t is not None]
        return queryset.filter(
            Q(partner_id=actor.partner_id) | Q(tier_id__in=tiers) | Q(program_id__in=programs)
        )
    if actor.owned_only:
        return queryset.filter(Q(partner__isnull=True) | Q(partner_id__in=Partner.objects.values("pk")))
    return queryset


def target_list(*, actor: Actor, filters: TargetFilters | None = None) -> QuerySet[Target]:
    """The targets the actor may see matching ``filters``: newest period first, then metric."""
    filters = filters or TargetFilters()
    queryset = _visible(actor)
    if filters.metric:
        queryset = queryset.filter(metric=filters.metric)
    if filters.period:
        queryset = queryset.filter(period=filters.period)
    if filters.scope == "partner":
        queryset = queryset.filter(partner__isnull=False)
    elif filters.scope == "tier":
        queryset = queryset.filter(tier__isnull=False)
    elif filters.scope == "program":
        queryset = queryset.filter(program__isnull=False)
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    if filters.tier:
        queryset = queryset.filter(tier__public_id=parse_uuid(filters.tier))
    if filters.program:
        uuid = parse_uuid(filters.program)
        queryset = queryset.filter(Q(program__public_id=uuid) | Q(tier__program__public_id=uuid))
    if filters.owner and not actor.is_partner_user:
        queryset = owner_filter(queryset, filters.owner, actor)
    return queryset.order_by("-period", "metric", "id")


def target_get(*, actor: Actor, public_id: Any) -> Target:
    """The target, or Target.DoesNotExist when missing or not the actor's to see."""
    return _visible(actor).get(public_id=parse_uuid(str(public_id)))


@dataclass
class HistoryItem:
    at: datetime.datetime
    who: str
    action: str
    changes: dict[str, Any]


def target_history(*, actor: Actor, target: Target) -> list[HistoryItem]:
    """The target's audit trail, newest first (staff only: it records the internal notes)."""
    if not actor.is_staff:
        raise Http404
    entries = AuditEntry.objects.filter(object_type="scorecards.target", object_id=target.public_id)
    return [HistoryItem(e.at, e.actor_label, e.action, e.changes) for e in entries.order_by("-at", "-id")]


# ------------------------------------------------------------------------------------------------ progress


@dataclass
class Progress:
    """A target and how it stands: for a partner's target the partner's value, attainment and pace; for a
    tier's or a program's target, how many of the (visible) partners it applies to are on track."""

    target: Target
    period: Period
    partner_id: int | None = None  # whose value this is (None: a tier's or program's summary)
    value: Any = None
    missing: str = ""
    attainment: Decimal | None = None
    pace: scoring.Pace | None = None
    partners: int = 0
    on_track: int = 0  # on track or ahead
    attainments: list[Decimal] = field(default_factory=list)

    @property
    def median_attainment(self) -> Decimal | None:
        if not self.attainments:
            return None
        ordered = sorted(self.attainments)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return scoring.q1((ordered[middle - 1] + ordered[middle]) / 2)


def _members(actor: Actor, targets: Sequence[Target]) -> dict[int, list[int]]:
    """target id -> the visible live partners it applies to (partner targets: the partner)."""
    tier_ids = {t.tier_id for t in targets if t.tier_id}
    program_ids = {t.program_id for t in targets if t.program_id}
    by_tier: dict[int, list[int]] = defaultdict(list)
    by_program: dict[int, list[int]] = defaultdict(list)
    if tier_ids or program_ids:
        rows = PartnerProgram.objects.filter(
            Q(tier_id__in=tier_ids) | Q(program_id__in=program_ids), partner__archived_at__isnull=True
        ).values_list("partner_id", "program_id", "tier_id")
        for partner_id, program_id, tier_id in rows:
            if tier_id in tier_ids:
                by_tier[tier_id].append(partner_id)
            if program_id in program_ids:
                by_program[program_id].append(partner_id)
    out: dict[int, list[int]] = {}
    for t in targets:
        if t.partner_id:
            out[t.pk] = [t.partner_id]
        elif t.tier_id:
            out[t.pk] = by_tier.get(t.tier_id, [])
        else:
            out[t.pk] = by_program.get(t.program_id or 0, [])
    return out


def _number(value: Value) -> Decimal | None:
    raw = value.value
    if raw is None or isinstance(raw, datetime.date):
        return None
    return raw if isinstance(raw, Decimal) else Decimal(str(raw))


def target_progress(
    *,
    actor: Actor,
    targets: Sequence[Target],
    partner: Partner | None = None,
    today: datetime.date | None = None,
) -> list[Progress]:
    """How each target stands on ``today``: one metric_table call per distinct period. With ``partner``,
    every target reads that partner's own value (its effective targets, see :func:`partner_targets`).
    A partner user handed a target of an internal metric gets no figure for it (never an error)."""
    today = today or _today()
    hidden = (lambda key: figures.staff_only(key)) if actor.is_partner_user else (lambda key: False)
    members = _members(actor, targets) if partner is None else {t.pk: [partner.pk] for t in targets}
    by_period: dict[str, list[Target]] = defaultdict(list)
    for t in targets:
        by_period[t.period].append(t)
    out: dict[int, Progress] = {}
    for period_key, group in by_period.items():
        period = parse_period(period_key)
        keys = sorted(
            {t.metric for t in group if not scoring.metric_problem(t.metric) and not hidden(t.metric)}
        )
        ids = sorted({pid for t in group for pid in members[t.pk]})
        table = (
            figures.metric_table(actor=actor, keys=keys, period=period, partners=ids, totals=False)
            if keys and ids
            else None
        )
        elapsed = period.elapsed(today)
        for t in group:
            progress = Progress(t, period)
            if hidden(t.metric):
                out[t.pk] = progress
                continue
            visible = [pid for pid in members[t.pk] if table is not None and pid in table.rows]
            progress.partners = len(visible)
            for pid in visible:
                assert table is not None
                cell = table.value(pid, t.metric)
                number = _number(cell)
                lower = scoring.lower_is_better(t.metric)
                reached = scoring.attainment(number, t.value, lower=lower)
                step = scoring.pace(number, t.value, key=t.metric, elapsed=elapsed)
                if t.partner_id or partner is not None:
                    progress.partner_id = pid
                    progress.value, progress.missing = cell.value, cell.missing
                    progress.attainment, progress.pace = reached, step
                if reached is not None:
                    progress.attainments.append(reached)
                if step.status in ("on_track", "ahead"):
                    progress.on_track += 1
            out[t.pk] = progress
    return [out[t.pk] for t in targets]


def partner_targets(
    *,
    actor: Actor,
    partner: Partner,
    periods: Sequence[Period] | None = None,
    today: datetime.date | None = None,
) -> list[Progress]:
    """The partner's effective targets — its own, its tiers' and its programs' (its own overriding a tier's
    overriding a program's for the same metric and period) — over ``periods`` (default: the month, quarter
    and year holding today), each with the partner's own value, attainment and pace."""
    actor.require(Perm.PARTNER_VIEW)
    if actor.is_partner_user and partner.pk != actor.partner_id:
        raise Partner.DoesNotExist
    if not Partner.objects.filter(pk=partner.pk).exists():
        raise Partner.DoesNotExist
    today = today or _today()
    periods = periods or [Period.month_of(today), Period.quarter_of(today), Period.year(today.year)]
    enrolments = list(PartnerProgram.objects.filter(partner=partner).values_list("program_id", "tier_id"))
    candidates = _for_audience(
        actor, Target.objects.select_related("partner", "tier", "tier__program", "program", "owner")
    ).filter(
        Q(partner=partner)
        | Q(tier_id__in=[t for _, t in enrolments if t is not None])
        | Q(program_id__in=[p for p, _ in enrolments]),
        period__in=[p.key for p in periods],
    )
    rank = {"program": 0, "tier": 1, "partner": 2}
    chosen: dict[tuple[str, str], Target] = {}
    for target in candidates:
        key = (target.metric, target.period)
        if key not in chosen or rank[target.scope] > rank[chosen[key].scope]:
            chosen[key] = target
    ordered = sorted(chosen.values(), key=lambda t: (t.period, t.metric))
    return target_progress(actor=actor, targets=ordered, partner=partner, today=today)
