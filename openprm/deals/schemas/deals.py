"""Schemas of the deals API: the list's query, registration and edit bodies, decisions and stage moves,
and the deal as answered.

Inputs reject bad data at the edge (bounded, NUL-free strings, finite non-negative money, closed enums) so
that bad input is a 4xx, never a database error; the services then apply the domain rules (e-mail and
domain syntax, stage keys, approval state).
"""

from __future__ import annotations

import datetime
import math
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, WithJsonSchema, field_validator

from openprm.core.schemas import Input, Long, Name, Patch, Short, StaffOnlyFields
from openprm.deals.filters import SORTS, DealFilters, close_month_range
from openprm.deals.models import Deal, DealCoSeller, DealLineItem, DealSource, DealStageChange
from openprm.deals.schemas.fields import (
    ApprovalIn,
    CloseDate,
    CoSellRoleIn,
    Currency,
    Key,
    Money,
    Note,
    Quantity,
    Reason,
    SourceIn,
    StageKey,
    Str40,
    Str200,
    Str254,
    Str300,
)
from openprm.deals.selectors import conflict_list
from openprm.deals.services import DealInput

# --- list filters -------------------------------------------------------------------------------------

SortKey = Literal[
    "registered", "-registered", "amount", "-amount", "close", "-close", "customer", "-customer"
]
assert set(SortKey.__args__) == set(SORTS)  # type: ignore[attr-defined]


class DealQuery(Schema):
    q: Str200 | None = Field(None, description="Customer name, domain, title, or exact external id")
    partner: uuid.UUID | None = Field(None, description="Partner public id")
    type: Str40 | None = Field(None, description="Partner type key, e.g. reseller")
    tier: uuid.UUID | None = Field(None, description="Tier public id")
    stage: StageKey | None = Field(None, description="Stage key, e.g. qualified")
    approval: ApprovalIn | None = None
    owner: Str40 | None = Field(None, description='Vendor-side owner: user public id, "me" or "none"')
    close_month: str | None = Field(
        None,
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        description="Expected close month, YYYY-MM (1900-01 to 2999-12)",
    )
    amount_min: Money | None = None
    amount_max: Money | None = None
    stalled: bool = Field(False, description="Only open deals past their stage's stall threshold")
    sort: SortKey = "-registered"

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        if value and value not in ("me", "none"):
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError('must be a user public id, "me" or "none"') from None
        return value

    @field_validator("close_month")
    @classmethod
    def _close_month(cls, value: str | None) -> str | None:
        if value:
            close_month_range(value)  # ValueError: a 422 naming the field
        return value

    def to_filters(self) -> DealFilters:
        values = self.model_dump(exclude_none=True)
        values["stalled"] = "1" if values.pop("stalled") else ""
        return DealFilters(**{k: str(v) for k, v in values.items()})


# --- deal input ---------------------------------------------------------------------------------------


class DealLineItemIn(Input):
    product: Name = Field(description="A catalog product name (its list price is the default) or free text")
    quantity: Quantity = Decimal("1")
    unit_price: Money | None = Field(None, description="Required unless the product is in the catalog")


class DealCoSellerIn(Input):
    partner: uuid.UUID = Field(description="Public id of the co-selling partner")
    role: CoSellRoleIn = DealCoSeller.Role.CO_SELL


def _property_value(value: Any) -> Any:
    # One validator rather than a union, so that an error names `properties.<key>`, not a union branch.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError("must be a 64-bit integer")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value
    if isinstance(value, str):
        if len(value) > 1000:
            raise ValueError("must be at most 1000 characters")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value
    raise ValueError("must be a string, number, boolean or null")


PropertyValue = Annotated[
    Any,
    AfterValidator(_property_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": 1000},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
Properties = dict[Key, PropertyValue]


class DealCreate(Input):
    partner: uuid.UUID | None = Field(
        None, description="Staff: public id of the registering partner (required). Partner users: leave out."
    )
    program: uuid.UUID | None = Field(
        None, description="Program public id; left out: the partner's default program"
    )
    customer_name: Name
    customer_domain: Str254 = ""
    contact_name: Str200 = ""
    contact_email: Str254 = ""
    amount: Money | None = Field(None, description="Decimal string or number; left out: sum of line items")
    currency: Currency | None = Field(None, description="ISO 4217; left out: the workspace currency")
    expected_close_date: CloseDate | None = None
    description: Long = ""
    source: SourceIn = DealSource.SOURCED
    title: Str200 = ""
    external_id: Short | None = None
    line_items: list[DealLineItemIn] = Field([], max_length=100)
    co_sellers: list[DealCoSellerIn] = Field([], max_length=20, description="Staff only")
    properties: Properties = Field({}, max_length=100)

    def to_input(self) -> DealInput:
        data = self.model_dump(exclude_unset=True, exclude={"partner", "program", "co_sellers"})
        data = {k: v for k, v in data.items() if v is not None or k == "expected_close_date"}
        if data.get("amount") is None:
            data["amount"] = Decimal("0") if self.line_items else None
        return data  # type: ignore[return-value]  # keys are DealInput's


class DealPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"expected_close_date", "external_id"})

    customer_name: Name | None = None
    customer_domain: Str254 | None = None
    contact_name: Str200 | None = None
    contact_email: Str254 | None = None
    amount: Money | None = None
    currency: Currency | None = None
    expected_close_date: CloseDate | None = None
    description: Long | None = None
    source: SourceIn | None = None
    title: Str200 | None = None
    external_id: Short | None = Field(None, description="Staff only; partner users' changes are ignored")
    line_items: list[DealLineItemIn] | None = Field(None, max_length=100, description="Replaces every line")
    properties: Properties | None = Field(None, max_length=100)

    def to_input(self) -> DealInput:
        return self.model_dump(exclude_unset=True)  # type: ignore[return-value]  # keys are DealInput's


