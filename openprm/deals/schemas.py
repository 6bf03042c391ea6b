"""Per-endpoint input/output schemas of the deals API.

Inputs reject bad data at the edge (bounded, NUL-free strings, finite non-negative money, closed enums) so
that bad input is a 4xx, never a database error; the services then apply the domain rules (e-mail and
domain syntax, stage keys, approval state). The error model and pagination are the partner API's, so the
whole API documents one ``ErrorOut`` and one ``{"items", "count"}`` page.
"""

from __future__ import annotations

import datetime
import math
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import (
    AfterValidator,
    ConfigDict,
    SerializerFunctionWrapHandler,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from openprm.core.schemas import Long, Name, NoNul
from openprm.deals.models import (
    ApprovalStatus,
    ConflictStatus,
    Deal,
    DealConflict,
    DealCoSeller,
    DealLineItem,
    DealSource,
    DealStageChange,
)
from openprm.deals.selectors import SORTS, DealFilters, close_month_range
from openprm.deals.services import MAX_AMOUNT, DealInput, Resolution
from openprm.partners.schemas import ErrorOut, Pagination

__all__ = ["ErrorOut", "Pagination"]  # shared with the partner API (one error model, one page shape)

# --- building blocks ----------------------------------------------------------------------------------

Str40 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), NoNul]
Str100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]
Str200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
Str254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), NoNul]
Str300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), NoNul]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), NoNul]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NoNul]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), NoNul]
StageKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[-a-zA-Z0-9_]+$")
]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
IdempotencyKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("9999999999.99"), allow_inf_nan=False)]
CloseDate = Annotated[datetime.date, Field(ge=datetime.date(1900, 1, 1), le=datetime.date(2999, 12, 31))]


def _enum(values: list[str]) -> WithJsonSchema:
    # Inline enum (no $ref): several models have an inner `Role`/`Kind` class and their names would clash.
    return WithJsonSchema({"type": "string", "enum": values})


SourceIn = Annotated[DealSource, _enum(DealSource.values)]
CoSellRoleIn = Annotated[DealCoSeller.Role, _enum(DealCoSeller.Role.values)]
ApprovalIn = Annotated[ApprovalStatus, _enum(ApprovalStatus.values)]
ConflictStatusIn = Annotated[ConflictStatus, _enum(ConflictStatus.values)]
ResolutionIn = Literal["approve_this", "approve_other", "co_sell", "dismiss"]
assert set(ResolutionIn.__args__) == {  # type: ignore[attr-defined]
    Resolution.APPROVE_THIS,
    Resolution.APPROVE_OTHER,
    Resolution.CO_SELL,
    Resolution.DISMISS,
}


class _Input(Schema):
    """Base of request bodies: a JSON object, without unknown keys (a typo is a 422, not a silent no-op)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _object(cls, data: Any) -> Any:
        # Ninja validates the raw value first (extra="forbid"), then again wrapped in a DjangoGetter.
        if not isinstance(data, dict | DjangoGetter):
            raise ValueError("the request body must be a JSON object")
        return data


class _Patch(_Input):
    """Base of PATCH schemas: sending ``null`` for a non-nullable field is a 422 naming that field."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may be left out, but not null")
        return value


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


class ConflictQuery(Schema):
    status: ConflictStatusIn | None = Field(None, description="e.g. open; left out: every status")


class MetricsQuery(Schema):
    partner: uuid.UUID | None = Field(None, description="One partner's public id; left out: all you can see")


# --- deal input ---------------------------------------------------------------------------------------


class DealLineItemIn(_Input):
    product: Name = Field(description="A catalog product name (its list price is the default) or free text")
    quantity: Quantity = Decimal("1")
    unit_price: Money | None = Field(None, description="Required unless the product is in the catalog")


class DealCoSellerIn(_Input):
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


class DealCreate(_Input):
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
    external_id: Str100 | None = None
    line_items: list[DealLineItemIn] = Field([], max_length=100)
    co_sellers: list[DealCoSellerIn] = Field([], max_length=20, description="Staff only")
    properties: Properties = Field({}, max_length=100)

    def to_input(self) -> DealInput:
        data = self.model_dump(exclude_unset=True, exclude={"partner", "program", "co_sellers"})
        data = {k: v for k, v in data.items() if v is not None or k == "expected_close_date"}
        if data.get("amount") is None:
            data["amount"] = Decimal("0") if self.line_items else None
        return data  # type: ignore[return-value]  # keys are DealInput's


class DealPatch(_Patch):
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
    external_id: Str100 | None = Field(None, description="Staff only; partner users' changes are ignored")
    line_items: list[DealLineItemIn] | None = Field(None, max_length=100, description="Replaces every line")
    properties: Properties | None = Field(None, max_length=100)

    def to_input(self) -> DealInput:
        return self.model_dump(exclude_unset=True)  # type: ignore[return-value]  # keys are DealInput's


class DealStageMove(_Input):
    stage: StageKey = Field(description="Stage key, e.g. qualified, closed_won, closed_lost")
    lost_reason: Str300 = Field("", description="Required for a lost stage")


class DealApproveIn(_Input):
    note: Note = ""
    override_conflicts: bool = Field(
        False, description="Approve although the registration has open conflicts (needs override_reason)"
    )
    override_reason: Note = Field(
        "", description="Why the conflicts are overridden; kept in the deal history"
    )


class DealRejectIn(_Input):
    reason: Reason = Field(description="Shown to the partner")


class DealRequestInfoIn(_Input):
    message: Reason = Field(description="What the partner should add; shown to them")


