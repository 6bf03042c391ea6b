"""Schemas of a partner's agreements."""

from __future__ import annotations

import datetime
import uuid
from typing import ClassVar

from ninja import Field, Schema

from openprm.core.schemas import Input, Long, Name, Patch
from openprm.partners.models import Agreement, AgreementStatus
from openprm.partners.schemas.fields import AgreementKindIn, AgreementStatusIn


class AgreementCreate(Input):
    title: Name
    kind: AgreementKindIn = Agreement.Kind.PARTNER
    terms_summary: Long = ""
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    auto_renew: bool = False
    renewal_notice_days: int = Field(30, ge=0, le=3650)
    status: AgreementStatusIn = AgreementStatus.DRAFT


class AgreementPatch(Patch):
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
