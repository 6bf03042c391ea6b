"""Per-endpoint input/output schemas of the deals API, one module per topic: ``deals``, ``conflicts``,
``metrics``, ``products`` (field types in ``fields``). The error body and the page shape are core's
(``openprm.core.schemas``), so the whole API documents one ``ErrorOut`` and one ``{"items", "count"}``."""

from openprm.deals.schemas.conflicts import (
    ConflictQuery,
    ConflictResolveIn,
    DealConflictOut,
    DealConflictSideOut,
)
from openprm.deals.schemas.deals import (
    DealApproveIn,
    DealCoSellerIn,
    DealCoSellerOut,
    DealCreate,
    DealLineItemIn,
    DealLineItemOut,
    DealOut,
    DealPatch,
    DealQuery,
    DealRefOut,
    DealRejectIn,
    DealRequestInfoIn,
    DealStageChangeOut,
    DealStageMove,
    DealStageOut,
)
from openprm.deals.schemas.fields import IdempotencyKey
from openprm.deals.schemas.metrics import (
    DealCountsOut,
    DealMetricsOut,
    DealRevenueSplitOut,
    DealTimeToCloseOut,
    MetricsQuery,
)
from openprm.deals.schemas.products import ProductCreate, ProductOut, ProductPatch, ProductQuery

__all__ = [
    "ConflictQuery",
    "ConflictResolveIn",
    "DealApproveIn",
    "DealCoSellerIn",
    "DealCoSellerOut",
    "DealConflictOut",
    "DealConflictSideOut",
    "DealCountsOut",
    "DealCreate",
    "DealLineItemIn",
    "DealLineItemOut",
    "DealMetricsOut",
    "DealOut",
    "DealPatch",
    "DealQuery",
    "DealRefOut",
    "DealRejectIn",
    "DealRequestInfoIn",
    "DealRevenueSplitOut",
    "DealStageChangeOut",
    "DealStageMove",
    "DealStageOut",
    "DealTimeToCloseOut",
    "IdempotencyKey",
    "MetricsQuery",
    "ProductCreate",
    "ProductOut",
    "ProductPatch",
    "ProductQuery",
]
