"""Deal registration and the pipeline over HTTP: deals, approvals, stages, history.

Thin endpoints: parse (schemas) → one selector/service call → render. A deal id outside the caller's scope
answers 404 exactly like a missing one: partner users see their partner's deals, partner reps only the
deals they registered (the scoped manager enforces both). Deals are rejected, never deleted: DELETE is a
405. Operation ids are pinned (``operation_id``): they are the API's public names, not the module path.
"""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import P, Query, Router, Status
from ninja.pagination import paginate
from ninja.params import HeaderEx

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.deals import selectors, services
from openprm.deals.models import Deal, DealStageChange, Outcome
from openprm.deals.schemas import (
    DealApproveIn,
    DealCreate,
    DealOut,
    DealPatch,
    DealQuery,
    DealRejectIn,
    DealRequestInfoIn,
    DealStageChangeOut,
    DealStageMove,
    IdempotencyKey,
)
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner, Program

router = Router(tags=["deals"])


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
        try:
            program = partner_selectors.program_get(actor=actor, public_id=payload.program)
        except Program.DoesNotExist:
            raise ValidationError({"program": "No such program."}) from None
        data["program_id"] = program.pk
    data["co_sellers"] = [
        (_partner_ref(actor, c.partner, f"co_sellers.{i}.partner").pk, str(c.role))
        for i, c in enumerate(payload.co_sellers)
    ]
    return data


# --- deals --------------------------------------------------------------------------------------------


@router.get("/deals", response={200: list[DealOut], **ERRORS}, operation_id="openprm_deals_api_deal_list")
@paginate(Pagination)
def deal_list(request: HttpRequest, filters: Query[DealQuery]) -> QuerySet[Deal]:
    actor = request_actor(request)
    deals = selectors.deal_list(actor=actor, filters=filters.to_filters()).prefetch_related(
        "line_items", "co_sellers__partner"
    )
    return deals if actor.is_partner_user else selectors.with_open_conflict_counts(deals)


@router.post(
    "/deals", response={201: DealOut, 200: DealOut, **ERRORS}, operation_id="openprm_deals_api_deal_register"
)
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
    actor = request_actor(request)
    deal, created = services.deal_register(
        actor=actor, data=_registration(actor, payload), idempotency_key=idempotency_key
    )
    return Status(201 if created else 200, selectors.deal_get(actor=actor, public_id=deal.public_id))


@router.get("/deals/{deal_id}", response={200: DealOut, **ERRORS}, operation_id="openprm_deals_api_deal_get")
def deal_get(request: HttpRequest, deal_id: uuid.UUID) -> Deal:
    return selectors.deal_get(actor=request_actor(request), public_id=deal_id)


@router.patch(
    "/deals/{deal_id}", response={200: DealOut, **ERRORS}, operation_id="openprm_deals_api_deal_update"
)
def deal_update(request: HttpRequest, deal_id: uuid.UUID, payload: DealPatch) -> Deal:
    """Edit a registration. Partner users may edit only while it awaits a decision."""
    actor = request_actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    services.deal_update(actor=actor, deal=deal, data=payload.to_input())
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.post(
    "/deals/{deal_id}/stage",
    response={200: DealOut, **ERRORS},
    operation_id="openprm_deals_api_deal_move_stage",
)
def deal_move_stage(request: HttpRequest, deal_id: uuid.UUID, payload: DealStageMove) -> Deal:
    """Move to another stage of the deal's program; partner users only once the deal is approved, and
    not once it is closed (won or lost: the outcome is final for them, staff may reopen)."""
    actor = request_actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    if actor.is_partner_user and deal.stage.outcome != Outcome.OPEN:
        raise ValidationError(
            {"stage": f"The deal is closed ({deal.stage.name}): its stage no longer changes."}
        )
    services.deal_move_stage(actor=actor, deal=deal, stage_key=payload.stage, lost_reason=payload.lost_reason)
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.post(
    "/deals/{deal_id}/approve",
    response={200: DealOut, **ERRORS},
    operation_id="openprm_deals_api_deal_approve",
)
def deal_approve(request: HttpRequest, deal_id: uuid.UUID, payload: DealApproveIn) -> Status[Any]:
    """Staff: approve a registration; its protection window starts now.

    A registration with open conflicts is refused with 409 `open_conflicts` (`errors` lists each
    conflict) unless they are resolved first or `override_conflicts` is true with an `override_reason`
    (kept in the deal's history)."""
    actor = request_actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    try:
        services.deal_approve(
            actor=actor,
            deal=deal,
            note=payload.note,
            override_conflicts=payload.override_conflicts,
            override_reason=payload.override_reason,
        )
    except services.OpenConflicts as exc:
        errors = [
            {"field": f"conflicts.{c['conflict']}", "code": "open_conflict", "message": c["text"]}
            for c in exc.conflicts
        ]
        message = f"{exc.summary} (send override_conflicts: true with an override_reason)"
        body = {"code": "open_conflicts", "message": message, "field": "override_conflicts"}
        return Status(409, {**body, "errors": errors})
    return Status(200, selectors.deal_get(actor=actor, public_id=deal_id))


@router.post(
    "/deals/{deal_id}/reject", response={200: DealOut, **ERRORS}, operation_id="openprm_deals_api_deal_reject"
)
def deal_reject(request: HttpRequest, deal_id: uuid.UUID, payload: DealRejectIn) -> Deal:
    """Staff: reject a registration with a reason the partner sees."""
    actor = request_actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    services.deal_reject(actor=actor, deal=deal, reason=payload.reason)
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.post(
    "/deals/{deal_id}/request-info",
    response={200: DealOut, **ERRORS},
    operation_id="openprm_deals_api_deal_request_info",
)
def deal_request_info(request: HttpRequest, deal_id: uuid.UUID, payload: DealRequestInfoIn) -> Deal:
    """Staff: ask the partner for more information; their next edit resubmits the registration."""
    actor = request_actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    services.deal_request_info(actor=actor, deal=deal, message=payload.message)
    return selectors.deal_get(actor=actor, public_id=deal_id)


@router.get(
    "/deals/{deal_id}/history",
    response={200: list[DealStageChangeOut], **ERRORS},
    by_alias=True,
    operation_id="openprm_deals_api_deal_history",
)
@paginate(Pagination)
def deal_history(request: HttpRequest, deal_id: uuid.UUID) -> QuerySet[DealStageChange]:
    """Stage changes, oldest first; the first entry is the registration."""
    deal = selectors.deal_get(actor=request_actor(request), public_id=deal_id)
    return selectors.stage_changes(deal=deal).order_by("changed_at", "id")
