"""Per-endpoint input/output schemas of the partner API, one module per topic: ``partners`` (and ``/me``),
``contacts``, ``agreements``, ``programs`` (field types in ``fields``). The request bases, the error body
and the page shape are core's (``openprm.core.schemas``)."""

from openprm.core.schemas import (
    STAFF_ONLY_NOTE,
    ErrorItem,
    ErrorOut,
    Input,
    Long,
    Name,
    NoNul,
    Pagination,
    Patch,
    StaffOnlyFields,
)
from openprm.partners.schemas.agreements import AgreementCreate, AgreementOut, AgreementPatch
from openprm.partners.schemas.contacts import ContactCreate, ContactOut, ContactPatch
from openprm.partners.schemas.fields import When
from openprm.partners.schemas.partners import (
    MeOut,
    PartnerCreate,
    PartnerOut,
    PartnerPatch,
    PartnerQuery,
    PartnerRemovedOut,
    PartnerTierOut,
    TierRef,
)
from openprm.partners.schemas.programs import (
    ProgramCreate,
    ProgramOut,
    ProgramPatch,
    TierCreate,
    TierOut,
    TierPatch,
)

# Other apps imported the shared bases from here before they moved to core; kept until none does.
_Input = Input
_Patch = Patch

__all__ = [
    "STAFF_ONLY_NOTE",
    "AgreementCreate",
    "AgreementOut",
    "AgreementPatch",
    "ContactCreate",
    "ContactOut",
    "ContactPatch",
    "ErrorItem",
    "ErrorOut",
    "Long",
    "MeOut",
    "Name",
    "NoNul",
    "Pagination",
    "PartnerCreate",
    "PartnerOut",
    "PartnerPatch",
    "PartnerQuery",
    "PartnerRemovedOut",
    "PartnerTierOut",
    "ProgramCreate",
    "ProgramOut",
    "ProgramPatch",
    "StaffOnlyFields",
    "TierCreate",
    "TierOut",
    "TierPatch",
    "TierRef",
    "When",
    "_Input",
    "_Patch",
]
