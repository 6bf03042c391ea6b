"""Per-endpoint input/output schemas of the partner API.

Inputs reject bad data at the edge (bounded, NUL-free strings, closed enums, sane dates) so that bad input
is a 4xx, never a database error; the services then apply the domain rules. PATCH schemas accept only the
keys that were sent (``model_dump(exclude_unset=True)``); a field that may not be empty rejects ``null``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, ClassVar, Literal

from django.conf import settings
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from ninja.schema import DjangoGetter
from pydantic import (
    AfterValidator,
    ConfigDict,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from openprm.core.schemas import ErrorItem, ErrorOut, Long, Name, NoNul  # noqa: F401 - the apps' APIs import them here
from openprm.partners import selectors
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    Contact,
    Partner,
    PartnerStatus,
)
from openprm.partners.selectors import PartnerFilters
from openprm.partners.services import PartnerInput

# --- building blocks ----------------------------------------------------------------------------------

Str40 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), NoNul]
Str60 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60), NoNul]
Str100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]
Str120 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), NoNul]
Str200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
Str254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), NoNul]
Str300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), NoNul]
Str1000 = Annotated[str, StringConstraints(max_length=1000), NoNul]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), NoNul]


def _enum(values: list[str]) -> WithJsonSchema:
    # Inline enum (no $ref): several models have an inner `Kind`/`Role` class and their names would clash.
    return WithJsonSchema({"type": "string", "enum": values})


PartnerStatusIn = Annotated[PartnerStatus, _enum(PartnerStatus.values)]
ContactRoleIn = Annotated[Contact.Role, _enum(Contact.Role.values)]
AgreementKindIn = Annotated[Agreement.Kind, _enum(Agreement.Kind.values)]
AgreementStatusIn = Annotated[AgreementStatus, _enum(AgreementStatus.values)]


def _moment(value: datetime.datetime) -> datetime.datetime:
    # Years before 1900 are typos, and near year 1 an offset makes the UTC conversion overflow.
    if value.year < 1900:
        raise ValueError("must be in 1900 or later")
    return value.astimezone(datetime.UTC) if value.tzinfo else value


When = Annotated[datetime.datetime, AfterValidator(_moment)]
CustomValue = Str1000 | bool | int | float | None


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


class PartnerRemovedOut(Schema):
    """What DELETE did: a partner with history is archived (restorable), one without any is deleted."""

    public_id: uuid.UUID
    state: Literal["archived", "deleted"]
    archived_at: datetime.datetime | None = None


class StaffOnlyFields(Schema):
    """Base of output schemas holding internal fields (docs/visibility.md): the fields named in
    ``STAFF_ONLY`` are left out of the answer when a partner user asked. Give those fields a default so
    that the schema documents them as optional ("absent for partner users")."""

    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset()
    _for_partner: bool = PrivateAttr(False)

    @model_validator(mode="wrap")
    @classmethod
    def _audience(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        obj = handler(data)
        actor = getattr((info.context or {}).get("request"), "actor", None)
        if isinstance(obj, StaffOnlyFields):
            obj._for_partner = bool(actor is not None and actor.is_partner_user)
        return obj

    def drop_staff_only(self, data: dict[str, Any]) -> dict[str, Any]:
        if self._for_partner:
            for key in self.STAFF_ONLY:
                data.pop(key, None)
        return data

    @model_serializer(mode="wrap")  # unannotated return: the schema stays the model's own
    def _staff_only(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        return self.drop_staff_only(handler(self))


STAFF_ONLY_NOTE = "Staff only: absent for partner users"


class Pagination(LimitOffsetPagination):
    """`limit` (1-500, default 50) and `offset`; answers `{"items": [...], "count": N}`."""

    class Input(LimitOffsetPagination.Input):
        limit: int = Field(
            settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_PER_PAGE_SIZE
        )
        offset: int = Field(0, ge=0, le=10**9)


# --- me -----------------------------------------------------------------------------------------------


class MeOut(Schema):
    email: str
    name: str
    role: str
    partner: uuid.UUID | None = Field(description="Public id of your partner (partner users), else null")


# --- partners -----------------------------------------------------------------------------------------

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


class TierRef(_Input):
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


class PartnerCreate(_Input):
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


class PartnerPatch(_Patch):
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


class TierOut(Schema):
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
    tiers: list[TierOut]
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


# --- contacts -----------------------------------------------------------------------------------------


class ContactCreate(_Input):
    name: Name
    email: Str254 = ""
    phone: Str40 = ""
    title: Str120 = ""
    role: ContactRoleIn = Contact.Role.OTHER
    is_primary: bool = False


class ContactPatch(_Patch):
    name: Name | None = None
    email: Str254 | None = None
    phone: Str40 | None = None
    title: Str120 | None = None
    role: ContactRoleIn | None = None
    is_primary: bool | None = None


class ContactOut(Schema):
    public_id: uuid.UUID
    partner: uuid.UUID
    name: str
    email: str
    phone: str
    title: str
    role: str
    is_primary: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_partner(obj: Contact) -> uuid.UUID:
        return obj.partner.public_id


# --- agreements ---------------------------------------------------------------------------------------


class AgreementCreate(_Input):
    title: Name
    kind: AgreementKindIn = Agreement.Kind.PARTNER
    terms_summary: Long = ""
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    auto_renew: bool = False
    renewal_notice_days: int = Field(30, ge=0, le=3650)
    status: AgreementStatusIn = AgreementStatus.DRAFT


class AgreementPatch(_Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"start_date", "end_date"})

    title: Name | None = None
    kind: AgreementKindIn | None = None
    terms_summary: Long | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    auto_renew: bool | None = None
    renewal_notice_days: int | None = Field(None, ge=0, le=3650)
    status: AgreementStatusIn | None = None


class AgreementOut(Schema):
    public_id: uuid.UUID
    partner: uuid.UUID
    kind: str
    title: str
    terms_summary: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    auto_renew: bool
    renewal_notice_days: int
    status: str
    effective_status: str = Field(
        description="Status as of today: a live agreement past its end reads expired"
    )
    days_left: int | None = Field(description="Days until the end date (negative once past); null: no end")
    file_name: str | None = Field(description="Name of the signed file attached in the app, if any")
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_partner(obj: Agreement) -> uuid.UUID:
        return obj.partner.public_id

    @staticmethod
    def resolve_effective_status(obj: Agreement) -> str:
        return str(obj.effective_status)

    @staticmethod
    def resolve_days_left(obj: Agreement) -> int | None:
        return obj.days_left()

    @staticmethod
    def resolve_file_name(obj: Agreement) -> str | None:
        return obj.file.name.rsplit("/", 1)[-1] if obj.file else None
