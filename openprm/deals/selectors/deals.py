"""Reads of deals: the filtered, sorted list (table, board, review, portal), one deal, which deals an
actor may see, and the customer-name typeahead. Every read is scoped by the actor's access scope."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.filters import owner_filter
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.core.scoping import scope
from openprm.deals.filters import SORTS, DealFilters, close_month_range
from openprm.deals.models import ApprovalStatus, Deal, Outcome, PipelineStage
from openprm.partners.models import PartnerProgram

# Registrations still in the pipeline: a rejected or expired one sits in its stage forever, so it is
# never "stalled", "closing" or "overdue", and the board leaves it out unless the approval filter asks.
IN_PIPELINE = (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO, ApprovalStatus.APPROVED)


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


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


def _partner_filters(queryset: QuerySet[Deal], filters: DealFilters) -> QuerySet[Deal]:
    """Filters on the registering partner: which one, its type, its tier in the deal's program."""
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
    return queryset


def _value_filters(queryset: QuerySet[Deal], filters: DealFilters) -> QuerySet[Deal]:
    """Filters on when the deal is expected to close and what it is worth."""
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
    return queryset


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
    queryset = _partner_filters(queryset, filters)
    if filters.stage:
        queryset = queryset.filter(stage__key=filters.stage)
    if filters.approval:
        queryset = queryset.filter(approval_status=filters.approval)
    queryset = owner_filter(queryset, filters.owner, actor)
    queryset = _value_filters(queryset, filters)
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


def deals_visible(*, actor: Actor, deal_ids: Iterable[int]) -> set[int]:
    """Which of these deals the actor may see (their access scope: own partners only, own partner...)."""
    ids = set(deal_ids)
    access = actor.access_scope()
    if access.partner_id is None and access.owner_id is None and access.rep_user_id is None:
        return ids  # workspace-wide staff: every deal of the workspace
    with scope(access):
        return set(Deal.objects.filter(pk__in=ids).values_list("pk", flat=True))


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
