"""Customer accounts over HTTP. Everyone reads the accounts they may see (partner users their own
partner's, without the internal note); staff who edit partners write. Another partner's id is a 404."""

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.customers import selectors, services
from openprm.customers.models import CustomerAccount
from openprm.customers.schemas import AccountCreate, AccountOut, AccountPatch, AccountQuery
from openprm.partners.models import Partner
from openprm.partners.selectors import partner_get

router = Router(tags=["customers"])


def partner_of(actor: Actor, public_id: uuid.UUID) -> Partner:
    """The partner named in a body: one the actor may not see is a 422 on ``partner``, like a missing one."""
    try:
        return partner_get(actor=actor, public_id=public_id)
    except Partner.DoesNotExist:
        raise ValidationError({"partner": f"No partner with the id {public_id}."}) from None


@router.get("/customers/accounts", response={200: list[AccountOut], **ERRORS})
@paginate(Pagination)
def account_list(request: HttpRequest, filters: Query[AccountQuery]) -> QuerySet[CustomerAccount]:
    return selectors.account_list(actor=request_actor(request), filters=filters.to_filters())


@router.post("/customers/accounts", response={201: AccountOut, **ERRORS})
def account_create(request: HttpRequest, payload: AccountCreate) -> Status[CustomerAccount]:
    actor = request_actor(request)
    partner = partner_of(actor, payload.partner)
    return Status(201, services.account_create(actor=actor, partner=partner, data=payload.to_input()))


@router.get("/customers/accounts/{account_id}", response={200: AccountOut, **ERRORS})
def account_get(request: HttpRequest, account_id: uuid.UUID) -> CustomerAccount:
    return selectors.account_get(actor=request_actor(request), public_id=account_id)


@router.patch("/customers/accounts/{account_id}", response={200: AccountOut, **ERRORS})
def account_update(request: HttpRequest, account_id: uuid.UUID, payload: AccountPatch) -> CustomerAccount:
    actor = request_actor(request)
    account = selectors.account_get(actor=actor, public_id=account_id)
    partner = partner_of(actor, payload.partner) if payload.partner is not None else None
    return services.account_update(actor=actor, account=account, data=payload.to_input(), partner=partner)


@router.delete("/customers/accounts/{account_id}", response={204: None, **ERRORS})
def account_delete(request: HttpRequest, account_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.account_delete(actor=actor, account=selectors.account_get(actor=actor, public_id=account_id))
    return Status(204, None)
