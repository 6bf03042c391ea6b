"""Finance services: every write to the finance records goes through here (``records``: create, update,
delete and the list upsert of imports, for each ``Kind``). Every name other apps use is importable here."""

from openprm.finance.services.records import (
    COMPANY_REVENUE,
    COSTS,
    INVOICES,
    KINDS,
    SELLTHROUGH,
    WRITER_ROLES,
    ItemError,
    Kind,
    UpsertResult,
    record_create,
    record_delete,
    record_update,
    records_upsert,
    require_writer,
)

__all__ = [
    "COMPANY_REVENUE",
    "COSTS",
    "INVOICES",
    "KINDS",
    "SELLTHROUGH",
    "WRITER_ROLES",
    "ItemError",
    "Kind",
    "UpsertResult",
    "record_create",
    "record_delete",
    "record_update",
    "records_upsert",
    "require_writer",
]
