"""Exchange rates over HTTP (``/api/v1/finance/fx-rates``): list (currency and day filters, pagination),
read, enter one by hand, enter many at once (all or nothing, errors naming the item), delete.

Every staff role reads (``Perm.COMMISSION_VIEW``); admins and finance staff write
(``Perm.PAYOUT_MANAGE``; others: 403). Partner users get nothing: 403 on the list, 404 on a rate. The ECB
file is imported on the import page or with ``prm import fx-rates FILE``.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.finance.models import FxRate, FxSource
from openprm.finance.schemas.fx import FxQuery, FxRateCreate, FxRateOut, FxRatesBulk, FxRatesBulkOut
from openprm.finance.selectors.fx import fx_rate_get, fx_rate_list
from openprm.finance.services.fx import FxItem, fx_rate_delete, fx_rate_enter, fx_rates_upsert

router = Router(tags=["finance"])


@router.get("/finance/fx-rates", response={200: list[FxRateOut], **ERRORS}, operation_id="finance_fx_list")
@paginate(Pagination)
def fx_list(request: HttpRequest, filters: Query[FxQuery]) -> QuerySet[FxRate]:
    return fx_rate_list(actor=request_actor(request), filters=filters.to_filters())


@router.post("/finance/fx-rates", response={201: FxRateOut, **ERRORS}, operation_id="finance_fx_create")
def fx_create(request: HttpRequest, payload: FxRateCreate) -> Status[FxRate]:
    actor = request_actor(request)
    rate = fx_rate_enter(
        actor=actor,
        day=payload.day,
        base=payload.base,
        quote=payload.quote,
        rate=payload.rate,
        overwrite=payload.overwrite,
    )
    return Status(201, rate)


@router.post(
    "/finance/fx-rates/bulk", response={200: FxRatesBulkOut, **ERRORS}, operation_id="finance_fx_bulk"
)
def fx_bulk(request: HttpRequest, payload: FxRatesBulk) -> FxRatesBulkOut:
    actor = request_actor(request)
    items = [FxItem(day=i.day, base=i.base, quote=i.quote, rate=i.rate) for i in payload.items]
    done = fx_rates_upsert(actor=actor, items=items, source=FxSource.MANUAL, overwrite=payload.overwrite)
    if done.errors:
        raise ValidationError({f"items.{e.index}.{e.field}": e.message for e in done.errors})
    return FxRatesBulkOut(created=done.created, updated=done.updated, unchanged=done.unchanged)


@router.get("/finance/fx-rates/{rate_id}", response={200: FxRateOut, **ERRORS}, operation_id="finance_fx_get")
def fx_get(request: HttpRequest, rate_id: uuid.UUID) -> FxRate:
    return fx_rate_get(actor=request_actor(request), public_id=rate_id)


@router.delete(
    "/finance/fx-rates/{rate_id}", response={204: None, **ERRORS}, operation_id="finance_fx_delete"
)
def fx_delete(request: HttpRequest, rate_id: uuid.UUID) -> Status[None]:
    actor = request_actor(request)
    fx_rate_delete(actor=actor, instance=fx_rate_get(actor=actor, public_id=rate_id))
    return Status(204, None)


__all__ = ["router"]
