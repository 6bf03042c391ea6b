"""The partner database over HTTP: partners, contacts, agreements, and who am I (interactions are
events now: ``activity.api.engagement``).

Thin endpoints: parse (schemas) → one selector/service call → render. Ids are public UUIDs; an id outside the
caller's scope answers 404 exactly like a missing one (the selectors raise DoesNotExist). Writes are
permission-checked and audited by the services.
"""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate
from ninja.responses import codes_4xx

from openprm.core.actors import Actor
from openprm.partners import selectors, services
from openprm.partners.models import Agreement, Contact, Partner
from openprm.partners.schemas import (
    AgreementCreate,
    AgreementOut,
    AgreementPatch,
    ContactCreate,
    ContactOut,
    ContactPatch,
    ErrorOut,
    MeOut,
    Pagination,
    PartnerCreate,
    PartnerOut,
    PartnerPatch,
    PartnerQuery,
    PartnerRemovedOut,
)

router = Router(tags=["partners"])

ERRORS: dict[Any, Any] = {codes_4xx: ErrorOut}


def _actor(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    assert isinstance(actor, Actor), "the API's auth classes set request.actor"
    return actor


# --- me -----------------------------------------------------------------------------------------------


@router.get("/me", response={200: MeOut, **ERRORS}, tags=["accounts"])
def me(request: HttpRequest) -> MeOut:
    """Who the token (or session) belongs to: e-mail, role, and the partner of a partner user."""
    actor = _actor(request)
    partner = selectors.partner_get_own(actor=actor)
    user: Any = request.user
    return MeOut(
        email=user.email,
        name=user.display_name,
        role=actor.role,
        partner=partner.public_id if partner else None,
    )


# --- partners -----------------------------------------------------------------------------------------


@router.get("/partners", response={200: list[PartnerOut], **ERRORS})
@paginate(Pagination)
def partner_list(request: HttpRequest, filters: Query[PartnerQuery]) -> QuerySet[Partner]:
    return selectors.partner_list(actor=_actor(request), filters=filters.to_filters())


@router.post("/partners", response={201: PartnerOut, **ERRORS})
def partner_create(request: HttpRequest, payload: PartnerCreate) -> Status[Partner]:
    actor = _actor(request)
    partner = services.partner_create(actor=actor, data=payload.to_input())
    return Status(201, selectors.partner_get(actor=actor, public_id=partner.public_id))


@router.get("/partners/{public_id}", response={200: PartnerOut, **ERRORS})
def partner_get(request: HttpRequest, public_id: uuid.UUID) -> Partner:
    return selectors.partner_get(actor=_actor(request), public_id=public_id)


@router.patch("/partners/{public_id}", response={200: PartnerOut, **ERRORS})
def partner_update(request: HttpRequest, public_id: uuid.UUID, payload: PartnerPatch) -> Partner:
    actor = _actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    services.partner_update(actor=actor, partner=partner, data=payload.to_input())
    return selectors.partner_get(actor=actor, public_id=public_id)


@router.delete("/partners/{public_id}", response={200: PartnerRemovedOut, **ERRORS})
def partner_delete(request: HttpRequest, public_id: uuid.UUID) -> PartnerRemovedOut:
    """Archive the partner when it has any history (deals, events, clicks, agreements, changes): it is
    hidden and its portal logins suspended until restored. One without any history is deleted."""
    actor = _actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    state = services.partner_delete(actor=actor, partner=partner)
    return PartnerRemovedOut(
        public_id=partner.public_id,
        state=state,  # type: ignore[arg-type]
        archived_at=partner.archived_at if state == "archived" else None,
    )


@router.post("/partners/{public_id}/restore", response={200: PartnerOut, **ERRORS})
def partner_restore(request: HttpRequest, public_id: uuid.UUID) -> Partner:
    """Bring an archived partner back, with the portal logins its archiving suspended."""
    actor = _actor(request)
    services.partner_restore(actor=actor, partner=selectors.partner_get(actor=actor, public_id=public_id))
    return selectors.partner_get(actor=actor, public_id=public_id)


# --- contacts -----------------------------------------------------------------------------------------


@router.get("/partners/{public_id}/contacts", response={200: list[ContactOut], **ERRORS}, tags=["contacts"])
@paginate(Pagination)
def contact_list(request: HttpRequest, public_id: uuid.UUID) -> QuerySet[Contact]:
    actor = _actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return selectors.contact_list(actor=actor, partner=partner).order_by("-is_primary", "name", "id")


@router.post("/partners/{public_id}/contacts", response={201: ContactOut, **ERRORS}, tags=["contacts"])
def contact_create(request: HttpRequest, public_id: uuid.UUID, payload: ContactCreate) -> Status[Contact]:
    actor = _actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return Status(201, services.contact_create(actor=actor, partner=partner, data=payload.model_dump()))


@router.get("/contacts/{public_id}", response={200: ContactOut, **ERRORS}, tags=["contacts"])
def contact_get(request: HttpRequest, public_id: uuid.UUID) -> Contact:
    return selectors.contact_get(actor=_actor(request), public_id=public_id)


@router.patch("/contacts/{public_id}", response={200: ContactOut, **ERRORS}, tags=["contacts"])
def contact_update(request: HttpRequest, public_id: uuid.UUID, payload: ContactPatch) -> Contact:
    actor = _actor(request)
    contact = selectors.contact_get(actor=actor, public_id=public_id)
    return services.contact_update(actor=actor, contact=contact, data=payload.model_dump(exclude_unset=True))


@router.delete("/contacts/{public_id}", response={204: None, **ERRORS}, tags=["contacts"])
def contact_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = _actor(request)
    services.contact_delete(actor=actor, contact=selectors.contact_get(actor=actor, public_id=public_id))
    return Status(204, None)


# --- agreements ---------------------------------------------------------------------------------------


@router.get(
    "/partners/{public_id}/agreements", response={200: list[AgreementOut], **ERRORS}, tags=["agreements"]
)
@paginate(Pagination)
def agreement_list(request: HttpRequest, public_id: uuid.UUID) -> QuerySet[Agreement]:
    actor = _actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return selectors.agreement_list(actor=actor, partner=partner)


@router.post("/partners/{public_id}/agreements", response={201: AgreementOut, **ERRORS}, tags=["agreements"])
def agreement_create(
    request: HttpRequest, public_id: uuid.UUID, payload: AgreementCreate
) -> Status[Agreement]:
    actor = _actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return Status(201, services.agreement_create(actor=actor, partner=partner, data=payload.model_dump()))


@router.get("/agreements/{public_id}", response={200: AgreementOut, **ERRORS}, tags=["agreements"])
def agreement_get(request: HttpRequest, public_id: uuid.UUID) -> Agreement:
    return selectors.agreement_get(actor=_actor(request), public_id=public_id)


@router.patch("/agreements/{public_id}", response={200: AgreementOut, **ERRORS}, tags=["agreements"])
def agreement_update(request: HttpRequest, public_id: uuid.UUID, payload: AgreementPatch) -> Agreement:
    actor = _actor(request)
    agreement = selectors.agreement_get(actor=actor, public_id=public_id)
    return services.agreement_update(
        actor=actor, agreement=agreement, data=payload.model_dump(exclude_unset=True)
    )


@router.delete("/agreements/{public_id}", response={204: None, **ERRORS}, tags=["agreements"])
def agreement_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = _actor(request)
    services.agreement_delete(
        actor=actor, agreement=selectors.agreement_get(actor=actor, public_id=public_id)
    )
    return Status(204, None)
