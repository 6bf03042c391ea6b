"""Field types of the deals API's inputs: bounded, NUL-free strings, finite non-negative money and closed
enums, so that bad input is a 422 at the edge, never a database error."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field
from pydantic import StringConstraints

from openprm.core.schemas import NoNul, enum_schema
from openprm.core.validation import MAX_AMOUNT
from openprm.deals.models import ApprovalStatus, ConflictStatus, DealCoSeller, DealSource

Str40 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), NoNul]
Str200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
Str254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), NoNul]
Str300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), NoNul]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), NoNul]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NoNul]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), NoNul]
StageKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[-a-zA-Z0-9_]+$")
]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
IdempotencyKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("9999999999.99"), allow_inf_nan=False)]
CloseDate = Annotated[datetime.date, Field(ge=datetime.date(1900, 1, 1), le=datetime.date(2999, 12, 31))]

# Inline enums (no $ref): several models have an inner `Role`/`Kind` class and their names would clash.
SourceIn = Annotated[DealSource, enum_schema(DealSource.values)]
CoSellRoleIn = Annotated[DealCoSeller.Role, enum_schema(DealCoSeller.Role.values)]
ApprovalIn = Annotated[ApprovalStatus, enum_schema(ApprovalStatus.values)]
ConflictStatusIn = Annotated[ConflictStatus, enum_schema(ConflictStatus.values)]