class ConflictResolveIn(_Input):
    resolution: ResolutionIn = Field(
        description=(
            "approve_this: approve this conflict's deal and reject the other; approve_other: the reverse; "
            "co_sell: keep both, the later partner co-sells the first-in deal; dismiss: not the same customer"
        )
    )
    reason: Note = Field("", description="Required when one registration is rejected; shown to that partner")


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


class DealOut(Schema):
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
        from openprm.deals import selectors

        return selectors.conflict_list(actor=actor, deal=obj, open_only=True).count()

    @model_serializer(mode="wrap")  # unannotated return: the schema stays the model's own
    def _staff_only(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data: dict[str, Any] = handler(self)
        if data.get("conflicts_open") is None:
            data.pop("conflicts_open", None)
        return data


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


# --- conflicts ----------------------------------------------------------------------------------------


class DealConflictSideOut(Schema):
    """One side of a conflict. A side outside what the caller may see (staff restricted to the partners
    they own) says only that it exists: ``visible`` false and every other field null."""

    visible: bool = Field(True, description="False: a registration outside your partners (details hidden)")
    public_id: uuid.UUID | None
    partner: DealRefOut | None
    customer_name: str | None
    customer_domain: str | None
    amount: Decimal | None
    currency: str | None
    stage: str | None
    approval_status: str | None
    registered_at: datetime.datetime | None

    @staticmethod
    def resolve_visible(obj: Any) -> bool:
        return isinstance(obj, Deal)

    @staticmethod
    def resolve_stage(obj: Any) -> str | None:
        return obj.stage.key if isinstance(obj, Deal) else None


HIDDEN_SIDE: dict[str, Any] = dict.fromkeys(
    [
        *("public_id", "partner", "customer_name", "customer_domain", "amount", "currency"),
        *("stage", "approval_status", "registered_at"),
    ]
)


def _sides_hidden(obj: DealConflict, context: Any) -> bool:
    """Whether a side of the conflict is outside the caller's scope (worked out once per conflict)."""
    if not hasattr(obj, "_side_hidden"):
        from openprm.deals.services.registration import deals_visible

        actor = getattr((context or {}).get("request"), "actor", None)
        ids = {obj.deal_id, obj.other_id}
        visible = ids if actor is None else deals_visible(actor=actor, deal_ids=ids)
        obj._side_hidden = {pk: pk not in visible for pk in ids}  # type: ignore[attr-defined]
    return any(obj._side_hidden.values())  # type: ignore[attr-defined]


def _side(obj: DealConflict, deal: Deal, context: Any) -> Deal | dict[str, Any]:
    _sides_hidden(obj, context)
    return HIDDEN_SIDE if obj._side_hidden[deal.pk] else deal  # type: ignore[attr-defined]


class DealConflictOut(Schema):
    public_id: uuid.UUID
    deal: DealConflictSideOut = Field(description="The registration that was checked")
    other: DealConflictSideOut = Field(description="The other partner's registration it matched")
    first_in: uuid.UUID | None = Field(
        description="Public id of whichever of the two was registered first (null when one is hidden)"
    )
    score: float = Field(description="Match strength, 0-1")
    reasons: list[str] = Field(
        description="Why the two look like the same customer (empty when one side is hidden: they name it)"
    )
    status: str
    detected_at: datetime.datetime
    resolved_at: datetime.datetime | None
    resolved_by: str
    resolution_note: str

    @staticmethod
    def resolve_deal(obj: DealConflict, context: Any) -> Deal | dict[str, Any]:
        return _side(obj, obj.deal, context)

    @staticmethod
    def resolve_other(obj: DealConflict, context: Any) -> Deal | dict[str, Any]:
        return _side(obj, obj.other, context)

    @staticmethod
    def resolve_reasons(obj: DealConflict, context: Any) -> list[str]:
        return [] if _sides_hidden(obj, context) else list(obj.reasons)

    @staticmethod
    def resolve_first_in(obj: DealConflict, context: Any) -> uuid.UUID | None:
        return None if _sides_hidden(obj, context) else obj.first_in.public_id

    @staticmethod
    def resolve_resolved_by(obj: DealConflict) -> str:
        return obj.resolved_by_label


# --- metrics ------------------------------------------------------------------------------------------


class DealTimeToCloseOut(Schema):
    median_days: float | None
    mean_days: float | None
    count: int = Field(description="Won deals measured")


class DealRevenueSplitOut(Schema):
    sourced: Decimal
    influenced: Decimal
    total: Decimal
    sourced_share: float | None
    influenced_share: float | None


class DealCountsOut(Schema):
    won: int
    lost: int
    open: int
    total: int


class DealMetricsOut(Schema):
    """Deal KPIs over the deals you can see (or one partner's), in the workspace's reporting currency."""

    currency: str
    partner: uuid.UUID | None
    pipeline_value: Decimal = Field(description="Sum of open deal amounts")
    weighted_pipeline: Decimal = Field(description="Open amounts × their stage's win probability")
    win_rate: float | None = Field(description="Won ÷ (won + lost); null with no closed deal")
    average_won_deal_size: Decimal | None
    time_to_close: DealTimeToCloseOut
    sales_velocity: Decimal | None = Field(description="Expected revenue per day")
    revenue_split: DealRevenueSplitOut = Field(description="Won revenue, partner-sourced vs influenced")
    counts: DealCountsOut
    average_open_deal_age_days: float | None
    other_currency_deals: int = Field(description="Deals in another currency, left out of the figures")
