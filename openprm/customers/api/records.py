"""An account's records over HTTP: changes, CSAT answers (partner channel and the direct baseline) and
usage months. Reads are scoped like the accounts (partner users: their own, no direct answers); staff who
edit partners write. An account named in a body that the caller may not see is a 422 on ``account``."""

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
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.customers.schemas import (
    ChangeCreate,
    ChangeOut,
    ChangePatch,
    ChangeQuery,
    CsatCreate,
    CsatOut,
    CsatPatch,
    CsatQuery,
    UsageCreate,
    UsageOut,
    UsagePatch,
    UsageQuery,
)

router = Router(tags=["customers"])


def _account(actor: Actor, public_id: uuid.UUID) -> CustomerAccount:
    try:
        return selectors.account_get(actor=actor, public_id=public_id)
    except CustomerAccount.DoesNotExist:
        raise ValidationError({"account": f"No customer account with the id {public_id}."}) from None


# --- changes -------------------------------------------------------------------------------------------


@router.get("/customers/changes", response={200: list[ChangeOut], **ERRORS})
@paginate(Pagination)
def change_list(request: HttpRequest, filters: Query[ChangeQuery]) -> QuerySet[AccountChange]:
    return selectors.change_list(actor=request_actor(request), filters=filters.to_filters())


@router.post("/customers/changes", response={201: ChangeOut, **ERRORS})
def change_create(request: HttpRequest, payload: ChangeCreate) -> Status[AccountChange]:
    actor = request_actor(request)
    account = _account(actor, payload.account)
    return Status(201, services.change_create(actor=actor, account=account, data=payload.to_input()))


@router.get("/customers/changes/{change_id}", response={200: ChangeOut, **ERRORS})
def change_get(request: HttpRequest, change_id: uuid.UUID) -> AccountChange:
    return selectors.change_get(actor=request_actor(request), public_id=change_id)


@router.patch("/customers/changes/{change_id}", response={200: ChangeOut, **ERRORS})
def change_update(request: HttpRequest, change_id: uuid.UUID, payload: ChangePatch) -> AccountChange:
    actor = request_actor(request)
    change = selectors.change_get(actor=actor, public_id=change_id)
    return services.change_update(actor=actor, change=change, data=payload.to_input())


@router.delete("/customers/changes/{change_id}", response={204: None, **ERRORS})
def change_delete(request: HttpRequest, change_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.change_delete(actor=actor, change=selectors.change_get(actor=actor, public_id=change_id))
    return Status(204, None)


# --- CSAT ----------------------------------------------------------------------------------------------


@router.get("/customers/csat", response={200: list[CsatOut], **ERRORS})
@paginate(Pagination)
def csat_list(request: HttpRequest, filters: Query[CsatQuery]) -> QuerySet[CsatResponse]:
    return selectors.csat_list(actor=request_actor(request), filters=filters.to_filters())


@router.post("/customers/csat", response={201: CsatOut, **ERRORS})
def csat_create(request: HttpRequest, payload: CsatCreate) -> Status[CsatResponse]:
    actor = request_actor(request)
    account = _account(actor, payload.account) if payload.account is not None else None
    return Status(201, services.csat_create(actor=actor, account=account, data=payload.to_input()))


@router.get("/customers/csat/{answer_id}", response={200: CsatOut, **ERRORS})
def csat_get(request: HttpRequest, answer_id: uuid.UUID) -> CsatResponse:
    return selectors.csat_get(actor=request_actor(request), public_id=answer_id)


@router.patch("/customers/csat/{answer_id}", response={200: CsatOut, **ERRORS})
def csat_update(request: HttpRequest, answer_id: uuid.UUID, payload: CsatPatch) -> CsatResponse:
    actor = request_actor(request)
    answer = selectors.csat_get(actor=actor, public_id=answer_id)
    return services.csat_update(actor=actor, answer=answer, data=payload.to_input())


@router.delete("/customers/csat/{answer_id}", response={204: None, **ERRORS})
def csat_delete(request: HttpRequest, answer_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.csat_delete(actor=actor, answer=selectors.csat_get(actor=actor, public_id=answer_id))
    return Status(204, None)


# --- usage ---------------------------------------------------------------------------------------------


@router.get("/customers/usage", response={200: list[UsageOut], **ERRORS})
@paginate(Pagination)
def usage_list(request: HttpRequest, filters: Query[UsageQuery]) -> QuerySet[UsageRecord]:
    return selectors.usage_list(actor=request_actor(request), filters=filters.to_filters())


@router.post("/customers/usage", response={200: UsageOut, 201: UsageOut, **ERRORS})
def usage_record(request: HttpRequest, payload: UsageCreate) -> Status[UsageRecord]:
    """Set an account's usage of a month: 201 when the month is new, 200 when its figures are replaced."""
    actor = request_actor(request)
    account = _account(actor, payload.account)
    record, created = services.usage_record(actor=actor, account=account, data=payload.to_input())
    return Status(201 if created else 200, record)


@router.get("/customers/usage/{record_id}", response={200: UsageOut, **ERRORS})
def usage_get(request: HttpRequest, record_id: uuid.UUID) -> UsageRecord:
    return selectors.usage_get(actor=request_actor(request), public_id=record_id)


@router.patch("/customers/usage/{record_id}", response={200: UsageOut, **ERRORS})
def usage_update(request: HttpRequest, record_id: uuid.UUID, payload: UsagePatch) -> UsageRecord:
    actor = request_actor(request)
    record = selectors.usage_get(actor=actor, public_id=record_id)
    return services.usage_update(actor=actor, record=record, data=payload.to_input())


@router.delete("/customers/usage/{record_id}", response={204: None, **ERRORS})
def usage_delete(request: HttpRequest, record_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    services.usage_delete(actor=actor, record=selectors.usage_get(actor=actor, public_id=record_id))
    return Status(204, None)
