"""`prm import products FILE`: the products CSV through the catalog service ``products_upsert``.

A row whose name exists (any case) updates that product, others create one (re-importing a file changes
nothing). All or nothing: any bad row, or a name given twice, refuses the file with every problem and its
line; ``skip_invalid`` imports the good rows instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, cast

from django.db import models

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.deals.services import ProductInput, products_upsert
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.products import (
    PRODUCT_COLUMNS,
    ProductRow,
    column_for_product_field,
    parse_product_row,
    product_columns,
)
from openprm.integrations.services.runner import (
    ChangedMeanwhile,
    ImportResult,
    ProgressCallback,
    RejectCallback,
    Written,
    import_run,
)

__all__ = ["PRODUCT_COLUMNS", "ProductImport", "products_import"]

BATCH_SIZE = 1_000


def _items(rows: list[ProductRow]) -> list[ProductInput]:
    return [cast(ProductInput, row.item) for row in rows]


class ProductImport:
    """The products format of the runner (``runner.ImportFormat``)."""

    batch_size = BATCH_SIZE
    check_first = False  # one read; a refused file is rolled back

    def __init__(self, *, actor: Actor) -> None:
        self.actor = actor
        self.columns: list[str] = []

    def read_header(self, header: list[str]) -> None:
        self.columns = product_columns(header)

    def parse(self, record: CsvRecord) -> ProductRow:
        return parse_product_row(self.columns, record)

    def duplicate(self, row: ProductRow, first_line: int) -> RowError:
        return RowError(row.line, "name", f"'{row.name}' is named twice in the file.")

    def validate(self, rows: list[ProductRow]) -> None:
        candidates = [row for row in rows if not row.errors]
        checked = products_upsert(actor=self.actor, items=_items(candidates), dry_run=True)
        for error in checked.errors or []:
            row = candidates[error.index]
            row.errors.append(RowError(row.line, column_for_product_field(error.field), error.message))

    def write(self, rows: list[ProductRow], *, dry_run: bool) -> Written:
        done = products_upsert(actor=self.actor, items=_items(rows), dry_run=dry_run)
        if done.errors:  # valid when checked a moment ago
            raise ChangedMeanwhile(
                [
                    RowError(rows[e.index].line, column_for_product_field(e.field), e.message)
                    for e in done.errors
                ]
            )
        return Written(created=done.created, updated=done.updated, unchanged=done.unchanged)

    def preview(self, row: ProductRow) -> ProductRow:
        return row

    def tables(self) -> Sequence[type[models.Model]]:
        return ()  # a catalog is small: no statistics to refresh


def products_import(
    *,
    actor: Actor,
    stream: IO[bytes],
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ImportResult:
    """Import a products CSV from a seekable binary stream (see the module docstring). Raises
    CsvHeaderError when the file cannot be read at all or its header lacks ``name`` or has unknown columns."""
    actor.require(Perm.PARTNER_IMPORT)
    return import_run(
        fmt=ProductImport(actor=actor),
        stream=stream,
        result=ImportResult(),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        on_progress=on_progress,
        on_reject=on_reject,
    )
