"""`prm import fx-rates FILE [--overwrite]` and the import pages: the ECB reference-rate CSV
(``formats.fx``) through the finance app's ``services.fx.fx_rates_upsert``.

All or nothing: any bad cell (line and currency named), a day given twice, or a rate that differs from the
one stored for its day and pair refuses the whole file (``skip_invalid`` imports the good days instead);
``overwrite`` replaces changed rates (each replacement audited). Re-importing a file changes nothing.
Counts are of rates (cells), not of days.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from django.db import models

from openprm.core.actors import Actor
from openprm.finance.models import FxRate, FxSource
from openprm.finance.services.fx import FxItem, fx_rates_upsert, require_fx_writer
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.fx import FxColumns, FxRow, fx_columns, parse_fx_row
from openprm.integrations.services.runner import (
    ChangedMeanwhile,
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

    def __init__(self, *, actor: Actor, overwrite: bool) -> None:
        self.actor = actor
        self.overwrite = overwrite
        self.columns = FxColumns(base="EUR", currencies=[], names=[])

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
        checked = fx_rates_upsert(
            actor=self.actor, items=items, source=FxSource.ECB, overwrite=self.overwrite, dry_run=True
        )
        for error in checked.errors:
            row, code = origin[error.index]
            if all(known.column != code for known in row.errors):
                row.errors.append(RowError(row.line, code, error.message))

    def write(self, rows: list[FxRow], *, dry_run: bool) -> Written:
        items, origin = self._items(rows)
        done = fx_rates_upsert(
            actor=self.actor, items=items, source=FxSource.ECB, overwrite=self.overwrite, dry_run=dry_run
        )
        if done.errors:  # valid when checked a moment ago
            raise ChangedMeanwhile(
                [RowError(origin[e.index][0].line, origin[e.index][1], e.message) for e in done.errors]
            )
        return Written(created=done.created, updated=done.updated, unchanged=done.unchanged)

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
    return import_run(
        fmt=FxImport(actor=actor, overwrite=overwrite),
        stream=stream,
        result=ImportResult(),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        on_progress=on_progress,
        on_reject=on_reject,
    )


__all__ = ["FxImport", "fx_import"]
