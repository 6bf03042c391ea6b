"""Deal registration and the pipeline over HTTP: deals, approvals, stages, history, conflicts, metrics.

Thin endpoints: parse (schemas) → one selector/service call → render. A deal id outside the caller's scope
answers 404 exactly like a missing one: partner users see their partner's deals, partner reps only the
deals they registered (the scoped manager enforces both). Conflicts name other partners' deals, so they
are staff-only and answer 404 to partner users. Deals are rejected, never deleted: DELETE is a 405.
"""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from ninja import P, Query, Router, Status
from ninja.pagination import paginate
from ninja.params import HeaderEx
from ninja.responses import codes_4xx

from openprm.core.actors import Actor
from openprm.deals import selectors, services
from openprm.deals.models import ConflictStatus, Deal, DealConflict, DealStageChange, Outcome
from openprm.deals.schemas import (
    ConflictQuery,
    ConflictResolveIn,
    DealApproveIn,
    DealConflictOut,
    DealCreate,
    DealMetricsOut,
    DealOut,
    DealPatch,
    DealQuery,
    DealRejectIn,
    DealRequestInfoIn,
    DealStageChangeOut,
    DealStageMove,
    ErrorOut,
    IdempotencyKey,
    MetricsQuery,
    Pagination,
)
from openprm.deals.services.registration import OpenConflicts
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner, Program

router = Router(tags=["deals"])

ERRORS: dict[Any, Any] = {codes_4xx: ErrorOut}


