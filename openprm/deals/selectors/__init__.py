"""Reads for deals and the pipeline; metrics come from the pure functions in metrics.py."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.models import Workspace
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
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
from openprm.partners.models import Partner, PartnerProgram


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

    def errors(self) -> dict[str, str]:
        """Filter values that cannot be applied, by field (the page shows them; the API's schema refuses)."""
        if self.close_month:
            try:
                close_month_range(self.close_month)
            except ValueError as exc:
                return {"close_month": str(exc)}
        return {}

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


CLOSE_MONTH_ERROR = "Use a month as YYYY-MM between 1900-01 and 2999-12."


def close_month_range(value: str) -> tuple[datetime.date, datetime.date]:
    """The first day of the month ``value`` (YYYY-MM) and of the next one; ValueError when it is not one.

    A date range (not year/month lookups) so the list pages on the expected-close index; years are those
    a close date may have (1900–2999), so ``0000-01`` is refused instead of reaching the database."""
    year_text, sep, month_text = value.partition("-")
    if not (
        sep and len(year_text) == 4 and year_text.isdigit() and len(month_text) == 2 and month_text.isdigit()
    ):
        raise ValueError(CLOSE_MONTH_ERROR)
    year, month = int(year_text), int(month_text)
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        raise ValueError(CLOSE_MONTH_ERROR)
    start = datetime.date(year, month, 1)
    end = datetime.date(year + 1, 1, 1) if month == 12 else datetime.date(year, month + 1, 1)
    return start, end


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


# Registrations still in the pipeline: a rejected or expired one sits in its stage forever, so it is
# never "stalled", "closing" or "overdue", and the board leaves it out unless the approval filter asks.
IN_PIPELINE = (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO, ApprovalStatus.APPROVED)


def open_stage_ids() -> list[int]:
    """The ids of the open stages (a handful): deal filters name them instead of joining the stage table."""
    return list(PipelineStage.objects.filter(outcome=Outcome.OPEN).values_list("pk", flat=True))


def stalled_cutoff(now: datetime.datetime, days: int) -> datetime.datetime:
    """A deal that entered its stage before this moment has been there ``days`` calendar days by today.

    Days are calendar days in the current time zone (as the "days in stage" shown beside it): stalled
    from the start of the day that is ``days`` after the day it entered its stage."""
    today = timezone.localtime(now).date()
    start = datetime.datetime.combine(today - datetime.timedelta(days=days - 1), datetime.time.min)
    return timezone.make_aware(start)


def stalled_q(now: datetime.datetime) -> Q:
    """Open deals whose stage has a stall threshold they have reached.

    One condition per distinct threshold on the stage ids (a handful, no join) rather than
    ``now - stall_days * 1 day`` in SQL: SQLite cannot compare such date arithmetic with stored datetimes.
    """
    by_days: dict[int, list[int]] = {}
    for pk, days in PipelineStage.objects.filter(outcome=Outcome.OPEN, stall_days__gt=0).values_list(
        "pk", "stall_days"
    ):
        if days:
            by_days.setdefault(days, []).append(pk)
    condition = Q(pk__in=[])
    for days, stage_ids in sorted(by_days.items()):
        condition |= Q(stage_id__in=stage_ids, stage_changed_at__lt=stalled_cutoff(now, days))
    return condition & Q(approval_status__in=IN_PIPELINE)


def deal_list(*, actor: Actor, filters: DealFilters | None = None) -> QuerySet[Deal]:
    """The deals the actor sees, filtered and sorted; pages on an index (``ORDER BY … LIMIT``).

    Every filter is on the deal row or a to-one relation, so no ``DISTINCT`` is needed: the tier filter,
    the one to-many relation, is an ``EXISTS`` on the partner's enrolment in the deal's program. The
    count of a page is then a plain ``COUNT(*)`` of the deals table. Filters whose value cannot be
    applied (see :meth:`DealFilters.errors`) match nothing."""
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
            Exists(
                PartnerProgram.objects.filter(
                    partner_id=OuterRef("partner_id"),
                    program_id=OuterRef("program_id"),
                    tier__public_id=parse_uuid(filters.tier),
                )
            )
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
            start, end = close_month_range(filters.close_month)
        except ValueError:
            queryset = queryset.none()
        else:
            queryset = queryset.filter(expected_close_date__gte=start, expected_close_date__lt=end)
    if (low := _decimal(filters.amount_min)) is not None:
        queryset = queryset.filter(amount__gte=low)
    if (high := _decimal(filters.amount_max)) is not None:
        queryset = queryset.filter(amount__lte=high)
    if filters.stalled:
        queryset = queryset.filter(stalled_q(timezone.now()))
    order = SORTS.get(filters.sort, "-registered_at")
    return queryset.order_by(order, "-id" if order.startswith("-") else "id")


def first_rows(queryset: QuerySet[Deal], limit: int) -> QuerySet[Deal]:
    """The first ``limit`` deals of a sorted list, found before their related rows are joined.

    The ids are sorted and cut in a subquery of the deals table alone, then only those rows are joined
    to their partner, stage and users: a sort that cannot use an index (e.g. thousands of stalled deals
    by stage date) then sorts narrow rows instead of every joined row."""
    return queryset.filter(pk__in=queryset.values("pk")[:limit])


def first_rows_by_stage(
    queryset: QuerySet[Deal], limit: int, *, stage_ids: list[int], order: tuple[str, str]
) -> QuerySet[Deal]:
    """:func:`first_rows` for a list sorted ascending by ``order`` (a non-null field, then "id") whose
    filter names several stages: the first ``limit`` of each stage come from the (stage, field) index
    in one ``UNION ALL`` and are merged here, instead of walking the whole workspace in date order.
    Where the database cannot sort inside a UNION (SQLite), it is :func:`first_rows`."""
    ordered = queryset.order_by(*order)
    if len(stage_ids) < 2 or not connection.features.supports_slicing_ordering_in_compound:
        return first_rows(ordered, limit)
    parts = [ordered.filter(stage_id=stage_id).values_list(*order)[:limit] for stage_id in stage_ids]
    candidates = sorted(parts[0].union(*parts[1:], all=True))[:limit]
    return ordered.filter(pk__in=[row[-1] for row in candidates])


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
    access = actor.access_scope()
    if access.owner_id is not None:
        # Staff restricted to their own partners see a conflict when their deal is on EITHER side (the
        # scoped manager follows the registering side only); the other side is masked in the output.
        with unscoped():
            queryset = DealConflict.objects.filter(workspace_id=access.workspace_id).filter(
                Q(deal__partner__owner_id=access.owner_id) | Q(other__partner__owner_id=access.owner_id)
            )
    else:
        queryset = DealConflict.objects.all()
    queryset = queryset.select_related("deal__partner", "other__partner", "other__stage")
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


CENT = Decimal("0.01")


def _local_date(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


@dataclass(frozen=True)
class DealMetrics:
    currency: str
    summary: metrics.DealSummary
    other_currency_deals: int


def deal_metrics(*, actor: Actor, partner: Partner | None = None) -> DealMetrics:
    """Deal metrics for one partner or the whole visible program, in the workspace's reporting currency.

    Computed by the database in one scan of the deals: counts and sums grouped by stage, source and a day
    count (calendar days to close for won deals, age for open ones); the pure
    :func:`metrics.summarize_groups` turns them into exactly what :func:`metrics.summarize` gives."""
    actor.require(Perm.PARTNER_VIEW)
    currency = Workspace.objects.get(pk=actor.workspace_id).currency
    queryset = Deal.objects.all() if partner is None else Deal.objects.filter(partner=partner)
    stages = {
        pk: (outcome, probability)
        for pk, outcome, probability in PipelineStage.objects.values_list("pk", "outcome", "win_probability")
    }
    won_stages = [pk for pk, (outcome, _) in stages.items() if outcome == Outcome.WON] or [0]
    open_stages = [pk for pk, (outcome, _) in stages.items() if outcome == Outcome.OPEN] or [0]
    registered = _local_date("registered_at")
    days = Case(
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
    # 1: counted (reporting currency, not rejected or expired); 2: left out; 0: another currency
    kind = Case(
        When(~Q(currency=currency), then=Value(0)),
        When(approval_status__in=[ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED], then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    rows = (
        queryset.order_by()
        .annotate(kind=kind, days=days)
        .values("stage_id", "source", "kind", "days")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .values_list("stage_id", "source", "kind", "days", "n", "total")
    )
    groups: dict[tuple[str, str, Decimal], list[Any]] = {}
    days_to_close: dict[int, int] = {}
    open_ages: dict[int, int] = {}
    excluded = others = 0
    for stage_id, source, kind_value, day_count, n, total in rows:
        if kind_value == 0:
            others += n
            continue
        if kind_value != 1:
            continue
        outcome, probability = stages[stage_id]
        group = groups.setdefault((outcome, source, probability), [0, Decimal(0)])
        group[0] += n
        group[1] += (total or Decimal(0)).quantize(CENT)  # amounts are cents
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


def pipeline_review(*, actor: Actor) -> dict[str, QuerySet[Deal]]:
    """The weekly review: stalled deals, closing this month, overdue close dates, overdue approvals."""
    now = timezone.now()
    today = timezone.localdate()
    base = deal_list(actor=actor).filter(stage_id__in=open_stage_ids(), approval_status__in=IN_PIPELINE)
    month_start, month_end = close_month_range(f"{today.year:04d}-{today.month:02d}")
    return {
        "stalled": base.filter(stalled_q(now)).order_by("stage_changed_at", "id"),
        "closing_this_month": base.filter(
            expected_close_date__gte=month_start, expected_close_date__lt=month_end
        ).order_by("expected_close_date", "id"),
        "overdue_close": base.filter(expected_close_date__lt=today).order_by("expected_close_date", "id"),
        "approval_overdue": base.filter(
            approval_status=ApprovalStatus.SUBMITTED, approval_due_at__lt=now
        ).order_by("approval_due_at", "id"),
    }


def pipeline_review_rows(*, key: str, queryset: QuerySet[Deal], limit: int) -> QuerySet[Deal]:
    """The first rows of a pipeline-review section (see :func:`pipeline_review`), found on indexes."""
    if key == "overdue_close":
        return first_rows_by_stage(
            queryset, limit, stage_ids=open_stage_ids(), order=("expected_close_date", "id")
        )
    return first_rows(queryset, limit)
