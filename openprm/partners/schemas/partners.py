"""Schemas of the partner endpoints (and of ``/me``).

PATCH schemas accept only the keys that were sent (``model_dump(exclude_unset=True)``); a field that may
not be empty rejects ``null``. Fields for staff only are left out of answers to partner users."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, ClassVar, Literal

from ninja import Field, Schema
from pydantic import StringConstraints, field_validator

from openprm.core.schemas import STAFF_ONLY_NOTE, Input, Long, Name, NoNul, Patch, StaffOnlyFields
from openprm.partners import selectors
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Partner, PartnerStatus
from openprm.partners.schemas.fields import (
    CustomValue,
    Key,
    PartnerStatusIn,
    Str40,
    Str60,
    Str100,
    Str200,
    Str254,
    Str300,
)
from openprm.partners.services import PartnerInput


class MeOut(Schema):
    email: str
    name: str
    role: str
    partner: uuid.UUID | None = Field(description="Public id of your partner (partner users), else null")


class PartnerRemovedOut(Schema):
    """What DELETE did: a partner with history is archived (restorable), one without any is deleted."""

    public_id: uuid.UUID
    state: Literal["archived", "deleted"]
    archived_at: datetime.datetime | None = None


SortKey = Literal[
    "name",
    "-name",
    "status",
    "-status",
    "country",
    "-country",
    "created",
    "-created",
    "last_contact",
    "-last_contact",
]


class PartnerQuery(Schema):
    q: Str200 | None = Field(None, description="Name, legal name, domain, or exact external id")
    type: Str40 | None = Field(None, description="Partner type key, e.g. reseller")
    program: uuid.UUID | None = Field(None, description="Program public id")
    tier: uuid.UUID | None = Field(None, description="Tier public id")
    status: PartnerStatusIn | None = None
    country: Str60 | None = Field(None, description="ISO 3166 code, e.g. DE")
    region: Str60 | None = None
    contract: Literal["active", "expiring", "expired", "none"] | None = None
    owner: Str60 | None = Field(None, description='Owner user public id, "me" or "none"')
    tag: Str60 | None = None
    archived: Literal["only", "all"] | None = Field(
        None, description="Archived partners are hidden unless asked for: only them, or all partners"
    )
    sort: SortKey = "name"

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        if value and value not in ("me", "none"):
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError('must be a user public id, "me" or "none"') from None
        return value

    def to_filters(self) -> PartnerFilters:
        return PartnerFilters(**{k: str(v) for k, v in self.model_dump(exclude_none=True).items()})


class TierRef(Input):
    program: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), NoNul]
    tier: Str60 | None = Field(None, description="Tier name in the program; null: enrolled without a tier")


def _partner_input(data: dict[str, Any]) -> PartnerInput:
    if "tiers" in data:
        tiers = data.pop("tiers")
        if tiers is not None:  # null on create: the default program, as when left out
            data["tiers"] = {t["program"]: t.get("tier") for t in tiers}
    if "custom_fields" in data:
        data["custom_fields"] = data["custom_fields"] or {}
    return data  # type: ignore[return-value]  # keys are exactly PartnerInput's


class PartnerCreate(Input):
    name: Name
    type: Key = Field(description="Partner type key, e.g. reseller, referral")
    external_id: Str100 | None = None
    legal_name: Str200 = ""
    status: PartnerStatusIn = PartnerStatus.APPLICANT
    country: Str60 = Field("", description="ISO 3166 code, e.g. DE")
    region: Str60 = ""
    domains: list[Str254] = Field([], max_length=20)
    website: Str300 = ""
    owner_email: Str254 | None = Field(None, description="E-mail of the staff user who owns the partner")
    tags: list[Str60] = Field([], max_length=50)
    custom_fields: dict[Key, CustomValue] = Field({}, max_length=100)
    start_date: datetime.date | None = None
    notes: Long = ""
    tiers: list[TierRef] | None = Field(
        None, max_length=20, description="Program enrolments; left out: the default program"
    )

    def to_input(self) -> PartnerInput:
        return _partner_input(self.model_dump(exclude_unset=True))


class PartnerPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"external_id", "owner_email", "start_date"})

    name: Name | None = None
    type: Key | None = None
    external_id: Str100 | None = None
    legal_name: Str200 | None = None
    status: PartnerStatusIn | None = None
    country: Str60 | None = None
    region: Str60 | None = None
    domains: list[Str254] | None = Field(None, max_length=20)
    website: Str300 | None = None
    owner_email: Str254 | None = None
    tags: list[Str60] | None = Field(None, max_length=50)
    custom_fields: dict[Key, CustomValue] | None = Field(None, max_length=100)
    start_date: datetime.date | None = None
    notes: Long | None = None
    tiers: list[TierRef] | None = Field(None, max_length=20)

    def to_input(self) -> PartnerInput:
        return _partner_input(self.model_dump(exclude_unset=True))


class PartnerTierOut(Schema):
    """A program the partner is enrolled in and its tier there (null: no tier). Not the program API's
    ``TierOut``, a ranked tier record: one name for both documented the one as the other."""

    program: str
    tier: str | None


class PartnerOut(StaffOnlyFields):
    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset(
        {
            "status",
            "status_changed_at",
            "tags",
            "custom_fields",
            "notes",
            "last_contact_on",
            "last_contact_at",
        }
    )

    public_id: uuid.UUID
    external_id: str | None
    name: str
    legal_name: str
    type: str
    status: str = Field("", description=f"Lifecycle status. {STAFF_ONLY_NOTE}")
    status_changed_at: datetime.datetime | None = Field(None, description=STAFF_ONLY_NOTE)
    country: str
    region: str
    domains: list[str]
    website: str
    owner: str | None = Field(description="E-mail of the owning staff user (the partner's partner manager)")
    tags: list[str] = Field([], description=STAFF_ONLY_NOTE)
    custom_fields: dict[str, Any] = Field({}, description=STAFF_ONLY_NOTE)
    start_date: datetime.date | None
    notes: str = Field("", description=STAFF_ONLY_NOTE)
    tiers: list[PartnerTierOut]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    last_contact_on: datetime.date | None = Field(
        None,
        description=f"Day (UTC) of the last contact with the partner in either direction. {STAFF_ONLY_NOTE}",
    )
    last_contact_at: datetime.datetime | None = Field(
        None,
        description=f"Deprecated: last_contact_on at 00:00 UTC (tracked per day). {STAFF_ONLY_NOTE}",
    )
    archived_at: datetime.datetime | None = Field(
        description="When the partner was archived (hidden, restorable); null for a live partner"
    )

    @staticmethod
    def resolve_type(obj: Partner) -> str:
        return obj.type.key

    @staticmethod
    def resolve_country(obj: Partner) -> str:
        return str(obj.country.code or "")

    @staticmethod
    def resolve_owner(obj: Partner) -> str | None:
        return obj.owner.email if obj.owner else None

    @staticmethod
    def resolve_tags(obj: Partner) -> list[str]:
        return [t.name for t in obj.tags.all()]

    @staticmethod
    def resolve_tiers(obj: Partner) -> list[dict[str, str | None]]:
        return [
            {"program": e.program.name, "tier": e.tier.name if e.tier else None} for e in obj.enrolments.all()
        ]

    @staticmethod
    def resolve_last_contact_on(obj: Partner) -> datetime.date | None:
        if hasattr(obj, "last_contact_on"):  # annotated by partner_list
            value: datetime.date | None = obj.last_contact_on
            return value
        return selectors.last_contact_on(partner=obj)

    @staticmethod
    def resolve_last_contact_at(obj: Partner) -> datetime.datetime | None:
        day = PartnerOut.resolve_last_contact_on(obj)
        return None if day is None else datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