def _actor(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    assert isinstance(actor, Actor), "the API's auth classes set request.actor"
    return actor


def _staff_only(actor: Actor) -> None:
    """Conflicts reveal other partners' deals: to a partner user they do not exist."""
    if actor.is_partner_user:
        raise Http404


def _open_conflict_counts(queryset: QuerySet[Deal]) -> QuerySet[Deal]:
    """Annotate `conflicts_open` (the deal on either side of an open conflict) in the list's one query."""

    def count(side: str) -> Coalesce:
        per_deal = (
            DealConflict.objects.filter(**{side: OuterRef("pk")}, status=ConflictStatus.OPEN)
            .order_by()
            .values(side)
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(per_deal, output_field=IntegerField()), Value(0))

    return queryset.annotate(conflicts_open=count("deal") + count("other"))


def _partner_ref(actor: Actor, public_id: uuid.UUID, field: str) -> Partner:
    try:
        return partner_selectors.partner_get(actor=actor, public_id=public_id)
    except Partner.DoesNotExist:
        raise ValidationError({field: "No such partner."}) from None


def _registration(actor: Actor, payload: DealCreate) -> services.DealInput:
    """The service input: public ids swapped for rows (unknown ones are a 422 on their field)."""
    data = payload.to_input()
    if actor.is_partner_user:
        if payload.partner is not None:
            raise ValidationError({"partner": "Leave out: you register deals for your own partner."})
        if payload.co_sellers:
            raise ValidationError({"co_sellers": "Only the vendor adds co-sellers."})
    elif payload.partner is not None:
        data["partner_id"] = _partner_ref(actor, payload.partner, "partner").pk
    if payload.program is not None:
        program = Program.objects.filter(public_id=payload.program).first()
        if program is None:
            raise ValidationError({"program": "No such program."})
        data["program_id"] = program.pk
    data["co_sellers"] = [
        (_partner_ref(actor, c.partner, f"co_sellers.{i}.partner").pk, str(c.role))
        for i, c in enumerate(payload.co_sellers)
    ]
    return data


# --- deals --------------------------------------------------------------------------------------------


@router.get("/deals", response={200: list[DealOut], **ERRORS})
@paginate(Pagination)
def deal_list(request: HttpRequest, filters: Query[DealQuery]) -> QuerySet[Deal]:
    actor = _actor(request)
    deals = selectors.deal_list(actor=actor, filters=filters.to_filters()).prefetch_related(
        "line_items", "co_sellers__partner"
    )
    return deals if actor.is_partner_user else _open_conflict_counts(deals)


@router.post("/deals", response={201: DealOut, 200: DealOut, **ERRORS})
def deal_register(
    request: HttpRequest,
    payload: DealCreate,
    idempotency_key: HeaderEx[
        IdempotencyKey | None,
        P(
            alias="Idempotency-Key",
            description="Retrying with the same key returns the first deal (200) and creates nothing",
        ),
    ] = None,
) -> Status[Deal]:
    """Register a deal. Staff pass `partner`; partner users register for their own partner."""
    actor = _actor(request)
    deal, created = services.deal_register(
        actor=actor, data=_registration(actor, payload), idempotency_key=idempotency_key
    )
    return Status(201 if created else 200, selectors.deal_get(actor=actor, public_id=deal.public_id))


@router.get("/deals/{deal_id}", response={200: DealOut, **ERRORS})
def deal_get(request: HttpRequest, deal_id: uuid.UUID) -> Deal:
    return selectors.deal_get(actor=_actor(request), public_id=deal_id)


@router.patch("/deals/{deal_id}", response={200: DealOut, **ERRORS})
def deal_update(request: HttpRequest, deal_id: uuid.UUID, payload: DealPatch) -> Deal:
    """Edit a registration. Partner users may edit only while it awaits a decision."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    services.deal_update(actor=actor, deal=deal, data=payload.to_input())
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.post("/deals/{deal_id}/stage", response={200: DealOut, **ERRORS})
def deal_move_stage(request: HttpRequest, deal_id: uuid.UUID, payload: DealStageMove) -> Deal:
    """Move to another stage of the deal's program; partner users only once the deal is approved, and
    not once it is closed (won or lost: the outcome is final for them, staff may reopen)."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    if actor.is_partner_user and deal.stage.outcome != Outcome.OPEN:
        raise ValidationError(
            {"stage": f"The deal is closed ({deal.stage.name}): its stage no longer changes."}
        )
    services.deal_move_stage(actor=actor, deal=deal, stage_key=payload.stage, lost_reason=payload.lost_reason)
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.post("/deals/{deal_id}/approve", response={200: DealOut, **ERRORS})
def deal_approve(request: HttpRequest, deal_id: uuid.UUID, payload: DealApproveIn) -> Status[Any]:
    """Staff: approve a registration; its protection window starts now.

    A registration with open conflicts is refused with 409 `open_conflicts` (`errors` lists each
    conflict) unless they are resolved first or `override_conflicts` is true with an `override_reason`
    (kept in the deal's history)."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    try:
        services.deal_approve(
            actor=actor,
            deal=deal,
            note=payload.note,
            override_conflicts=payload.override_conflicts,
            override_reason=payload.override_reason,
        )
    except OpenConflicts as exc:
        errors = [
            {"field": f"conflicts.{c['conflict']}", "code": "open_conflict", "message": c["text"]}
            for c in exc.conflicts
        ]
        message = f"{exc.summary} (send override_conflicts: true with an override_reason)"
        body = {"code": "open_conflicts", "message": message, "field": "override_conflicts"}
        return Status(409, {**body, "errors": errors})
    return Status(200, selectors.deal_get(actor=actor, public_id=deal_id))


@router.post("/deals/{deal_id}/reject", response={200: DealOut, **ERRORS})
def deal_reject(request: HttpRequest, deal_id: uuid.UUID, payload: DealRejectIn) -> Deal:
    """Staff: reject a registration with a reason the partner sees."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    services.deal_reject(actor=actor, deal=deal, reason=payload.reason)
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.post("/deals/{deal_id}/request-info", response={200: DealOut, **ERRORS})
def deal_request_info(request: HttpRequest, deal_id: uuid.UUID, payload: DealRequestInfoIn) -> Deal:
    """Staff: ask the partner for more information; their next edit resubmits the registration."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    services.deal_request_info(actor=actor, deal=deal, message=payload.message)
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.get("/deals/{deal_id}/history", response={200: list[DealStageChangeOut], **ERRORS}, by_alias=True)
@paginate(Pagination)
def deal_history(request: HttpRequest, deal_id: uuid.UUID) -> QuerySet[DealStageChange]:
    """Stage changes, oldest first; the first entry is the registration."""
    deal = selectors.deal_get(actor=_actor(request), public_id=deal_id)
    return selectors.stage_changes(deal=deal).order_by("changed_at", "id")


@router.get("/deals/{deal_id}/conflicts", response={200: list[DealConflictOut], **ERRORS}, tags=["conflicts"])
@paginate(Pagination)
def deal_conflicts(request: HttpRequest, deal_id: uuid.UUID) -> QuerySet[DealConflict]:
    """Staff only: the conflicts this deal is on either side of."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    _staff_only(actor)
    return selectors.conflict_list(actor=actor, deal=deal).select_related("deal__stage")


# --- conflicts ----------------------------------------------------------------------------------------


@router.get("/conflicts", response={200: list[DealConflictOut], **ERRORS}, tags=["conflicts"])
@paginate(Pagination)
def conflict_list(request: HttpRequest, filters: Query[ConflictQuery]) -> QuerySet[DealConflict]:
    """Staff only: possible duplicate registrations across partners, strongest match first."""
    actor = _actor(request)
    _staff_only(actor)
    conflicts = selectors.conflict_list(actor=actor).select_related("deal__stage")
    return conflicts.filter(status=filters.status) if filters.status else conflicts


@router.post(
    "/conflicts/{conflict_id}/resolve", response={200: DealConflictOut, **ERRORS}, tags=["conflicts"]
)
def conflict_resolve(
    request: HttpRequest, conflict_id: uuid.UUID, payload: ConflictResolveIn
) -> DealConflict:
    """Staff: approve one registration (rejecting the other with `reason`), mark co-sell, or dismiss."""
    actor = _actor(request)
    conflict = selectors.conflict_get(actor=actor, public_id=conflict_id)
    services.conflict_resolve(
        actor=actor, conflict=conflict, resolution=payload.resolution, reason=payload.reason
    )
    return selectors.conflict_get(actor=actor, public_id=conflict_id)


# --- metrics ------------------------------------------------------------------------------------------


@router.get("/metrics/deals", response={200: DealMetricsOut, **ERRORS}, tags=["metrics"])
def deal_metrics(request: HttpRequest, filters: Query[MetricsQuery]) -> dict[str, Any]:
    """Pipeline, weighted pipeline, win rate, deal size, time to close, velocity and revenue split."""
    actor = _actor(request)
    partner = None
    if filters.partner is not None:  # another partner's id answers 404, like a missing one
        partner = partner_selectors.partner_get(actor=actor, public_id=filters.partner)
    result = selectors.deal_metrics(actor=actor, partner=partner)
    summary = result.summary
    return {
        "currency": result.currency,
        "partner": partner.public_id if partner else None,
        "pipeline_value": summary.pipeline_value,
        "weighted_pipeline": summary.weighted_pipeline,
        "win_rate": summary.win_rate,
        "average_won_deal_size": summary.average_won_deal_size,
        "time_to_close": {
            "median_days": summary.time_to_close.median,
            "mean_days": summary.time_to_close.mean,
            "count": summary.time_to_close.count,
        },
        "sales_velocity": summary.sales_velocity,
        "revenue_split": summary.revenue_split,
        "counts": {
            "won": summary.won_count,
            "lost": summary.lost_count,
            "open": summary.open_count,
            "total": summary.deal_count,
        },
        "average_open_deal_age_days": summary.average_open_deal_age_days,
        "other_currency_deals": result.other_currency_deals,
    }
