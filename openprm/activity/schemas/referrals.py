"""Per-endpoint input/output schemas of the referral-tracking API (links, coupons, conversions).

Inputs reject bad data at the edge — bounded, NUL-free strings, finite non-negative money, closed enums,
no unknown keys — so bad input is a 422 naming its field; the services apply the domain rules.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from ninja import Field, Schema
from pydantic import StringConstraints

from openprm.activity.models import Conversion, Coupon, TrackingLink
from openprm.activity.services.conversions import ConversionInput
from openprm.activity.services.referrals import CouponInput, LinkInput
from openprm.core.schemas import STAFF_ONLY_NOTE, Input, NoNul, Patch, StaffOnlyFields, enum_schema
from openprm.core.validation import MAX_AMOUNT

Str64 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), NoNul]
Str120 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), NoNul]
Str200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
Str254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), NoNul]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), NoNul]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NoNul]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
IdempotencyKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
KindIn = Annotated[Conversion.Kind, enum_schema(Conversion.Kind.values)]
StatusIn = Annotated[Conversion.Status, enum_schema(Conversion.Status.values)]


class RefOut(Schema):
    public_id: uuid.UUID
    name: str


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"public_id": obj.public_id, "name": obj.name} if obj is not None else None


# --- links ----------------------------------------------------------------------------------------------


class LinkQuery(Schema):
    partner: uuid.UUID | None = Field(None, description="Partner public id")
    q: Str200 | None = Field(None, description="Part of the code or campaign")


class LinkCreate(Input):
    partner: uuid.UUID | None = Field(
        None, description="Staff: the partner's public id. Partner users: leave out."
    )
    program: uuid.UUID | None = Field(None, description="Program public id (its attribution rules apply)")
    code: Str64 = Field("", description="The /r/<code> slug; left out: 8 generated characters")
    destination: Url = Field(description="Where visitors are sent (http or https)")
    campaign: Str120 = ""
    utm_source: Str120 = ""
    utm_medium: Str120 = ""
    utm_campaign: Str120 = ""
    utm_term: Str120 = ""
    utm_content: Str120 = ""

    def to_input(self) -> LinkInput:
        data: LinkInput = {
            "destination": self.destination,
            "campaign": self.campaign,
            "utm_source": self.utm_source,
            "utm_medium": self.utm_medium,
            "utm_campaign": self.utm_campaign,
            "utm_term": self.utm_term,
            "utm_content": self.utm_content,
        }
        if self.code:
            data["code"] = self.code
        return data


class LinkPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"program"})
    program: uuid.UUID | None = None
    code: Str64 | None = None
    destination: Url | None = None
    campaign: Str120 | None = None
    utm_source: Str120 | None = None
    utm_medium: Str120 | None = None
    utm_campaign: Str120 | None = None
    utm_term: Str120 | None = None
    utm_content: Str120 | None = None
    is_active: bool | None = None

    def to_input(self) -> LinkInput:
        fields = self.model_dump(exclude_unset=True)
        fields.pop("program", None)
        return fields  # type: ignore[return-value]


class LinkOut(Schema):
    public_id: uuid.UUID
    partner: RefOut
    program: RefOut | None
    code: str
    url: str = Field(description="The tracking URL path to share: /r/<code>")
    destination: str
    campaign: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    is_active: bool
    created_at: datetime.datetime

    @staticmethod
    def resolve_partner(obj: TrackingLink) -> dict[str, Any] | None:
        return _ref(obj.partner)

    @staticmethod
    def resolve_program(obj: TrackingLink) -> dict[str, Any] | None:
        return _ref(obj.program)

    @staticmethod
    def resolve_url(obj: TrackingLink) -> str:
        return f"/r/{obj.code}"


# --- coupons --------------------------------------------------------------------------------------------


class CouponCreate(Input):
    partner: uuid.UUID = Field(description="The partner's public id")
    program: uuid.UUID | None = None
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul]
    description: Str200 = ""

    def to_input(self) -> CouponInput:
        return {"code": self.code, "description": self.description}


class CouponPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"program"})
    program: uuid.UUID | None = None
    code: Str64 | None = None
    description: Str200 | None = None
    is_active: bool | None = None

    def to_input(self) -> CouponInput:
        fields = self.model_dump(exclude_unset=True)
        fields.pop("program", None)
        return fields  # type: ignore[return-value]


class CouponOut(Schema):
    public_id: uuid.UUID
    partner: RefOut
    program: RefOut | None
    code: str
    description: str
    is_active: bool
    created_at: datetime.datetime

    @staticmethod
    def resolve_partner(obj: Coupon) -> dict[str, Any] | None:
        return _ref(obj.partner)

    @staticmethod
    def resolve_program(obj: Coupon) -> dict[str, Any] | None:
        return _ref(obj.program)


# --- conversions ----------------------------------------------------------------------------------------


class ConversionQuery(Schema):
    partner: uuid.UUID | None = Field(None, description="Partner public id")
    status: StatusIn | None = Field(None, description="accepted, flagged (the review queue) or rejected")
    kind: KindIn | None = None


class ConversionCreate(Input):
    kind: KindIn
    amount: Money = Field(Decimal("0"), description='Decimal string or number, e.g. "49.00"')
    currency: Currency | None = Field(None, description="ISO 4217; left out: the workspace currency")
    occurred_at: datetime.datetime | None = Field(None, description="Left out: now. At most a day ahead.")
    customer_external_id: Str200 = ""
    customer_email: Str254 = Field("", description="Hashed on arrival (SHA-256), never stored")
    customer_email_hash: Str64 = Field("", description="Hex SHA-256 of the trimmed, lower-cased e-mail")
    click_id: Str64 = Field("", description="The prm_click value the redirect added to the landing URL")
    link_code: Str64 = ""
    coupon: Str64 = ""
    refund_of: uuid.UUID | None = Field(None, description="Refunds: the refunded conversion's public id")
    idempotency_key: IdempotencyKey | None = Field(
        None, description="Or the Idempotency-Key header; a retry with the same key stores nothing"
    )
    properties: dict[str, Any] = Field(default_factory=dict)

    def to_input(self) -> ConversionInput:
        return {
            "kind": str(self.kind),
            "amount": self.amount,
            "currency": self.currency or "",
            "occurred_at": self.occurred_at,
            "customer_external_id": self.customer_external_id,
            "customer_email": self.customer_email,
            "customer_email_hash": self.customer_email_hash,
            "click_id": self.click_id,
            "link_code": self.link_code,
            "coupon": self.coupon,
            "refund_of": self.refund_of,
            "properties": self.properties,
        }


class ConversionReviewIn(Input):
    note: Note = ""


class FlagOut(Schema):
    rule: str
    detail: str


class ConversionOut(StaffOnlyFields):
    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"flags", "customer_email_hash", "idempotency_key", "properties"}
    )

    public_id: uuid.UUID
    kind: str
    status: str
    flags: list[FlagOut] = Field([], description=f"Fraud-rule findings. {STAFF_ONLY_NOTE}")
    partner: RefOut | None
    program: RefOut | None
    attributed_by: str = Field(
        description="click, first_click, last_click, link, coupon, customer, refund or empty"
    )
    occurred_at: datetime.datetime
    amount: Decimal
    currency: str
    customer_external_id: str
    customer_email_hash: str = Field("", description=STAFF_ONLY_NOTE)
    click_id: str | None
    link_code: str | None
    coupon: str | None
    refund_of: uuid.UUID | None
    idempotency_key: str = Field("", description=STAFF_ONLY_NOTE)
    properties: dict[str, Any] = Field({}, description=STAFF_ONLY_NOTE)
    created_at: datetime.datetime

    @staticmethod
    def resolve_partner(obj: Conversion) -> dict[str, Any] | None:
        return _ref(obj.partner)

    @staticmethod
    def resolve_program(obj: Conversion) -> dict[str, Any] | None:
        return _ref(obj.program)

    @staticmethod
    def resolve_click_id(obj: Conversion) -> str | None:
        return obj.click.click_id if obj.click is not None else None

    @staticmethod
    def resolve_link_code(obj: Conversion) -> str | None:
        return obj.link.code if obj.link is not None else None

    @staticmethod
    def resolve_coupon(obj: Conversion) -> str | None:
        return obj.coupon.code if obj.coupon is not None else None

    @staticmethod
    def resolve_refund_of(obj: Conversion) -> uuid.UUID | None:
        return obj.refund_of.public_id if obj.refund_of is not None else None


# --- allowed destination hosts --------------------------------------------------------------------------

Host = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NoNul]


class TrackingHostsIn(Input):
    hosts: list[Host] = Field(
        max_length=100,
        description="Host names (e.g. `www.example.com`; no scheme, path, port or wildcard). A host also "
        "allows its subdomains. Stored lower-case and IDNA-encoded. For a program, `[]` means the "
        "workspace's hosts apply.",
    )


class ProgramHostsOut(Schema):
    program: RefOut
    hosts: list[str] = Field(description="The program's own list (empty: the workspace's apply)")
    effective: list[str] = Field(description="Where this program's links may lead")


class TrackingHostsOut(Schema):
    workspace: list[str] = Field(description="The workspace's allowed hosts (empty: links lead nowhere)")
    programs: list[ProgramHostsOut]
    outside_links: int = Field(description="Active links whose destination is outside their allowed hosts")
