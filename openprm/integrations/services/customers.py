"""`prm import accounts|account-changes|csat|usage FILE`: the customer CSVs through the customers bulk
services (``accounts_upsert``, ``changes_upsert``, ``csat_upsert``, ``usage_upsert``).

Rows are matched by external id (usage: account and month): re-importing a file changes nothing. All or
nothing: any bad row, or a row whose identity an earlier one has, refuses the file with every problem and
its line; ``skip_invalid`` imports the good rows instead. Accounts are imported before the files that name
them (``account_external_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import IO, Any

from django.db import models

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.customers.services import (
    UpsertResult,
    accounts_upsert,
    changes_upsert,
    csat_upsert,
    usage_upsert,
)
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.customers import (
    FORMATS,
    KINDS,
    CustomerRow,
    column_for_field,
    customer_columns,
    duplicate_error,
    parse_customer_row,
)
from openprm.integrations.services.runner import (
    ChangedMeanwhile,
    ImportResult,
    ProgressCallback,
    RejectCallback,
    Written,
    import_run,
)

__all__ = ["CUSTOMER_IMPORTS", "KINDS", "CustomerImport", "customers_import"]

BATCH_SIZE = 2_000
Upsert = Callable[..., UpsertResult]
WRITERS: dict[str, tuple[Upsert, type[models.Model]]] = {
    "accounts": (accounts_upsert, CustomerAccount),
    "account-changes": (changes_upsert, AccountChange),
    "csat": (csat_upsert, CsatResponse),
    "usage": (usage_upsert, UsageRecord),
}


class CustomerImport:
    """One customers format of the runner (``runner.ImportFormat``)."""

    batch_size = BATCH_SIZE
    check_first = False  # one read; a refused file is rolled back

    def __init__(self, *, actor: Actor, kind: str) -> None:
        self.actor = actor
        self.fmt = FORMATS[kind]
        self.upsert, self.model = WRITERS[kind]
        self.columns: list[str] = []

    def read_header(self, header: list[str]) -> None:
        self.columns = customer_columns(self.fmt, header)

    def parse(self, record: CsvRecord) -> CustomerRow:
        return parse_customer_row(self.fmt, self.columns, record)

    def duplicate(self, row: CustomerRow, first_line: int) -> RowError:
        return duplicate_error(self.fmt, row, first_line)

    def _errors(self, rows: list[CustomerRow], result: UpsertResult) -> list[RowError]:
        return [
            RowError(rows[e.index].line, column_for_field(e.field), e.message) for e in result.errors or []
        ]

    def validate(self, rows: list[CustomerRow]) -> None:
        candidates = [row for row in rows if not row.errors]
        checked = self.upsert(actor=self.actor, items=[row.item for row in candidates], dry_run=True)
        for row, action in zip(candidates, checked.actions, strict=True):
            row.action = action
        for error in checked.errors or []:
            row = candidates[error.index]
            row.errors.append(RowError(row.line, column_for_field(error.field), error.message))
        for row in rows:
            if row.errors:
                row.action = "reject"

    def write(self, rows: list[CustomerRow], *, dry_run: bool) -> Written:
        done = self.upsert(actor=self.actor, items=[row.item for row in rows], dry_run=dry_run)
        if done.errors:  # valid when checked a moment ago
            raise ChangedMeanwhile(self._errors(rows, done))
        return Written(created=done.created, updated=done.updated, unchanged=done.unchanged)

    def preview(self, row: CustomerRow) -> dict[str, Any]:
        return {
            "line": row.line,
            "action": row.action or "reject",
            "cells": [row.cell(column) for column in self.fmt.columns if column in self.columns],
            "columns": [column for column in self.fmt.columns if column in self.columns],
            "errors": row.errors,
        }

    def tables(self) -> Sequence[type[models.Model]]:
        return (self.model,)


def customers_import(
    *,
    actor: Actor,
    kind: str,
    stream: IO[bytes],
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ImportResult:
    """Import a customers CSV of ``kind`` (accounts, account-changes, csat, usage) from a seekable binary
    stream (see the module docstring). Raises CsvHeaderError when the file cannot be read at all, or its
    header lacks a required column or has unknown ones."""
    actor.require(Perm.PARTNER_IMPORT)
    return import_run(
        fmt=CustomerImport(actor=actor, kind=kind),
        stream=stream,
        result=ImportResult(),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        on_progress=on_progress,
        on_reject=on_reject,
    )


CUSTOMER_IMPORTS: dict[str, Callable[..., ImportResult]] = {
    kind: partial(customers_import, kind=kind) for kind in KINDS
}
"""`prm import` kinds: accounts, account-changes, csat, usage."""
