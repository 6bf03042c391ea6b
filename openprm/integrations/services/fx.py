"""`prm import fx-rates FILE [--overwrite]` and the import pages: the ECB reference-rate CSV
(``formats.fx``) through the finance app's ``services.fx.fx_rates_upsert``.

All or nothing: any bad cell (line and currency named), a day given twice, or a rate that differs from the
one stored for its day and pair refuses the whole file (``skip_invalid`` imports the good days instead);
``overwrite`` replaces changed rates. Re-importing a file changes nothing. Counts are of rates (cells),
not of days.

Built for the full ECB history (~212,000 rates): each batch of days is checked once against the stored
rates (``finance.services.fx.fx_rates_check``) and its planned writes are carried out without a second
check, in bulk (``finance.services.bulk.fx_rates_write``); the import writes ONE audit entry (counts,
days, currencies, each replaced rate as ``[day, before, after]``: ``fx_import_audit``) in the same
transaction as the rates.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO

from django.db import models, transaction

from openprm.core.actors import Actor
from openprm.finance.models import FxRate, FxSource
from openprm.finance.services.bulk import FxImportSummary, fx_import_audit, fx_rates_write
from openprm.finance.services.fx import FxItem, Planned, fx_rates_check, require_fx_writer
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.fx import FxColumns, FxRow, fx_columns, parse_fx_row
from openprm.integrations.services.runner import (
    ImportResult,
    ProgressCallback,
    RejectCallback,
    Written,
    import_run,
)

BATCH_SIZE = 500  # days (some 30 rates each)


class FxImport:
    """The ECB file as a format of the runner (``runner.ImportFormat``)."""

    batch_size = BATCH_SIZE
    check_first = False

    def __init__(self, *, actor: Actor, overwrite: bool, file: str = "") -> None:
        self.actor = actor
        self.overwrite = overwrite
        self.columns = FxColumns(base="EUR", currencies=[], names=[])
        self.planned: dict[int, tuple[list[Planned], int]] = {}  # line → (writes, rates unchanged)
        self.summary = FxImportSummary(source=FxSource.ECB, file=file)

    def read_header(self, header: list[str]) -> None:
        self.columns = fx_columns(header)

    def parse(self, record: CsvRecord) -> FxRow:
        return parse_fx_row(self.columns, record)

    def duplicate(self, row: FxRow, first_line: int) -> RowError:
        return RowError(row.line, self.columns.names[0], f"The same day as line {first_line}.")

    def _items(self, rows: list[FxRow]) -> tuple[list[FxItem], list[tuple[FxRow, str]]]:
        items: list[FxItem] = []
        origin: list[tuple[FxRow, str]] = []
        for row in rows:
            for code, cell in row.rates:
                items.append(FxItem(day=row.day, base=self.columns.base, quote=code, rate=cell))
                origin.append((row, code))
        return items, origin

    def validate(self, rows: list[FxRow]) -> None:
        day_column = self.columns.names[0]  # a bad or repeated day: its rates are not checked
        candidates = [
            row
            for row in rows
            if row.day is not None
            and not row.record.error
            and all(e.column != day_column for e in row.errors)
        ]
        items, origin = self._items(candidates)
        checked = fx_rates_check(actor=self.actor, items=items, overwrite=self.overwrite)
        for error in checked.errors:
            row, code = origin[error.index]
            if all(known.column != code for known in row.errors):
                row.errors.append(RowError(row.line, code, error.message))
        plans: dict[int, tuple[list[Planned], int]] = {row.line: ([], 0) for row in candidates}
        for plan in checked.planned:
            plans[origin[plan.index][0].line][0].append(plan)
        for index in checked.unchanged:
            line = origin[index][0].line
            plans[line] = (plans[line][0], plans[line][1] + 1)
        self.planned.update(plans)

    def write(self, rows: list[FxRow], *, dry_run: bool) -> Written:
        """Carry out the writes ``validate`` planned for these rows (checked once, not again)."""
        planned: list[Planned] = []
        unchanged = 0
        for row in rows:
            writes, same = self.planned.pop(row.line, ([], 0))
            planned.extend(writes)
            unchanged += same
        created = sum(1 for p in planned if p.stored is None)
        if not dry_run:
            if planned:
                fx_rates_write(actor=self.actor, planned=planned, source=FxSource.ECB)
            self.summary.add(
                planned,
                unchanged=unchanged,
                days=[row.day for row in rows if row.day is not None],
                currencies=[self.columns.base, *(code for row in rows for code, _ in row.rates)],
            )
        return Written(created=created, updated=len(planned) - created, unchanged=unchanged)

    def preview(self, row: FxRow) -> FxRow:
        return row

    def tables(self) -> Sequence[type[models.Model]]:
        return (FxRate,)


def fx_import(
    *,
    actor: Actor,
    stream: IO[bytes],
    overwrite: bool = False,
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ImportResult:
    """Import an ECB reference-rate CSV from a seekable binary stream (see the module docstring). Raises
    CsvHeaderError when the file cannot be read at all or its header is not the ECB layout."""
    require_fx_writer(actor)
    fmt = FxImport(
        actor=actor, overwrite=overwrite, file=os.path.basename(str(getattr(stream, "name", "") or ""))[:120]
    )
    with transaction.atomic():  # the rates and the import's audit entry commit together
        result = import_run(
            fmt=fmt,
            stream=stream,
            result=ImportResult(),
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            on_progress=on_progress,
            on_reject=on_reject,
        )
        if not (dry_run or result.refused):
            fx_import_audit(actor=actor, summary=fmt.summary)
    return result


__all__ = ["FxImport", "fx_import"]
