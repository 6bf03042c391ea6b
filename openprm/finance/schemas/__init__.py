"""Schemas of the finance API, one module per topic: ``records`` (costs, invoices, sell-through lines,
company revenue)."""

from openprm.finance.schemas.records import (
    CompanyRevenueCreate,
    CompanyRevenueOut,
    CompanyRevenuePatch,
    CostCreate,
    CostOut,
    CostPatch,
    FinanceQuery,
    InvoiceCreate,
    InvoiceOut,
    InvoicePatch,
    SellThroughCreate,
    SellThroughOut,
    SellThroughPatch,
)

__all__ = [
    "CompanyRevenueCreate",
    "CompanyRevenueOut",
    "CompanyRevenuePatch",
    "CostCreate",
    "CostOut",
    "CostPatch",
    "FinanceQuery",
    "InvoiceCreate",
    "InvoiceOut",
    "InvoicePatch",
    "SellThroughCreate",
    "SellThroughOut",
    "SellThroughPatch",
]
