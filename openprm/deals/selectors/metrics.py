"""The reads behind the deal KPIs: the database groups and counts, the pure formulas of
``openprm.deals.metrics`` turn the groups into figures (so they stay testable on plain data)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Case, Count, DateField, F, Func, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.core.permissions import Perm
from openprm.deals import metrics
from openprm.deals.models import ApprovalStatus, Deal, DealStageChange, Outcome, PipelineStage
from openprm.deals.rollups.conversion import converter_for
from openprm.deals.rollups.summary import deal_totals
from openprm.partners.models import Partner

CENT = Decimal("0.01")


class _DaysBetween(Func):
    """Whole days from one date expression to another (``end - start``), as an integer."""

    output_field = IntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _local_date(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def stage_history(*, deal: Deal) -> list[metrics.StageSpan]:
    """The deal's stays in each stage (for the time-in-stage formulas)."""
    changes = list(
        DealStageChange.objects.filter(deal=deal).select_related("to_stage").order_by("changed_at", "id")
    )
    return [
        metrics.StageSpan(
            stage=change.to_stage.name,
            entered_at=change.changed_at,
            left_at=changes[i + 1].changed_at if i + 1 < len(changes) else None,
        )
        for i, change in enumerate(changes)
    ]


@dataclass(frozen=True)
class DealMetrics:
    currency: str
    summary: metrics.DealSummary
    other_currency_deals: int


def _day_count(stages: dict[int, tuple[str, Decimal]]) -> Case:
    """Calendar days to close for won deals, age for open ones, nothing for the rest."""
    won_stages = [pk for pk, (outcome, _) in stages.items() if outcome == Outcome.WON] or [0]
    open_stages = [pk for pk, (outcome, _) in stages.items() if outcome == Outcome.OPEN] or [0]
    registered = _local_date("registered_at")
    return Case(
        When(
            stage_id__in=won_stages,
            closed_at__isnull=False,
            closed_at__gte=F("registered_at"),
            then=_DaysBetween(_local_date("closed_at"), registered),
        ),
        When(
            stage_id__in=open_stages,
            then=_DaysBetween(Value(timezone.localdate(), output_field=DateField()), registered),
        ),
        default=Value(None),
        output_field=IntegerField(),
    )


