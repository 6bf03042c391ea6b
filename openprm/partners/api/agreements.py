"""A partner's agreements over HTTP (operation ids pinned to those of the flat ``partners/api.py``)."""

import uuid

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.partners import selectors, services
from openprm.partners.models import Agreement
from openprm.partners.schemas import AgreementCreate, AgreementOut, AgreementPatch

router = Router(tags=["agreements"])


@router.get(
    "/partners/{public_id}/agreements",
    response={200: list[AgreementOut], **ERRORS},
    operation_id="openprm_partners_api_agreement_list",
)
@paginate(Pagination)
def agreement_list(request: HttpRequest, public_id: uuid.UUID) -> QuerySet[Agreement]:
    actor = request_actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return selectors.agreement_list(actor=actor, partner=partner)


@router.post(
    "/partners/{public_id}/agreements",
    response={201: AgreementOut, **ERRORS},
    operation_id="openprm_partners_api_agreement_create",
)
def agreement_create(
    request: HttpRequest, public_id: uuid.UUID, payload: AgreementCreate
) -> Status[Agreement]:
    actor = request_actor(request)
    partner = selectors.partner_get(actor=actor, public_id=public_id)
    return Status(201, services.agreement_create(actor=actor, partner=partner, data=payload.model_dump()))


@router.get(
    "/agreements/{public_id}",
    response={200: AgreementOut, **ERRORS},
    operation_id="openprm_partners_api_agreement_get",
)
def agreement_get(request: HttpRequest, public_id: uuid.UUID) -> Agreement:
    return selectors.agreement_get(actor=request_actor(request), public_id=public_id)


@router.patch(
    "/agreements/{public_id}",
    response={200: AgreementOut, **ERRORS},
    operation_id="openprm_partners_api_agreement_update",
)
def agreement_update(request: HttpRequest, public_id: uuid.UUID, payload: AgreementPatch) -> Agreement:
    actor = request_actor(request)
    agreement = selectors.agreement_get(actor=actor, public_id=public_id)
    return services.agreement_update(
        actor=actor, agreement=agreement, data=payload.model_dump(exclude_unset=True)
    )


@router.delete(
    "/agreements/{public_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_partners_api_agreement_delete",
)
def agreement_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.agreement_delete(
        actor=actor, agreement=selectors.agreement_get(actor=actor, public_id=public_id)
    )
    return Status(204, None)
