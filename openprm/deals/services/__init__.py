"""Deal services: every write to deals goes through here, one module per topic: ``registration``
(register, edit), ``approval`` (decisions, protection expiry), ``stages`` (pipeline stages, stage moves),
``resolution`` (co-sellers, conflict resolution), ``conflicts`` (detection), ``products`` (the catalog).
Every name other apps use is importable from here."""

from openprm.core.validation import MAX_AMOUNT
from openprm.deals.services.approval import (
    OpenConflicts,
    deal_approve,
    deal_reject,
    deal_request_info,
    deals_expire,
)
from openprm.deals.services.conflicts import CONFLICT_CANDIDATE_LIMIT, conflicts_detect, customer_index
from openprm.deals.services.products import (
    ProductInput,
    product_create,
    product_deactivate,
    product_update,
    products_ensure,
    products_upsert,
)
from openprm.deals.services.registration import DealInput, LineInput, deal_register, deal_update
from openprm.deals.services.resolution import Resolution, conflict_resolve, deal_add_co_seller
from openprm.deals.services.stages import (
    DEFAULT_STAGES,
    add_business_days,
    deal_move_stage,
    program_stages,
    stage_update,
)

__all__ = [
    "CONFLICT_CANDIDATE_LIMIT",
    "DEFAULT_STAGES",
    "MAX_AMOUNT",
    "DealInput",
    "LineInput",
    "OpenConflicts",
    "ProductInput",
    "Resolution",
    "add_business_days",
    "conflict_resolve",
    "conflicts_detect",
    "customer_index",
    "deal_add_co_seller",
    "deal_approve",
    "deal_move_stage",
    "deal_register",
    "deal_reject",
    "deal_request_info",
    "deal_update",
    "deals_expire",
    "product_create",
    "product_deactivate",
    "product_update",
    "products_ensure",
    "products_upsert",
    "program_stages",
    "stage_update",
]
