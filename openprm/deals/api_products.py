"""The product catalog over HTTP: staff list it; admins and partner managers create and change products
(audited; names unique per workspace). Partner users get 404 here, read-only staff 403 on writes."""

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.core.schemas import NoNul
from openprm.deals.models import Product
from openprm.deals.services import ProductInput, product_create, product_update
from openprm.partners.api import ERRORS
from openprm.partners.schemas import Pagination, _Input, _Patch

router = Router(tags=["products"])

ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60), NoNul]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=3), NoNul]
Price = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), max_digits=16)]


class ProductCreate(_Input):
    name: ProductName
    sku: Sku = ""
    list_price: Price = Decimal("0")
    currency: Currency | None = Field(None, description="ISO 4217 code; default: the workspace currency")
    is_active: bool = True

    def to_input(self) -> ProductInput:
        return ProductInput(**self.model_dump(exclude_none=True))  # type: ignore[typeddict-item]


class ProductPatch(_Patch):
    name: ProductName | None = None
    sku: Sku | None = None
    list_price: Price | None = None
    currency: Currency | None = None
    is_active: bool | None = Field(None, description="false: deactivate (deals naming it keep it)")

    def to_input(self) -> ProductInput:
        return ProductInput(**self.model_dump(exclude_unset=True))  # type: ignore[typeddict-item]


class ProductOut(Schema):
    public_id: uuid.UUID
    name: str
    sku: str
    list_price: Decimal
    currency: str
    is_active: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ProductQuery(Schema):
    q: Annotated[str, StringConstraints(max_length=200), NoNul] | None = Field(
        None, description="Name or SKU"
    )
    active: bool | None = Field(None, description="Only active (true) or inactive (false) products")


def _staff(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    assert isinstance(actor, Actor), "the API's auth classes set request.actor"
    if not actor.is_staff:
        raise Http404
    actor.require(Perm.PARTNER_VIEW)
    return actor


def _product(public_id: Any) -> Product:
    return Product.objects.get(public_id=parse_uuid(str(public_id)))


@router.get("/products", response={200: list[ProductOut], **ERRORS})
@paginate(Pagination)
def product_list(request: HttpRequest, filters: Query[ProductQuery]) -> QuerySet[Product]:
    _staff(request)
    queryset = Product.objects.order_by("name", "id")
    if filters.q:
        queryset = queryset.filter(name__icontains=filters.q) | queryset.filter(sku__iexact=filters.q)
    if filters.active is not None:
        queryset = queryset.filter(is_active=filters.active)
    return queryset


@router.post("/products", response={201: ProductOut, **ERRORS})
def product_post(request: HttpRequest, payload: ProductCreate) -> Status[Product]:
    return Status(201, product_create(actor=_staff(request), data=payload.to_input()))


@router.get("/products/{product_id}", response={200: ProductOut, **ERRORS})
def product_get(request: HttpRequest, product_id: uuid.UUID) -> Product:
    _staff(request)
    return _product(product_id)


@router.patch("/products/{product_id}", response={200: ProductOut, **ERRORS})
def product_patch(request: HttpRequest, product_id: uuid.UUID, payload: ProductPatch) -> Product:
    actor = _staff(request)
    return product_update(actor=actor, product=_product(product_id), data=payload.to_input())
