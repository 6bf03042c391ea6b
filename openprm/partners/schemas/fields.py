"""Field types of the partner API's schemas: bounded, NUL-free strings and closed enums documented
inline. Bad input is a 422 at the edge, never a database error."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from openprm.core.schemas import NoNul, enum_schema
from openprm.partners.models import Agreement, AgreementStatus, Contact, PartnerStatus

Str40 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), NoNul]
Str60 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60), NoNul]
Str100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]
Str120 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), NoNul]
Str200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
Str254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), NoNul]
Str300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), NoNul]
Str1000 = Annotated[str, StringConstraints(max_length=1000), NoNul]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), NoNul]

# Inline enums (no $ref): several models have an inner `Kind`/`Role` class and their names would clash.
PartnerStatusIn = Annotated[PartnerStatus, enum_schema(PartnerStatus.values)]
ContactRoleIn = Annotated[Contact.Role, enum_schema(Contact.Role.values)]
AgreementKindIn = Annotated[Agreement.Kind, enum_schema(Agreement.Kind.values)]
AgreementStatusIn = Annotated[AgreementStatus, enum_schema(AgreementStatus.values)]


CustomValue = Str1000 | bool | int | float | None
