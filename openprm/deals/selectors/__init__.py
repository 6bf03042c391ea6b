"""Reads of the deals app, one module per topic: ``deals`` (list, get, visibility), ``conflicts``,
``pipeline`` (stages, the weekly review), ``history`` (audit trail and stage changes), ``metrics`` (the
reads behind the deal KPIs), ``products``. Every name other apps use is importable from here."""

from openprm.deals.filters import CLOSE_MONTH_ERROR, SORTS, DealFilters, close_month_range
from openprm.deals.selectors.conflicts import (
    conflict_get,
    conflict_list,
    conflict_rival,
    conflicts_blocking,
    deal_conflicts,
    with_open_conflict_counts,
)
from openprm.deals.selectors.deals import (
    IN_PIPELINE,
    customer_suggestions,
    deal_get,
    deal_list,
    deals_visible,
    first_rows,
    first_rows_by_stage,
    open_stage_ids,
    stalled_cutoff,
    stalled_q,
)
from openprm.deals.selectors.history import deal_audit_entries, deal_history_items, stage_changes
from openprm.deals.selectors.metrics import CENT, DealMetrics, deal_metrics, stage_history
from openprm.deals.selectors.pipeline import pipeline_review, pipeline_review_rows, stage_counts, stages_for
from openprm.deals.selectors.products import product_get, product_list, products

__all__ = [
    "CENT",
    "CLOSE_MONTH_ERROR",
    "IN_PIPELINE",
    "SORTS",
    "DealFilters",
    "DealMetrics",
    "close_month_range",
    "conflict_get",
    "conflict_list",
    "conflict_rival",
    "conflicts_blocking",
    "customer_suggestions",
    "deal_audit_entries",
    "deal_conflicts",
    "deal_get",
    "deal_history_items",
    "deal_list",
    "deal_metrics",
    "deals_visible",
    "first_rows",
    "first_rows_by_stage",
    "open_stage_ids",
    "pipeline_review",
    "pipeline_review_rows",
    "product_get",
    "product_list",
    "products",
    "stage_changes",
    "stage_counts",
    "stage_history",
    "stages_for",
    "stalled_cutoff",
    "stalled_q",
    "with_open_conflict_counts",
]
