"""Per-endpoint input/output schemas of the partner API, one module per topic: ``partners`` (and ``/me``),
``contacts``, ``agreements``, ``programs`` (field types in ``fields``). The request bases, the error body
and the page shape are core's (``openprm.core.schemas``): import them from there."""

from openprm.partners.schemas.agreements import AgreementCreate, AgreementOut, AgreementPatch
from openprm.partners.schemas.contacts import ContactCreate, ContactOut, ContactPatch
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

__all__ = [
    "AgreementCreate",
    "AgreementOut",
    "AgreementPatch",
    "ContactCreate",
    "ContactOut",
    "ContactPatch",
    "MeOut",
    "PartnerCreate",
    "PartnerOut",
    "PartnerPatch",
    "PartnerQuery",
    "PartnerRemovedOut",
    "PartnerTierOut",
    "ProgramCreate",
    "ProgramOut",
    "ProgramPatch",
    "TierCreate",
    "TierOut",
    "TierPatch",
    "TierRef",
]
