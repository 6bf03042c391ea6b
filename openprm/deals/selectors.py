"""Reads for deals and the pipeline; metrics come from the pure functions in metrics.py."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.models import Workspace
from openprm.core.permissions import Perm
from openprm.deals import metrics
from openprm.deals.models import (
    ApprovalStatus,
    ConflictStatus,
    Deal,
    DealConflict,
    DealStageChange,
    Outcome,
    PipelineStage,
    Product,
)
from openprm.partners.models import Partner


@dataclass
class DealFilters:
    q: str = ""
    partner: str = ""  # partner public id
    type: str = ""  # partner type key
    tier: str = ""  # tier public id
    stage: str = ""  # stage key
    approval: str = ""  # approval status
    owner: str = ""  # vendor-side owner public id, "me" or "none"
    close_month: str = ""  # YYYY-MM of expected close
    amount_min: str = ""
    amount_max: str = ""
    stalled: str = ""  # "1" for stalled only
    sort: str = "-registered"

    @classmethod
    def from_mapping(cls, data: Any) -> DealFilters:
        values = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if raw:
                values[f.name] = str(raw).replace("\x00", "").strip()[:200]
        return cls(**values)


SORTS = {
    "registered": "registered_at",
    "-registered": "-registered_at",
    "amount": "amount",
    "-amount": "-amount",
    "close": "expected_close_date",
    "-close": "-expected_close_date",
    "customer": "customer_name",
    "-customer": "-customer_name",
}


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def stalled_q(now: datetime.datetime) -> Q:
    """Open deals whose stage has a stall threshold they have exceeded.

    One condition per distinct threshold (a handful) rather than ``now - stall_days * 1 day`` in SQL:
    SQLite cannot compare such date arithmetic with stored datetimes.
    """
    thresholds = {
        days
        for days in PipelineStage.objects.filter(outcome=Outcome.OPEN).values_list("stall_days", flat=True)
        if days
    }
    condition = Q(pk__in=[])
    for days in sorted(thresholds):
        condition |= Q(stage__stall_days=days, stage_changed_at__lte=now - datetime.timedelta(days=days))
    return Q(stage__outcome=Outcome.OPEN) & condition


def deal_list(*, actor: Actor, filters: DealFilters | None = None) -> QuerySet[Deal]:
    actor.require(Perm.PARTNER_VIEW)
    filters = filters or DealFilters()
    queryset = Deal.objects.select_related(
        "partner", "partner__type", "stage", "program", "owner", "registered_by"
    )
    if filters.q:
        queryset = queryset.filter(
            Q(customer_name__icontains=filters.q)
            | Q(customer_domain__icontains=filters.q)
            | Q(title__icontains=filters.q)
            | Q(external_id__iexact=filters.q)
        )
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    if filters.type:
        queryset = queryset.filter(partner__type__key=filters.type)
    if filters.tier:
        queryset = queryset.filter(
            partner__enrolments__tier__public_id=parse_uuid(filters.tier),
            partner__enrolments__program=F("program"),
        )
    if filters.stage:
        queryset = queryset.filter(stage__key=filters.stage)
    if filters.approval:
        queryset = queryset.filter(approval_status=filters.approval)
    if filters.owner == "me":
        queryset = queryset.filter(owner_id=actor.user_id)
    elif filters.owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif filters.owner:
        queryset = queryset.filter(owner__public_id=parse_uuid(filters.owner))
    if filters.close_month:
        try:
            year, month = (int(part) for part in filters.close_month.split("-", 1))
            queryset = queryset.filter(expected_close_date__year=year, expected_close_date__month=month)
        except ValueError:
            queryset = queryset.none()
    if (low := _decimal(filters.amount_min)) is not None:
        queryset = queryset.filter(amount__gte=low)
    if (high := _decimal(filters.amount_max)) is not None:
        queryset = queryset.filter(amount__lte=high)
    if filters.stalled:
        queryset = queryset.filter(stalled_q(timezone.now()))
    return queryset.order_by(SORTS.get(filters.sort, "-registered_at"), "-id").distinct()


def deal_get(*, actor: Actor, public_id: Any) -> Deal:
    """The deal, or Deal.DoesNotExist when missing or out of the actor's scope."""
    actor.require(Perm.PARTNER_VIEW)
    return (
        Deal.objects.select_related("partner", "stage", "program", "owner", "registered_by")
        .prefetch_related("line_items", "co_sellers__partner")
        .get(public_id=parse_uuid(public_id))
    )


