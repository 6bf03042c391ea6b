"""Writes for the partner database, one module per topic. Every function is keyword-only, atomic and audited.

Callers may import from here (``from openprm.partners import services``) or from the topic module; the
names below are the package's public surface. The bulk service (``services.bulk``) is imported from its
module: it is what imports use, not a per-object service.
"""

from openprm.partners.services.agreements import agreement_create, agreement_delete, agreement_update
from openprm.partners.services.clean import (
    MAX_TAGS,
    PartnerInput,
    PartnerLookups,
    clean_choice,
    partner_clean,
)
from openprm.partners.services.contacts import (
    CONTACT_FIELDS,
    contact_create,
    contact_delete,
    contact_invite,
    contact_update,
)
from openprm.partners.services.partners import (
    partner_audit_extra,
    partner_create,
    partner_update,
    partners_bulk_update,
)
from openprm.partners.services.programs import (
    ATTRIBUTION_MODELS,
    DEFAULT_PROGRAM,
    DEFAULT_TIERS,
    PROGRAM_WINDOWS,
    ProgramInput,
    program_create,
    program_update,
    tier_create,
    tier_delete,
    tier_move,
    tier_rename,
    workspace_bootstrap,
)
from openprm.partners.services.reference import (
    KEY_RE,
    custom_field_create,
    custom_field_delete,
    partner_type_create,
)
from openprm.partners.services.removal import (
    SETUP_RELATIONS,
    partner_archive,
    partner_delete,
    partner_has_history,
    partner_purge,
    partner_restore,
)
from openprm.partners.services.saved_views import saved_view_delete, saved_view_save

__all__ = [
    "ATTRIBUTION_MODELS",
    "CONTACT_FIELDS",
    "DEFAULT_PROGRAM",
    "DEFAULT_TIERS",
    "KEY_RE",
    "MAX_TAGS",
    "PROGRAM_WINDOWS",
    "SETUP_RELATIONS",
    "PartnerInput",
    "PartnerLookups",
    "ProgramInput",
    "agreement_create",
    "agreement_delete",
    "agreement_update",
    "clean_choice",
    "contact_create",
    "contact_delete",
    "contact_invite",
    "contact_update",
    "custom_field_create",
    "custom_field_delete",
    "partner_archive",
    "partner_audit_extra",
    "partner_clean",
    "partner_create",
    "partner_delete",
    "partner_has_history",
    "partner_purge",
    "partner_restore",
    "partner_type_create",
    "partner_update",
    "partners_bulk_update",
    "program_create",
    "program_update",
    "saved_view_delete",
    "saved_view_save",
    "tier_create",
    "tier_delete",
    "tier_move",
    "tier_rename",
    "workspace_bootstrap",
]
