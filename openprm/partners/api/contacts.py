"""A partner's contacts over HTTP (operation ids pinned to those of the flat ``partners/api.py``)."""

import uuid

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.partners import selectors, services
from openprm.partners.models import Contact
from openprm.partners.schemas import ContactCreate, ContactOut, ContactPatch

router = Router(tags=["contacts"])


@router.get(
    "/partners/{public_id}/contacts",
    response={200: list[ContactOut], **ERRORS},
    operation_id="openprm_partners_api_contact_list",
)
@paginate(Pagination)
def contact_list(request: HttpRequest, public_id: uuid.UUID) -> QuerySet[Contact]:
    actor = request_actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return selectors.contact_list(actor=actor, partner=partner).order_by("-is_primary", "name", "id")


@router.post(
    "/partners/{public_id}/contacts",
    response={201: ContactOut, **ERRORS},
    operation_id="openprm_partners_api_contact_create",
)
def contact_create(request: HttpRequest, public_id: uuid.UUID, payload: ContactCreate) -> Status[Contact]:
    actor = request_actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return Status(201, services.contact_create(actor=actor, partner=partner, data=payload.model_dump()))


@router.get(
    "/contacts/{public_id}",
    response={200: ContactOut, **ERRORS},
    operation_id="openprm_partners_api_contact_get",
)
def contact_get(request: HttpRequest, public_id: uuid.UUID) -> Contact:
    return selectors.contact_get(actor=request_actor(request), public_id=public_id)


@router.patch(
    "/contacts/{public_id}",
    response={200: ContactOut, **ERRORS},
    operation_id="openprm_partners_api_contact_update",
)
def contact_update(request: HttpRequest, public_id: uuid.UUID, payload: ContactPatch) -> Contact:
    actor = request_actor(request)
    contact = selectors.contact_get(actor=actor, public_id=public_id)
    return services.contact_update(actor=actor, contact=contact, data=payload.model_dump(exclude_unset=True))


@router.delete(
    "/contacts/{public_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_partners_api_contact_delete",
)
def contact_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.contact_delete(actor=actor, contact=selectors.contact_get(actor=actor, public_id=public_id))
    return Status(204, None)
