"""Deal services: every write to deals goes through here (one module per topic)."""

from openprm.core.validation import MAX_AMOUNT
from openprm.deals.services.conflicts import CONFLICT_CANDIDATE_LIMIT, conflicts_detect, customer_index
from openprm.deals.services.products import (
    ProductInput,
    product_create,
    product_deactivate,
    product_update,
    products_ensure,
    products_upsert,
)
from openprm.deals.services.registration import (
    DEFAULT_STAGES,
    DealInput,
    LineInput,
    Resolution,
    add_business_days,
    conflict_resolve,
    deal_add_co_seller,
    deal_approve,
    deal_move_stage,
    deal_register,
    deal_reject,
    deal_request_info,
    deal_update,
    deals_expire,
    program_stages,
    stage_update,
)

__all__ = [
    "CONFLICT_CANDIDATE_LIMIT",
    "DEFAULT_STAGES",
    "MAX_AMOUNT",
    "DealInput",
    "LineInput",
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
