"""List filters of the commissions pages and API (one module per list): plain values parsed from a page's
query string or built by an API query schema, applied by the selectors."""

from openprm.commissions.filters.ledger import Cursor, LedgerFilters, month_range

__all__ = ["Cursor", "LedgerFilters", "month_range"]
