"""Input and output schemas of the reports API."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from ninja import Schema
from pydantic import Field

from openprm.core.schemas import Input, Patch, Text
from openprm.reports.models import ReportDefinition, ReportDelivery, ReportRun
from openprm.reports.services import FIELDS


class DefinitionCreate(Input):
    name: Text(200, 1)  # type: ignore[valid-type]
    kind: str = Field(description="program_summary, partner_scorecard, pipeline_review or qbr")
    schedule: str = Field("weekly", description="weekly, monthly or quarterly")
    weekday: int = Field(0, description="Weekly: 0 = Monday … 6 = Sunday")
    day: int = Field(1, description="Monthly and quarterly: day of the month, 1–28")
    hour: int = Field(8, description="Hour of the day (0–23) in `timezone`")
    timezone: Text(64) = "UTC"  # type: ignore[valid-type]
    period: str = Field("last_week", description="last_week, last_month or last_quarter")
    filters: dict[str, str] = Field(
        default_factory=dict, description="program, type, tier, region, owner, tag"
    )
    formats: list[str] = Field(default_factory=lambda: ["pdf"], description="Any of pdf, csv, xlsx (≥ 1)")
    staff_recipients: list[str] = Field(default_factory=list, description="Staff user ids")
    partner_recipients: bool = Field(
        False, description="Each partner's contacts and users get their own copy"
    )
    enabled: bool = True


class DefinitionPatch(Patch):
    name: Text(200, 1) | None = None  # type: ignore[valid-type]
    kind: str | None = None
    schedule: str | None = None
    weekday: int | None = None
    day: int | None = None
    hour: int | None = None
    timezone: Text(64) | None = None  # type: ignore[valid-type]
    period: str | None = None
    filters: dict[str, str] | None = None
    formats: list[str] | None = None
    staff_recipients: list[str] | None = None
    partner_recipients: bool | None = None
    enabled: bool | None = None


class DefinitionOut(Schema):
    id: uuid.UUID
    name: str
    kind: str
    schedule: str
    weekday: int
    day: int
    hour: int
    timezone: str
    period: str
    filters: dict[str, Any]
    formats: list[str]
    staff_recipients: list[str]
    partner_recipients: bool
    enabled: bool
    next_run_at: datetime.datetime | None
    last_run_at: datetime.datetime | None


class DefinitionPage(Schema):
    items: list[DefinitionOut]
    count: int


class DeliveryOut(Schema):
    email: str
    partner_id: uuid.UUID | None
    status: str
    attempts: int
    error: str
    subject: str
    sizes: dict[str, int]
    sent_at: datetime.datetime | None


class RunOut(Schema):
    id: uuid.UUID
    report_id: uuid.UUID
    trigger: str
    period: str
    created_at: datetime.datetime
    deliveries: list[DeliveryOut]


class RunPage(Schema):
    items: list[RunOut]
    count: int


class SendNowIn(Input):
    key: Text(100) = Field(  # type: ignore[valid-type]
        "", description="Idempotency key: the same key never sends twice (or the Idempotency-Key header)"
    )


class SendNowOut(Schema):
    created: bool
    run: RunOut


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


class PreviewQuery(Schema):
    partner: uuid.UUID | None = None
    as_partner: bool = False
    format: str = Field("html", pattern="^(html|pdf)$")


def definition_out(d: ReportDefinition) -> dict[str, Any]:
    fields = (*FIELDS, "next_run_at", "last_run_at")
    return {"id": d.public_id, **{f: getattr(d, f) for f in fields}}


def _delivery_out(d: ReportDelivery) -> dict[str, Any]:
    return {
        "email": d.email,
        "partner_id": d.partner.public_id if d.partner else None,
        "status": d.status,
        "attempts": d.attempts,
        "error": d.error,
        "subject": d.subject,
        "sizes": d.sizes,
        "sent_at": d.sent_at,
    }


def run_out(r: ReportRun) -> dict[str, Any]:
    return {
        "id": r.public_id,
        "report_id": r.definition.public_id,
        "trigger": r.trigger,
        "period": r.period_key,
        "created_at": r.created_at,
        "deliveries": [_delivery_out(d) for d in r.deliveries.all()],
    }