def stage_history(*, deal: Deal) -> list[metrics.StageSpan]:
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


def stage_changes(*, deal: Deal) -> QuerySet[DealStageChange]:
    return DealStageChange.objects.filter(deal=deal).select_related("from_stage", "to_stage")


def conflict_list(
    *, actor: Actor, deal: Deal | None = None, open_only: bool = False
) -> QuerySet[DealConflict]:
    """Conflicts are the vendor's business: staff only (partners never see other partners' deals)."""
    actor.require(Perm.PARTNER_VIEW)
    if actor.is_partner_user:
        return DealConflict.objects.none()
    queryset = DealConflict.objects.select_related("deal__partner", "other__partner", "other__stage")
    if deal is not None:
        queryset = queryset.filter(Q(deal=deal) | Q(other=deal))
    if open_only:
        queryset = queryset.filter(status=ConflictStatus.OPEN)
    return queryset


def conflict_get(*, actor: Actor, public_id: Any) -> DealConflict:
    if actor.is_partner_user:
        raise DealConflict.DoesNotExist
    return conflict_list(actor=actor).get(public_id=parse_uuid(public_id))


def stages_for(*, actor: Actor, program_id: int | None = None) -> QuerySet[PipelineStage]:
    queryset = PipelineStage.objects.select_related("program").order_by("program_id", "order")
    return queryset.filter(program_id=program_id) if program_id else queryset


def products(*, actor: Actor) -> QuerySet[Product]:
    return Product.objects.filter(is_active=True)


def customer_suggestions(*, actor: Actor, q: str, limit: int = 8) -> list[str]:
    """Typeahead: customer names the actor has already registered (their own scope only)."""
    q = q.replace("\x00", "").strip()[:100]
    if len(q) < 2:
        return []
    names = (
        Deal.objects.filter(customer_name__icontains=q)
        .values_list("customer_name", flat=True)
        .distinct()[:limit]
    )
    return list(names)


# --- metrics -----------------------------------------------------------------------------------------


def _facts(queryset: QuerySet[Deal], currency: str) -> list[metrics.DealFact]:
    rows = (
        queryset.filter(currency=currency)
        .exclude(approval_status__in=[ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED])
        .values_list(
            "partner_id",
            "amount",
            "stage__outcome",
            "source",
            "registered_at",
            "closed_at",
            "stage__win_probability",
        )
    )
    return [
        metrics.DealFact(
            partner_id=partner_id,
            amount=amount,
            outcome=metrics.Outcome(outcome),
            source=source,
            registered_at=registered_at,
            closed_at=closed_at,
            win_probability=probability,
        )
        for partner_id, amount, outcome, source, registered_at, closed_at, probability in rows
    ]


@dataclass(frozen=True)
class DealMetrics:
    currency: str
    summary: metrics.DealSummary
    other_currency_deals: int


def deal_metrics(*, actor: Actor, partner: Partner | None = None) -> DealMetrics:
    """Deal metrics for one partner or the whole visible program, in the workspace's reporting currency."""
    actor.require(Perm.PARTNER_VIEW)
    currency = Workspace.objects.get(pk=actor.workspace_id).currency
    queryset = Deal.objects.all() if partner is None else Deal.objects.filter(partner=partner)
    facts = _facts(queryset, currency)
    others = queryset.exclude(currency=currency).count()
    return DealMetrics(
        currency=currency, summary=metrics.summarize(facts, now=timezone.now()), other_currency_deals=others
    )


def pipeline_review(*, actor: Actor) -> dict[str, QuerySet[Deal]]:
    """The weekly review: stalled deals, closing this month, overdue close dates, overdue approvals."""
    now = timezone.now()
    today = timezone.localdate()
    base = deal_list(actor=actor).filter(stage__outcome=Outcome.OPEN)
    return {
        "stalled": base.filter(stalled_q(now)).order_by("stage_changed_at"),
        "closing_this_month": base.filter(
            expected_close_date__year=today.year, expected_close_date__month=today.month
        ).order_by("expected_close_date"),
        "overdue_close": base.filter(expected_close_date__lt=today).order_by("expected_close_date"),
        "approval_overdue": base.filter(
            approval_status=ApprovalStatus.SUBMITTED, approval_due_at__lt=now
        ).order_by("approval_due_at"),
    }
