"""The finance exports: each kind's records as its canonical CSV (``formats.finance``), so an exported
file imports unchanged (``prm export costs|invoices|sellthrough|company-revenue``, the lists' CSV link)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.core.exceptions import PermissionDenied

from openprm.core.actors import Actor
from openprm.core.scoping import scope
from openprm.finance.filters import FinanceFilters
from openprm.finance.selectors import record_list
from openprm.finance.services import KINDS
from openprm.integrations.formats.finance import COLUMNS, PARTNER_COLUMN

EXPORT_BATCH = 1000
FINANCE_EXPORTS = tuple(COLUMNS)


def _cell(record: Any, column: str) -> str:
    if column == PARTNER_COLUMN:
        return str(record.partner.external_id or record.partner.name)
    value = getattr(record, column)
    if column == "period":
        return f"{value:%Y-%m}"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def finance_export(*, actor: Actor, kind: str, filters: FinanceFilters | None = None) -> Iterator[list[str]]:
    """The kind's records the actor may see (filtered like its list page), header first; staff only.
    Rows are read lazily in batches, each inside the actor's scope (streaming responses)."""
    if not actor.is_staff:
        raise PermissionDenied("Staff export financial records")
    access = actor.access_scope()
    with scope(access):
        queryset = record_list(actor=actor, kind=KINDS[kind], filters=filters)
    columns = COLUMNS[kind]

    def rows() -> Iterator[list[str]]:
        yield list(columns)
        records = queryset.iterator(chunk_size=EXPORT_BATCH)
        while True:
            with scope(access):
                batch = list(islice(records, EXPORT_BATCH))
            if not batch:
                return
            for record in batch:
                yield [_cell(record, column) for column in columns]

    return rows()


__all__ = ["FINANCE_EXPORTS", "finance_export"]
