"""Reads for the pipeline: each program's stages and the weekly pipeline review (stalled deals, closing
this month, overdue close dates, approvals past their SLA)."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.deals.filters import close_month_range
from openprm.deals.models import ApprovalStatus, Deal, PipelineStage
from openprm.deals.selectors.deals import (
    IN_PIPELINE,
    deal_list,
    first_rows,
    first_rows_by_stage,
    open_stage_ids,
    stalled_q,
)


def stages_for(*, actor: Actor, program_id: int | None = None) -> QuerySet[PipelineStage]:
    queryset = PipelineStage.objects.select_related("program").order_by("program_id", "order")
    return queryset.filter(program_id=program_id) if program_id else queryset


def stage_counts(*, queryset: QuerySet[Deal], stages: list[PipelineStage]) -> dict[int, int]:
    """How many of ``queryset``'s deals sit in each of ``stages`` (a board's column counts), by stage id.

    The program's stage ids imply the program: counting by stage alone is an index-only scan."""
    rows = queryset.filter(stage__in=stages).order_by().values("stage_id").annotate(n=Count("*"))
    return {row["stage_id"]: row["n"] for row in rows}


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
