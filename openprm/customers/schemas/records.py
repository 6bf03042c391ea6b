"""Schemas of an account's records: changes (``/customers/changes``), CSAT answers (``/customers/csat``)
and usage months (``/customers/usage``)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from ninja import Field, Schema

from openprm.core.schemas import Input, Patch
from openprm.customers.filters import RecordFilters
from openprm.customers.schemas.fields import ChannelIn, Count, Day, ExternalId, KindIn, Money, Score


class _OfAccount(Schema):
    @staticmethod
    def resolve_account(obj: Any) -> uuid.UUID | None:
        return obj.account.public_id if obj.account_id else None

    @staticmethod
    def resolve_account_name(obj: Any) -> str:
        return obj.account.name if obj.account_id else ""

    @staticmethod
    def resolve_partner(obj: Any) -> uuid.UUID | None:
        return obj.partner.public_id if obj.partner_id else None


class RecordQuery(Schema):
    account: uuid.UUID | None = Field(None, description="An account's public id")
    partner: uuid.UUID | None = Field(None, description="A partner's public id")


# --- changes -------------------------------------------------------------------------------------------


class ChangeCreate(Input):
    account: uuid.UUID = Field(description="Public id of the account")
    kind: KindIn
    occurred_on: Day
    amount: Money = Field(Decimal("0"), description="Renewed, added or lost value (not negative)")
    external_id: ExternalId | None = None

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude={"account"})


class ChangePatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"external_id"})

    kind: KindIn | None = None
    occurred_on: Day | None = None
    amount: Money | None = None
    external_id: ExternalId | None = None

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ChangeOut(_OfAccount):
    public_id: uuid.UUID
    account: uuid.UUID | None
    account_name: str
    partner: uuid.UUID | None
    kind: str
    occurred_on: datetime.date
    amount: Decimal
    external_id: str | None
    created_at: datetime.datetime


class ChangeQuery(RecordQuery):
    kind: KindIn | None = None

    def to_filters(self) -> RecordFilters:
        return RecordFilters(
            account=str(self.account or ""), partner=str(self.partner or ""), kind=str(self.kind or "")
        )


# --- CSAT ----------------------------------------------------------------------------------------------


class CsatCreate(Input):
    account: uuid.UUID | None = Field(
        None, description="The partner-managed account answered about; none: a direct-channel answer"
    )
    channel: ChannelIn | None = Field(None, description="Default: partner with an account, direct without")
    score: Score
    answered_on: Day
    external_id: ExternalId | None = None

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude={"account"}, exclude_none=True)


class CsatPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"external_id"})

    score: Score | None = None
    answered_on: Day | None = None
    external_id: ExternalId | None = None

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class CsatOut(_OfAccount):
    public_id: uuid.UUID
    channel: str
    account: uuid.UUID | None
    account_name: str
    partner: uuid.UUID | None
    score: int
    answered_on: datetime.date
    external_id: str | None
    created_at: datetime.datetime


class CsatQuery(RecordQuery):
    channel: ChannelIn | None = None

    def to_filters(self) -> RecordFilters:
        return RecordFilters(
            account=str(self.account or ""), partner=str(self.partner or ""), kind=str(self.channel or "")
        )


# --- usage ---------------------------------------------------------------------------------------------


class UsageCreate(Input):
    account: uuid.UUID = Field(description="Public id of the account")
    month: Day = Field(description="Any day of the month (stored as its first day)")
    active_users: Count = 0
    features_used: Count = 0
    features_available: Count = 0

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude={"account"})


class UsagePatch(Patch):
    month: Day | None = None
    active_users: Count | None = None
    features_used: Count | None = None
    features_available: Count | None = None

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class UsageOut(_OfAccount):
    public_id: uuid.UUID
    account: uuid.UUID | None
    account_name: str
    partner: uuid.UUID | None
    month: datetime.date
    active_users: int
    features_used: int
    features_available: int
    updated_at: datetime.datetime


class UsageQuery(RecordQuery):
    def to_filters(self) -> RecordFilters:
        return RecordFilters(account=str(self.account or ""), partner=str(self.partner or ""))
