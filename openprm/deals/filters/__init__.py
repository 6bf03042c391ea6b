"""List filters of the deals app (one module per list): plain values parsed from a page's query string or
built by an API query schema, applied by the selectors."""

from openprm.deals.filters.deals import (
    CLOSE_MONTH_ERROR,
    SORTS,
    DealFilters,
    close_month_choices,
    close_month_range,
)
from openprm.deals.filters.products import ProductFilters

__all__ = [
    "CLOSE_MONTH_ERROR",
    "SORTS",
    "DealFilters",
    "ProductFilters",
    "close_month_choices",
    "close_month_range",
]
