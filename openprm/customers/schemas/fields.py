"""Field types of the customers API's inputs: bounded, NUL-free strings, sane dates, non-negative money
and counts, closed enums — bad input is a 422 at the edge, never a database error."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field
from pydantic import StringConstraints

from openprm.core.schemas import NoNul, enum_schema
from openprm.core.validation import MAX_AMOUNT
from openprm.customers.models import ChangeKind, CsatChannel

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]
Domain = Annotated[str, StringConstraints(strip_whitespace=True, max_length=253), NoNul]
Search = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Day = Annotated[datetime.date, Field(ge=datetime.date(1900, 1, 1), le=datetime.date(2999, 12, 31))]
Count = Annotated[int, Field(ge=0, le=2_000_000_000)]
Score = Annotated[int, Field(ge=1, le=5)]
KindIn = Annotated[ChangeKind, enum_schema(ChangeKind.values)]
ChannelIn = Annotated[CsatChannel, enum_schema(CsatChannel.values)]
