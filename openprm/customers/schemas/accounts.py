"""Schemas of customer accounts (``/customers/accounts``). The note is internal: partner users never get
it."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, ClassVar, Literal

from ninja import Field, Schema

from openprm.core.schemas import STAFF_ONLY_NOTE, Input, Long, Name, Patch, StaffOnlyFields
from openprm.customers.filters import AccountFilters
from openprm.customers.models import CustomerAccount
from openprm.customers.schemas.fields import Day, Domain, ExternalId, Money, Search


class AccountCreate(Input):
    partner: uuid.UUID = Field(description="Public id of the managing partner")
    external_id: ExternalId | None = Field(
        None, description="Your id of the account (unique); imports match on it"
    )
    name: Name
    domain: Domain = ""
    started_on: Day
    ended_on: Day | None = Field(None, description="Churn date: no longer a customer from that day")
    arr: Money | None = None
    mrr: Money | None = None
    note: Long = ""

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude={"partner"})


class AccountPatch(Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"external_id", "ended_on", "arr", "mrr"})

    partner: uuid.UUID | None = Field(None, description="Move the account (and its records) to this partner")
    external_id: ExternalId | None = None
    name: Name | None = None
    domain: Domain | None = None
    started_on: Day | None = None
    ended_on: Day | None = None
    arr: Money | None = None
    mrr: Money | None = None
    note: Long | None = None

    def to_input(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"partner"})


class AccountOut(StaffOnlyFields):
    STAFF_ONLY: ClassVar[frozenset[str]] = frozenset({"note"})

    public_id: uuid.UUID
    partner: uuid.UUID
    partner_name: str
    external_id: str | None
    name: str
    domain: str
    started_on: datetime.date
    ended_on: datetime.date | None
    is_active: bool
    arr: Decimal | None
    mrr: Decimal | None
    note: str = Field("", description=STAFF_ONLY_NOTE)
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_partner(obj: CustomerAccount) -> uuid.UUID:
        return obj.partner.public_id

    @staticmethod
    def resolve_partner_name(obj: CustomerAccount) -> str:
        return obj.partner.name


class AccountQuery(Schema):
    q: Search | None = Field(None, description="Name or domain (contains), or exact external id")
    partner: uuid.UUID | None = Field(None, description="Managing partner's public id")
    status: Literal["active", "churned"] | None = None
    sort: Literal["name", "started", "-started", "partner", "-arr"] | None = None

    def to_filters(self) -> AccountFilters:
        return AccountFilters(
            q=self.q or "",
            partner=str(self.partner or ""),
            status=self.status or "",
            sort=self.sort or "name",
        )
