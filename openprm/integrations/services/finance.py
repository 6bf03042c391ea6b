"""`prm import costs|invoices|sellthrough|company-revenue FILE`: the finance CSVs (``formats.finance``)
through the finance app's list service ``records_upsert``.

A row whose natural key exists updates that record (the columns the file has), others create one, so
re-importing a file changes nothing. All or nothing: any bad row, or a key given twice, refuses the file
with every problem and its line; ``skip_invalid`` imports the good rows instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import IO

from django.db import models

from openprm.core.actors import Actor
from openprm.finance.services import KINDS, Kind, records_upsert, require_writer
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.finance import (
    COLUMNS,
    FinanceRow,
    column_for_field,
    finance_columns,
    parse_finance_row,
)
from openprm.integrations.services.runner import (
    ChangedMeanwhile,
    ImportResult,
    ProgressCallback,
    RejectCallback,
    Written,
    import_run,
)

BATCH_SIZE = 2_000


class FinanceImport:
    """One finance kind as a format of the runner (``runner.ImportFormat``)."""

    batch_size = BATCH_SIZE
    check_first = False  # one read; a refused file is rolled back

    def __init__(self, *, actor: Actor, kind: Kind) -> None:
        self.actor = actor
        self.kind = kind
        self.columns: list[str] = []

    def read_header(self, header: list[str]) -> None:
        self.columns = finance_columns(self.kind.name, header)

    def parse(self, record: CsvRecord) -> FinanceRow:
        return parse_finance_row(self.kind.name, self.columns, record)

    def duplicate(self, row: FinanceRow, first_line: int) -> RowError:
        column = column_for_field(self.kind.key_fields[-1])
        return RowError(row.line, column, f"The same record as line {first_line}.")

    def validate(self, rows: list[FinanceRow]) -> None:
        """Every problem of every row at once: rows with a bad cell are checked too, and the service's
        word on a column already blamed (an amount that was there but unreadable) is left out."""
        candidates = [row for row in rows if not row.record.error]
        items = [row.item for row in candidates]
        checked = records_upsert(actor=self.actor, kind=self.kind, items=items, dry_run=True)
        for error in checked.errors:
            row = candidates[error.index]
            column = column_for_field(error.field)
            if all(known.column != column for known in row.errors):
                row.errors.append(RowError(row.line, column, error.message))
        order = {column: index for index, column in enumerate(self.columns)}
        for row in candidates:
            row.errors.sort(key=lambda error: order.get(error.column, -1))

    def write(self, rows: list[FinanceRow], *, dry_run: bool) -> Written:
        done = records_upsert(actor=self.actor, kind=self.kind, items=[r.item for r in rows], dry_run=dry_run)
        if done.errors:  # valid when checked a moment ago
            raise ChangedMeanwhile(
                [RowError(rows[e.index].line, column_for_field(e.field), e.message) for e in done.errors]
            )
        return Written(created=done.created, updated=done.updated, unchanged=done.unchanged)

    def preview(self, row: FinanceRow) -> FinanceRow:
        return row

    def tables(self) -> Sequence[type[models.Model]]:
        return (self.kind.model,)


def finance_import(
    kind: str,
    *,
    actor: Actor,
    stream: IO[bytes],
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ImportResult:
    """Import a finance CSV of ``kind`` from a seekable binary stream (see the module docstring). Raises
    CsvHeaderError when the file cannot be read at all or its header lacks a required column."""
    require_writer(actor)
    return import_run(
        fmt=FinanceImport(actor=actor, kind=KINDS[kind]),
        stream=stream,
        result=ImportResult(),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        on_progress=on_progress,
        on_reject=on_reject,
    )


FINANCE_IMPORTS: dict[str, Callable[..., ImportResult]] = {
    kind: partial(finance_import, kind) for kind in COLUMNS
}
"""``prm import`` kinds → their import function (the same keyword arguments as the other imports)."""

__all__ = ["FINANCE_IMPORTS", "FinanceImport", "finance_import"]
