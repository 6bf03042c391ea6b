"""Partners over HTTP, and who am I (interactions are events now: ``activity.api.interactions``).

Thin endpoints: parse (schemas) → one selector/service call → render. Ids are public UUIDs; an id outside
the caller's scope answers 404 exactly like a missing one (the selectors raise DoesNotExist). Writes are
permission-checked and audited by the services. Operation ids are pinned to those of the flat
``partners/api.py`` they came from: API clients generate their method names from them.
"""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.partners import selectors, services
from openprm.partners.models import Partner
from openprm.partners.schemas import (
    MeOut,
    PartnerCreate,
    PartnerOut,
    PartnerPatch,
    PartnerQuery,
    PartnerRemovedOut,
)

router = Router(tags=["partners"])


@router.get("/me", response={200: MeOut, **ERRORS}, tags=["accounts"], operation_id="openprm_partners_api_me")
def me(request: HttpRequest) -> MeOut:
    """Who the token (or session) belongs to: e-mail, role, and the partner of a partner user."""
    actor = request_actor(request)
    partner = selectors.partner_get_own(actor=actor)
    user: Any = request.user
    return MeOut(
        email=user.email,
        name=user.display_name,
        role=actor.role,
        partner=partner.public_id if partner else None,
    )


# --- partners -----------------------------------------------------------------------------------------


@router.get(
    "/partners", response={200: list[PartnerOut], **ERRORS}, operation_id="openprm_partners_api_partner_list"
)
@paginate(Pagination)
def partner_list(request: HttpRequest, filters: Query[PartnerQuery]) -> QuerySet[Partner]:
    return selectors.partner_list(actor=request_actor(request), filters=filters.to_filters())


@router.post(
    "/partners", response={201: PartnerOut, **ERRORS}, operation_id="openprm_partners_api_partner_create"
)
def partner_create(request: HttpRequest, payload: PartnerCreate) -> Status[Partner]:
    actor = request_actor(request)
    partner = services.partner_create(actor=actor, data=payload.to_input())
    return Status(201, selectors.partner_get(actor=actor, public_id=partner.public_id))


@router.get(
    "/partners/{public_id}",
    response={200: PartnerOut, **ERRORS},
    operation_id="openprm_partners_api_partner_get",
)
def partner_get(request: HttpRequest, public_id: uuid.UUID) -> Partner:
    return selectors.partner_get(actor=request_actor(request), public_id=public_id)


@router.patch(
    "/partners/{public_id}",
    response={200: PartnerOut, **ERRORS},
    operation_id="openprm_partners_api_partner_update",
)
def partner_update(request: HttpRequest, public_id: uuid.UUID, payload: PartnerPatch) -> Partner:
    actor = request_actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    services.partner_update(actor=actor, partner=partner, data=payload.to_input())
    return selectors.partner_get(actor=actor, public_id=public_id)


@router.delete(
    "/partners/{public_id}",
    response={200: PartnerRemovedOut, **ERRORS},
    operation_id="openprm_partners_api_partner_delete",
)
def partner_delete(request: HttpRequest, public_id: uuid.UUID) -> PartnerRemovedOut:
    """Archive the partner when it has any history (deals, events, clicks, agreements, changes): it is
    hidden and its portal logins suspended until restored. One without any history is deleted."""
    actor = request_actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    state = services.partner_delete(actor=actor, partner=partner)
    return PartnerRemovedOut(
        public_id=partner.public_id,
        state=state,  # type: ignore[arg-type]
        archived_at=partner.archived_at if state == "archived" else None,
    )


@router.post(
    "/partners/{public_id}/restore",
    response={200: PartnerOut, **ERRORS},
    operation_id="openprm_partners_api_partner_restore",
)
def partner_restore(request: HttpRequest, public_id: uuid.UUID) -> Partner:
    """Bring an archived partner back, with the portal logins its archiving suspended."""
    actor = request_actor(request)
    services.partner_restore(actor=actor, partner=selectors.partner_get(actor=actor, public_id=public_id))
    return selectors.partner_get(actor=actor, public_id=public_id)
