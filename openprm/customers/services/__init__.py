"""Customers writes: ``records`` (one account, change, CSAT answer or usage month at a time), ``bulk``
(lists of them: the CSV imports and the demo), ``clean`` (field validation). Every name other apps use is
importable from here."""

from openprm.customers.services.bulk import (
    ItemError,
    UpsertResult,
    accounts_upsert,
    changes_upsert,
    csat_upsert,
    usage_upsert,
)
from openprm.customers.services.records import (
    account_create,
    account_delete,
    account_update,
    change_create,
    change_delete,
    change_update,
    csat_create,
    csat_delete,
    csat_update,
    usage_delete,
    usage_record,
    usage_update,
)

__all__ = [
    "ItemError",
    "UpsertResult",
    "account_create",
    "account_delete",
    "account_update",
    "accounts_upsert",
    "change_create",
    "change_delete",
    "change_update",
    "changes_upsert",
    "csat_create",
    "csat_delete",
    "csat_update",
    "csat_upsert",
    "usage_delete",
    "usage_record",
    "usage_update",
    "usage_upsert",
]
