"""Schemas of ``/finance/fx-rates``: a rate is ``1 base = rate quote`` on ``day``; rates travel as decimal
strings (``"1.0823"``) so that no digit is lost to binary floating point."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from openprm.core.schemas import Input, NoNul
from openprm.finance.filters import FxFilters

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$"),
    NoNul,
    Field(description="ISO 4217 code, e.g. EUR"),
]
Rate = Annotated[
    Decimal,
    Field(gt=0, max_digits=28, decimal_places=14, description="Units of `quote` per unit of `base`"),
]
Day = Annotated[datetime.date, Field(ge=datetime.date(1900, 1, 1), le=datetime.date(9999, 12, 31))]


class FxRateIn(Input):
    day: Day
    base: Code
    quote: Code
    rate: Rate


class FxRateCreate(FxRateIn):
    overwrite: bool = Field(False, description="Replace the rate stored for the day and pair, if different")


class FxRatesBulk(Input):
    """Many rates at once, all or nothing: an error names the item (``items.3.rate``)."""

    items: list[FxRateIn] = Field(min_length=1, max_length=5000)
    overwrite: bool = Field(False, description="Replace stored rates that differ")


class FxRatesBulkOut(Schema):
    created: int
    updated: int
    unchanged: int


class FxRateOut(Schema):
    public_id: uuid.UUID
    day: datetime.date
    base: str
    quote: str
    rate: Decimal
    source: Literal["ecb", "manual"]
    created_at: datetime.datetime
    updated_at: datetime.datetime


class FxQuery(Schema):
    currency: Code | None = Field(None, description="Rates with this currency as base or quote")
    day: Day | None = Field(None, description="This day only (YYYY-MM-DD)")
    start: Day | None = Field(None, description="From this day")
    end: Day | None = Field(None, description="Up to this day, included (on or after `start`)")

    def to_filters(self) -> FxFilters:
        return FxFilters(currency=self.currency or "", start=self.start, end=self.end, day=self.day)


__all__ = ["FxQuery", "FxRateCreate", "FxRateIn", "FxRateOut", "FxRatesBulk", "FxRatesBulkOut"]
