"""Conflicts over HTTP: possible duplicate registrations across partners. They name other partners' deals,
so they are staff-only and answer 404 to partner users; a side outside a restricted staff member's
partners is masked (see ``schemas.conflicts``)."""

import uuid

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.deals import selectors, services
from openprm.deals.models import DealConflict
from openprm.deals.schemas import ConflictQuery, ConflictResolveIn, DealConflictOut

router = Router(tags=["conflicts"])


def _staff_only(actor: Actor) -> None:
    """Conflicts reveal other partners' deals: to a partner user they do not exist."""
    if actor.is_partner_user:
        raise Http404


@router.get(
    "/deals/{deal_id}/conflicts",
    response={200: list[DealConflictOut], **ERRORS},
    operation_id="openprm_deals_api_deal_conflicts",
)
@paginate(Pagination)
def deal_conflicts(request: HttpRequest, deal_id: uuid.UUID) -> QuerySet[DealConflict]:
    """Staff only: the conflicts this deal is on either side of."""
    actor = request_actor(request)
    deal = selectors.deal_get(actor=actor, public_id=deal_id)
    _staff_only(actor)
    return selectors.conflict_list(actor=actor, deal=deal).select_related("deal__stage")


@router.get(
    "/conflicts",
    response={200: list[DealConflictOut], **ERRORS},
    operation_id="openprm_deals_api_conflict_list",
)
@paginate(Pagination)
def conflict_list(request: HttpRequest, filters: Query[ConflictQuery]) -> QuerySet[DealConflict]:
    """Staff only: possible duplicate registrations across partners, strongest match first."""
    actor = request_actor(request)
    _staff_only(actor)
    conflicts = selectors.conflict_list(actor=actor).select_related("deal__stage")
    return conflicts.filter(status=filters.status) if filters.status else conflicts


@router.post(
    "/conflicts/{conflict_id}/resolve",
    response={200: DealConflictOut, **ERRORS},
    operation_id="openprm_deals_api_conflict_resolve",
)
def conflict_resolve(
    request: HttpRequest, conflict_id: uuid.UUID, payload: ConflictResolveIn
) -> DealConflict:
    """Staff: approve one registration (rejecting the other with `reason`), mark co-sell, or dismiss."""
    actor = request_actor(request)
    conflict = selectors.conflict_get(actor=actor, public_id=conflict_id)
    services.conflict_resolve(
        actor=actor, conflict=conflict, resolution=payload.resolution, reason=payload.reason
    )
    return selectors.conflict_get(actor=actor, public_id=conflict_id)
