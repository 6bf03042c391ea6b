"""Reads for the partner database, one module per topic; every queryset goes through the scoped managers.

The list filters live in ``partners.filters``; their names are re-exported here for the callers that read
them next to ``partner_list``."""

from openprm.partners.filters import ARCHIVED_CHOICES, CONTRACT_CHOICES, SORTS, PartnerFilters
from openprm.partners.selectors.agreements import agreement_get, agreement_list, agreements_expiring
from openprm.partners.selectors.contacts import contact_get, contact_list
from openprm.partners.selectors.history import HistoryItem, audit_list, partner_history
from openprm.partners.selectors.partners import (
    LastContact,
    custom_field_list,
    last_contact_on,
    last_contact_register,
    partner_get,
    partner_get_own,
    partner_list,
    reference_data,
    saved_view_list,
    status_history,
)
from openprm.partners.selectors.programs import (
    ProgramTiers,
    program_get,
    program_list,
    program_tiers,
    tier_get,
)

__all__ = [
    "ARCHIVED_CHOICES",
    "CONTRACT_CHOICES",
    "SORTS",
    "HistoryItem",
    "LastContact",
    "PartnerFilters",
    "ProgramTiers",
    "agreement_get",
    "agreement_list",
    "agreements_expiring",
    "audit_list",
    "contact_get",
    "contact_list",
    "custom_field_list",
    "last_contact_on",
    "last_contact_register",
    "partner_get",
    "partner_get_own",
    "partner_history",
    "partner_list",
    "program_get",
    "program_list",
    "program_tiers",
    "reference_data",
    "saved_view_list",
    "status_history",
    "tier_get",
]
