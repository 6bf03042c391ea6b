"""Schemas of the customers API: accounts, changes, CSAT answers and usage months."""

from openprm.customers.schemas.accounts import AccountCreate, AccountOut, AccountPatch, AccountQuery
from openprm.customers.schemas.records import (
    ChangeCreate,
    ChangeOut,
    ChangePatch,
    ChangeQuery,
    CsatCreate,
    CsatOut,
    CsatPatch,
    CsatQuery,
    UsageCreate,
    UsageOut,
    UsagePatch,
    UsageQuery,
)

__all__ = [
    "AccountCreate",
    "AccountOut",
    "AccountPatch",
    "AccountQuery",
    "ChangeCreate",
    "ChangeOut",
    "ChangePatch",
    "ChangeQuery",
    "CsatCreate",
    "CsatOut",
    "CsatPatch",
    "CsatQuery",
    "UsageCreate",
    "UsageOut",
    "UsagePatch",
    "UsageQuery",
]
