"""Schemas of the product catalog API (``/products``)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints

from openprm.core.schemas import Input, NoNul, Patch
from openprm.deals.filters import ProductFilters
from openprm.deals.services import ProductInput

ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60), NoNul]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=3), NoNul]
Price = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), max_digits=16)]


class ProductCreate(Input):
    name: ProductName
    sku: Sku = ""
    list_price: Price = Decimal("0")
    currency: Currency | None = Field(None, description="ISO 4217 code; default: the workspace currency")
    is_active: bool = True

    def to_input(self) -> ProductInput:
        return ProductInput(**self.model_dump(exclude_none=True))  # type: ignore[typeddict-item]


class ProductPatch(Patch):
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

    def to_filters(self) -> ProductFilters:
        return ProductFilters(q=self.q or "", active=self.active)
