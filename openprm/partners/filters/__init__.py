"""List filters of the partners app (one module per list; the partner list is the only one)."""

from openprm.partners.filters.partners import (
    ANNOTATIONS,
    ARCHIVED_CHOICES,
    CONTRACT_CHOICES,
    SORTS,
    PartnerFilters,
    partner_filter,
)

__all__ = ["ANNOTATIONS", "ARCHIVED_CHOICES", "CONTRACT_CHOICES", "SORTS", "PartnerFilters", "partner_filter"]