class DealStageMove(Input):
    stage: StageKey = Field(description="Stage key, e.g. qualified, closed_won, closed_lost")
    lost_reason: Str300 = Field("", description="Required for a lost stage")


class DealApproveIn(Input):
    note: Note = ""
    override_conflicts: bool = Field(
        False, description="Approve although the registration has open conflicts (needs override_reason)"
    )
    override_reason: Note = Field(
        "", description="Why the conflicts are overridden; kept in the deal history"
    )


class DealRejectIn(Input):
    reason: Reason = Field(description="Shown to the partner")


class DealRequestInfoIn(Input):
    message: Reason = Field(description="What the partner should add; shown to them")


# --- deal output --------------------------------------------------------------------------------------


class DealRefOut(Schema):
    public_id: uuid.UUID
    name: str


class DealStageOut(Schema):
    key: str
    name: str
    outcome: str
    win_probability: float


class DealLineItemOut(Schema):
    product: str
    quantity: Decimal
    unit_price: Decimal
    total: Decimal

    @staticmethod
    def resolve_product(obj: DealLineItem) -> str:
        return obj.product_name


class DealCoSellerOut(Schema):
    partner: DealRefOut
    role: str


class DealOut(StaffOnlyFields):
    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset({"conflicts_open"})

    public_id: uuid.UUID
    external_id: str | None
    partner: DealRefOut
    program: DealRefOut
    customer_name: str
    customer_domain: str
    contact_name: str
    contact_email: str
    amount: Decimal = Field(description='Decimal string, e.g. "1200.00"')
    currency: str
    expected_close_date: datetime.date | None
    description: str
    source: str
    title: str
    stage: DealStageOut
    approval_status: str
    approval_note: str = Field(description="The vendor's note, rejection reason or information request")
    approval_due_at: datetime.datetime | None
    approval_overdue: bool
    protection_expires_at: datetime.datetime | None
    registered_at: datetime.datetime
    approved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    lost_reason: str
    line_items: list[DealLineItemOut]
    line_items_total: Decimal | None = Field(description="Sum of the line items; null without line items")
    amount_mismatch: bool = Field(description="The line items add up to something else than `amount`")
    co_sellers: list[DealCoSellerOut]
    properties: dict[str, Any]
    conflicts_open: int | None = Field(
        None, description="Staff only (the key is absent for partner users): open conflicts of this deal"
    )

    @staticmethod
    def resolve_approval_note(obj: Deal) -> str:
        return obj.decision_note

    @staticmethod
    def resolve_line_items(obj: Deal) -> list[DealLineItem]:
        return list(obj.line_items.all())

    @staticmethod
    def resolve_line_items_total(obj: Deal) -> Decimal | None:
        lines = list(obj.line_items.all())
        return sum((li.total for li in lines), Decimal("0")) if lines else None

    @staticmethod
    def resolve_amount_mismatch(obj: Deal) -> bool:
        lines = list(obj.line_items.all())
        return bool(lines) and sum((li.total for li in lines), Decimal("0")) != obj.amount

    @staticmethod
    def resolve_co_sellers(obj: Deal) -> list[DealCoSeller]:
        return list(obj.co_sellers.all())

    @staticmethod
    def resolve_conflicts_open(obj: Deal, context: Any) -> int | None:
        request = (context or {}).get("request")
        actor = getattr(request, "actor", None)
        if actor is None or actor.is_partner_user:
            return None
        if hasattr(obj, "conflicts_open"):  # annotated by the list endpoint
            return int(obj.conflicts_open)
        return conflict_list(actor=actor, deal=obj, open_only=True).count()


class DealStageChangeOut(Schema):
    from_: str | None = Field(
        serialization_alias="from", description="Stage key left; null for the registration"
    )
    to: str = Field(description="Stage key entered")
    changed_at: datetime.datetime
    actor: str
    lost_reason: str

    @staticmethod
    def resolve_from_(obj: DealStageChange) -> str | None:
        return obj.from_stage.key if obj.from_stage else None

    @staticmethod
    def resolve_to(obj: DealStageChange) -> str:
        return obj.to_stage.key

    @staticmethod
    def resolve_actor(obj: DealStageChange) -> str:
        return obj.actor_label
