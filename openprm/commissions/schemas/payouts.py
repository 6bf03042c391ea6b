"""Input and output schemas of the payouts, payout details and statements API."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from openprm.commissions.models import PayoutItem, PayoutRun, Statement
from openprm.commissions.services.details import DetailsView
from openprm.core.schemas import Input, Text


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


class RunQuery(PageQuery):
    status: Literal["", "draft", "exported", "paid", "failed", "cancelled"] = ""
    currency: Text(3) = ""  # type: ignore[valid-type]


class RunCreate(Input):
    currency: Text(3, 3) = Field(description="ISO 4217 code: the run pays entries in this currency")  # type: ignore[valid-type]
    cutoff: datetime.date = Field(description="Approved entries that occurred on or before this day")


class MarkPaidIn(Input):
    reference: Text(200, 1) = Field(description="The bank / PayPal / Wise batch reference")  # type: ignore[valid-type]
    failed: list[Text(64)] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=10000, description="Item or partner ids whose payment failed"
    )
    error: Text(300) = ""  # type: ignore[valid-type]


class FailIn(Input):
    error: Text(2000, 1) = Field(description="Why the provider refused the file")  # type: ignore[valid-type]


class AbandonIn(Input):
    reason: Text(300, 1) = Field(description="Why the failed payment is given up (kept and audited)")  # type: ignore[valid-type]


class FileQuery(Schema):
    method: Literal["bank", "paypal", "wise"] = "bank"


class ItemOut(Schema):
    id: uuid.UUID
    partner: uuid.UUID
    partner_name: str
    amount: Decimal
    currency: str
    method: str
    details: str = Field(description="Masked payout details (never the account number)")
    status: str
    reference: str
    paid_at: datetime.datetime | None
    note: str


class RunOut(Schema):
    id: uuid.UUID
    currency: str
    cutoff: datetime.date
    status: str
    method: str
    reference: str
    total: Decimal
    attempts: int
    last_error: str
    created_at: datetime.datetime
    exported_at: datetime.datetime | None
    paid_at: datetime.datetime | None
    items: list[ItemOut] | None = None


class RunPage(Schema):
    items: list[RunOut]
    count: int


def item_out(item: PayoutItem) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "partner": item.partner.public_id,
        "partner_name": item.partner.name,
        "amount": item.amount,
        "currency": item.currency,
        "method": item.method,
        "details": item.details_display,
        "status": item.status,
        "reference": item.reference,
        "paid_at": item.paid_at,
        "note": item.note,
    }


def run_out(run: PayoutRun, items: list[PayoutItem] | None = None) -> dict[str, Any]:
    return {
        "id": run.public_id,
        "currency": run.currency,
        "cutoff": run.cutoff,
        "status": run.status,
        "method": run.method,
        "reference": run.reference,
        "total": run.total,
        "attempts": run.attempts,
        "last_error": run.last_error,
        "created_at": run.created_at,
        "exported_at": run.exported_at,
        "paid_at": run.paid_at,
        "items": [item_out(i) for i in items] if items is not None else None,
    }


class DetailsIn(Input):
    method: Literal["bank", "paypal", "wise"]
    currency: Text(3, 3)  # type: ignore[valid-type]
    holder_name: Text(200) = Field("", description="Account holder (bank transfers; required there)")  # type: ignore[valid-type]
    iban: Text(42) = ""  # type: ignore[valid-type]
    bic: Text(11) = ""  # type: ignore[valid-type]
    account_number: Text(34) = Field("", description="When the account has no IBAN")  # type: ignore[valid-type]
    routing_number: Text(20) = ""  # type: ignore[valid-type]
    email: Text(254) = Field("", description="PayPal or Wise e-mail")  # type: ignore[valid-type]
    tax_id: Text(60) = ""  # type: ignore[valid-type]
    self_billing: bool = Field(False, description="Statements laid out as self-billing invoices")
    min_payout: Decimal | None = Field(None, description="Staff only: this partner's own minimum payout")


class DetailsOut(Schema):
    partner: uuid.UUID
    exists: bool
    method: str
    currency: str
    holder_name: str
    masked: dict[str, str] = Field(description="Each sensitive field masked (IBAN: country and last four)")
    display: str
    has_tax_id: bool
    self_billing: bool
    min_payout: Decimal | None


def details_out(partner_public_id: uuid.UUID, view: DetailsView) -> dict[str, Any]:
    return {
        "partner": partner_public_id,
        "exists": view.exists,
        "method": view.method,
        "currency": view.currency,
        "holder_name": view.holder_name,
        "masked": view.masked or {},
        "display": view.display,
        "has_tax_id": view.has_tax_id,
        "self_billing": view.self_billing,
        "min_payout": view.min_payout,
    }


class StatementQuery(PageQuery):
    partner: uuid.UUID | None = None


class StatementsGenerate(Input):
    month: datetime.date = Field(description="Any day of the month")
    partner: uuid.UUID | None = Field(None, description="Only this partner")


class LineOut(Schema):
    date: str
    kind: str
    what: str
    explained: str
    state: str
    amount: Decimal


class StatementOut(Schema):
    id: uuid.UUID
    partner: uuid.UUID
    partner_name: str
    period_start: datetime.date
    period_end: datetime.date
    currency: str
    opening: Decimal
    earned: Decimal
    paid: Decimal
    closing: Decimal
    lines: list[LineOut] | None = None


class StatementPage(Schema):
    items: list[StatementOut]
    count: int


class DownloadQuery(Schema):
    format: Literal["pdf", "csv"] = "pdf"
    self_billing: bool | None = Field(
        None, description="Lay out as a self-billing invoice (default: the partner's choice)"
    )


def statement_out(statement: Statement, lines: list[Any] | None = None) -> dict[str, Any]:
    return {
        "id": statement.public_id,
        "partner": statement.partner.public_id,
        "partner_name": statement.partner.name,
        "period_start": statement.period_start,
        "period_end": statement.period_end,
        "currency": statement.currency,
        "opening": statement.opening,
        "earned": statement.earned,
        "paid": statement.paid,
        "closing": statement.closing,
        "lines": (
            [
                {
                    "date": ln.date,
                    "kind": ln.kind,
                    "what": ln.what,
                    "explained": ln.explained,
                    "state": ln.state,
                    "amount": ln.amount,
                }
                for ln in lines
            ]
            if lines is not None
            else None
        ),
    }