def _kind(currency: str) -> Case:
    """1: counted (reporting currency, not rejected or expired); 2: left out; 0: another currency (counted
    once converted); 3: another currency, rejected or expired (never counted; "another currency" while
    no rate converts it, as the rollups count every registration)."""
    refused = Q(approval_status__in=[ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED])
    return Case(
        When(~Q(currency=currency) & refused, then=Value(3)),
        When(~Q(currency=currency), then=Value(0)),
        When(refused, then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )


def _rate_day(currency: str, stages: dict[int, tuple[str, Decimal]]) -> Case:
    """The day whose rate converts a deal in another currency, as the deal rollups do: a closed deal's
    close day (UTC); nothing (today's rate) for an open one, or for the reporting currency."""
    closed = [pk for pk, (outcome, _) in stages.items() if outcome != Outcome.OPEN] or [0]
    return Case(
        When(
            ~Q(currency=currency),
            stage_id__in=closed,
            closed_at__isnull=False,
            then=TruncDate("closed_at", tzinfo=datetime.UTC),
        ),
        default=Value(None),
        output_field=DateField(),
    )


def rollup_partner_ids(actor: Actor, partner: Partner | None = None) -> list[int] | None:
    """The partners whose rollup rows the actor reads: the one asked for, a partner user's own, a
    restricted staff member's owned partners (the scoped manager's), or None for all of them."""
    access = actor.access_scope()
    if partner is not None:
        return [partner.pk]
    if access.partner_id is not None:
        return [access.partner_id]
    if access.owner_id is not None:  # staff restricted to the partners they own
        return list(Partner.objects.values_list("pk", flat=True))
    return None


def deal_metrics(*, actor: Actor, partner: Partner | None = None) -> DealMetrics:
    """Deal metrics for one partner or the whole visible program, in the workspace's reporting currency:
    read from the deal rollups (``deals.rollups.summary.deal_totals``), the pipeline as at today (UTC).

    A partner rep sees only the deals they registered, which the per-partner rollups do not tell
    apart: theirs are counted from the deals (:func:`scanned_deal_metrics`; a rep's are few)."""
    actor.require(Perm.PARTNER_VIEW)
    access = actor.access_scope()
    if access.rep_user_id is not None:
        return scanned_deal_metrics(actor=actor, partner=partner)
    partner_ids = rollup_partner_ids(actor, partner)
    totals = deal_totals(actor.workspace_id, partner_ids=partner_ids, on=timezone.now().date())
    return DealMetrics(
        currency=totals.currency, summary=totals.summary, other_currency_deals=totals.other_currency_deals
    )


def scanned_deal_metrics(*, actor: Actor, partner: Partner | None = None) -> DealMetrics:
    """:func:`deal_metrics` over the deals the actor sees, in one scan of them: counts and sums grouped
    by stage, source and a day count (calendar days to close for won deals, age for open ones); the pure
    :func:`metrics.summarize_groups` turns them into exactly what :func:`metrics.summarize` gives. Deals
    in another currency are grouped by currency and rate day too and converted as the rollups convert
    them (a closed deal at its close day's rate, an open one at today's; one query of the rates); what
    no rate converts is counted in ``other_currency_deals``."""
    actor.require(Perm.PARTNER_VIEW)
    currency = Workspace.objects.get(pk=actor.workspace_id).currency
    queryset = Deal.objects.all() if partner is None else Deal.objects.filter(partner=partner)
    stages = {
        pk: (outcome, probability)
        for pk, outcome, probability in PipelineStage.objects.values_list("pk", "outcome", "win_probability")
    }
    other = Case(When(~Q(currency=currency), then=F("currency")), default=Value(""))
    rows = list(
        queryset.order_by()
        .annotate(kind=_kind(currency), days=_day_count(stages), other=other, on=_rate_day(currency, stages))
        .values("stage_id", "source", "kind", "days", "other", "on")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .values_list("stage_id", "source", "kind", "days", "n", "total", "other", "on")
    )
    converter = converter_for(actor.workspace_id, currency)
    today = datetime.datetime.now(datetime.UTC).date()
    if converter is not None:  # the rates of every day at once
        converter.load([row[7] or today for row in rows if row[2] in (0, 3)])
    groups: dict[tuple[str, str, Decimal], list[Any]] = {}
    days_to_close: dict[int, int] = {}
    open_ages: dict[int, int] = {}
    excluded = others = 0
    for stage_id, source, kind_value, day_count, n, total, row_currency, on in rows:
        if kind_value == 2:
            continue
        amount = (total or Decimal(0)).quantize(CENT)  # amounts are cents
        if kind_value in (0, 3):  # another currency: at its day's rate, as the rollups convert (or apart)
            rate = converter.rate(row_currency, on or today) if converter is not None else None
            if rate is None or kind_value == 3:
                others += n if rate is None else 0
                continue
            amount = (amount * rate).quantize(CENT, ROUND_HALF_UP)
        outcome, probability = stages[stage_id]
        group = groups.setdefault((outcome, source, probability), [0, Decimal(0)])
        group[0] += n
        group[1] += amount
        if outcome == Outcome.WON:
            if day_count is None:
                excluded += n
            else:
                days_to_close[int(day_count)] = days_to_close.get(int(day_count), 0) + n
        elif outcome == Outcome.OPEN:
            open_ages[int(day_count)] = open_ages.get(int(day_count), 0) + n
    summary = metrics.summarize_groups(
        [
            metrics.DealGroup(metrics.Outcome(outcome), source, probability, n, total)
            for (outcome, source, probability), (n, total) in groups.items()
        ],
        days_to_close=days_to_close,
        open_ages=open_ages,
        excluded_from_close=excluded,
    )
    return DealMetrics(currency=currency, summary=summary, other_currency_deals=others)
