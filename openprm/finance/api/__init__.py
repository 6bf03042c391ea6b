"""Finance over HTTP (under ``/api/v1/finance/``): list (filters, pagination), create, read, change and
delete partnership costs, invoices, sell-through lines and company revenue; exchange rates in ``fx``.

Staff read every kind (restricted staff: their own partners' rows); admins and finance staff write
(others: 403). Partner users read their own partner's invoices (without the internal note) and
sell-through lines; costs, company revenue and other partners' rows answer 404 to them, like missing ones.
"""

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.finance import selectors, services
from openprm.finance.schemas import (
    CompanyRevenueCreate,
    CompanyRevenueOut,
    CompanyRevenuePatch,
    CostCreate,
    CostOut,
    CostPatch,
    FinanceQuery,
    InvoiceCreate,
    InvoiceOut,
    InvoicePatch,
    SellThroughCreate,
    SellThroughOut,
    SellThroughPatch,
)
from openprm.finance.services import Kind
from openprm.partners import selectors as partner_selectors

router = Router(tags=["finance"])


def _data(actor: Actor, payload: Any) -> dict[str, Any]:
    """The service input of a body: its fields, with ``partner`` (a public id) as the partner's id."""
    data: dict[str, Any] = payload.to_input()
    partner = getattr(payload, "partner", None)
    if partner is not None:
        try:
            data["partner_id"] = partner_selectors.partner_get(actor=actor, public_id=partner).pk
        except ObjectDoesNotExist:
            raise ValidationError({"partner": "No such partner."}) from None
    return data


def _crud(kind: Kind, path: str, out: type[Schema], create: type[Schema], patch: type[Schema]) -> None:
    """The five endpoints of one kind of record."""
    op = kind.name.replace("-", "_")

    @router.get(f"/finance/{path}", response={200: list[out], **ERRORS}, operation_id=f"finance_{op}_list")  # type: ignore[valid-type]
    @paginate(Pagination)
    def record_list(request: HttpRequest, filters: Query[FinanceQuery]) -> QuerySet[Any]:
        actor = request_actor(request)
        return selectors.record_list(actor=actor, kind=kind, filters=filters.to_filters())

    @router.post(f"/finance/{path}", response={201: out, **ERRORS}, operation_id=f"finance_{op}_create")
    def record_post(request: HttpRequest, payload: create) -> Status[Any]:  # type: ignore[valid-type]
        actor = request_actor(request)
        services.require_writer(actor)
        return Status(201, services.record_create(actor=actor, kind=kind, data=_data(actor, payload)))

    @router.get(
        f"/finance/{path}/{{record_id}}", response={200: out, **ERRORS}, operation_id=f"finance_{op}_get"
    )
    def record_get(request: HttpRequest, record_id: uuid.UUID) -> Any:
        return selectors.record_get(actor=request_actor(request), kind=kind, public_id=record_id)

    @router.patch(
        f"/finance/{path}/{{record_id}}", response={200: out, **ERRORS}, operation_id=f"finance_{op}_patch"
    )
    def record_patch(request: HttpRequest, record_id: uuid.UUID, payload: patch) -> Any:  # type: ignore[valid-type]
        actor = request_actor(request)
        instance = selectors.record_get(actor=actor, kind=kind, public_id=record_id)
        return services.record_update(actor=actor, kind=kind, instance=instance, data=_data(actor, payload))

    @router.delete(
        f"/finance/{path}/{{record_id}}", response={204: None, **ERRORS}, operation_id=f"finance_{op}_delete"
    )
    def record_delete(request: HttpRequest, record_id: uuid.UUID) -> Status[None]:
        actor = request_actor(request)
        instance = selectors.record_get(actor=actor, kind=kind, public_id=record_id)
        services.record_delete(actor=actor, kind=kind, instance=instance)
        return Status(204, None)


_crud(services.COSTS, "costs", CostOut, CostCreate, CostPatch)
_crud(services.INVOICES, "invoices", InvoiceOut, InvoiceCreate, InvoicePatch)
_crud(services.SELLTHROUGH, "sellthrough", SellThroughOut, SellThroughCreate, SellThroughPatch)
_crud(
    services.COMPANY_REVENUE, "company-revenue", CompanyRevenueOut, CompanyRevenueCreate, CompanyRevenuePatch
)

router.add_router("", "openprm.finance.api.fx.router")  # exchange rates (api/fx.py)

__all__ = ["router"]
