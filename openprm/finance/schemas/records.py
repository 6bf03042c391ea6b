"""Schemas of ``/finance/costs``, ``/finance/invoices``, ``/finance/sellthrough`` and
``/finance/company-revenue``. Months are given as any date of the month and answered as its first day."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from openprm.core.schemas import STAFF_ONLY_NOTE, Input, NoNul, Patch, StaffOnlyFields, enum_schema
from openprm.finance.filters import INVOICE_STATUSES, FinanceFilters
from openprm.finance.models import CostCategory

Amount = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), max_digits=16)]
Units = Annotated[int, Field(ge=0, le=2_000_000_000)]
Note = Annotated[str, StringConstraints(max_length=2000), NoNul]
Number = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul]
Region = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60), NoNul]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=3), NoNul]
Category = Annotated[str, enum_schema(list(CostCategory.values)), StringConstraints(max_length=12), NoNul]
Month = Annotated[datetime.date, Field(description="Any date of the month (stored as its first day)")]
Day = Annotated[datetime.date, Field(ge=datetime.date(1900, 1, 1), le=datetime.date(9999, 12, 31))]
PartnerRef = Annotated[uuid.UUID, Field(description="Partner public id")]


class PartnerRefOut(Schema):
    public_id: uuid.UUID
    name: str


class _In(Input):
    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude={"partner"}, exclude_none=True)


class _Patch(Patch):
    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude={"partner"}, exclude_unset=True)


class CostCreate(_In):
    partner: PartnerRef
    period: Month
    category: Category
    amount: Amount
    note: Note = ""


class CostPatch(_Patch):
    partner: PartnerRef | None = None
    period: Month | None = None
    category: Category | None = None
    amount: Amount | None = None
    note: Note | None = None


class CostOut(Schema):
    public_id: uuid.UUID
    partner: PartnerRefOut
    period: datetime.date
    category: str
    amount: Decimal
    note: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class InvoiceCreate(_In):
    partner: PartnerRef
    number: Number
    issued_on: Day
    due_on: Day
    amount: Amount
    currency: Currency | None = Field(None, description="ISO 4217 code; default: the workspace currency")
    paid_on: Day | None = None
    disputed: bool = False
    corrected: bool = False
    note: Note = Field("", description="Internal: never shown to partner users")


class InvoicePatch(_Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"paid_on"})

    partner: PartnerRef | None = None
    number: Number | None = None
    issued_on: Day | None = None
    due_on: Day | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    paid_on: Day | None = Field(None, description="null: not paid")
    disputed: bool | None = None
    corrected: bool | None = None
    note: Note | None = None


class InvoiceOut(StaffOnlyFields):
    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset({"note"})

    public_id: uuid.UUID
    partner: PartnerRefOut
    number: str
    issued_on: datetime.date
    due_on: datetime.date
    amount: Decimal
    currency: str
    paid_on: datetime.date | None
    paid_on_time: bool | None = Field(description="null while unpaid")
    disputed: bool
    corrected: bool
    note: str = Field("", description=STAFF_ONLY_NOTE)
    created_at: datetime.datetime
    updated_at: datetime.datetime


class SellThroughCreate(_In):
    partner: PartnerRef
    period: Month
    sku: Sku
    region: Region = ""
    units_sold: Units = 0
    units_on_hand: Units = Field(0, description="At the end of the month")
    unit_price: Amount = Field(description="Price charged per unit")
    list_price: Amount


class SellThroughPatch(_Patch):
    partner: PartnerRef | None = None
    period: Month | None = None
    sku: Sku | None = None
    region: Region | None = None
    units_sold: Units | None = None
    units_on_hand: Units | None = None
    unit_price: Amount | None = None
    list_price: Amount | None = None


class SellThroughOut(Schema):
    public_id: uuid.UUID
    partner: PartnerRefOut
    period: datetime.date
    sku: str
    region: str
    units_sold: int
    units_on_hand: int
    unit_price: Decimal
    list_price: Decimal
    created_at: datetime.datetime
    updated_at: datetime.datetime


class CompanyRevenueCreate(_In):
    period: Month
    amount: Amount
    note: Note = ""


class CompanyRevenuePatch(_Patch):
    period: Month | None = None
    amount: Amount | None = None
    note: Note | None = None


class CompanyRevenueOut(Schema):
    public_id: uuid.UUID
    period: datetime.date
    amount: Decimal
    note: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


Text60 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60), NoNul]


class FinanceQuery(Schema):
    partner: uuid.UUID | None = Field(None, description="Partner public id")
    start: Day | None = Field(None, description="From this day (months: from its month; invoices: issued)")
    end: Day | None = Field(None, description="Up to this day, included")
    category: Annotated[Category | None, Field(description="Costs: the category")] = None
    status: Literal["paid", "unpaid", "overdue", "late", "disputed", "corrected"] | None = Field(
        None, description="Invoices: " + ", ".join(INVOICE_STATUSES)
    )
    sku: Text60 | None = Field(None, description="Sell-through: the SKU")
    region: Text60 | None = Field(None, description="Sell-through: the region")

    def to_filters(self) -> FinanceFilters:
        return FinanceFilters(
            partner=str(self.partner or ""),
            start=self.start,
            end=self.end,
            category=self.category or "",
            status=self.status or "",
            sku=self.sku or "",
            region=self.region or "",
        )
