"""Reads of the finance app, one module per topic: ``metric_inputs`` (the metric engine's inputs),
``records`` (scoped lists and gets for pages and API) and ``fx`` (exchange rates: ``fx.fx_table``).
Every name other apps use is importable from here."""

from openprm.finance.selectors.metric_inputs import (
    INPUTS,
    TOTAL,
    input_availability,
    metric_inputs,
    sellthrough_by_region,
)
from openprm.finance.selectors.records import (
    can_read,
    invoice_totals_by_currency,
    partner_options,
    record_get,
    record_list,
    record_totals,
)

__all__ = [
    "INPUTS",
    "TOTAL",
    "can_read",
    "input_availability",
    "invoice_totals_by_currency",
    "metric_inputs",
    "partner_options",
    "record_get",
    "record_list",
    "record_totals",
    "sellthrough_by_region",
]
