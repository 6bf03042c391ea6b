"""The products CSV: ``name,sku,list_price,currency,active`` (only ``name`` is required).

A row whose name exists (any case) updates that product, others create one (re-importing a file changes
nothing). A blank cell leaves the value as it is (a new product: no SKU, price 0, the workspace currency,
active). ``active`` is true/false (yes/no, 1/0). All or nothing: any bad row, or a name given twice,
refuses the file with every problem and its line; ``skip_invalid`` imports the good rows instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.deals.services import ProductInput, products_upsert
from openprm.integrations.formats.csvread import (
    CsvHeaderError,
    CsvRecord,
    CsvSource,
    RowError,
    header_columns,
)
from openprm.integrations.services.partners import ImportResult, ProgressCallback, RejectCallback

COLUMNS = ("name", "sku", "list_price", "currency", "active")
TRUE = {"true", "yes", "1", "y"}
FALSE = {"false", "no", "0", "n"}
FIELD_COLUMN = {"is_active": "active"}  # service field → CSV column, where they differ


@dataclass
class _Row:
    record: CsvRecord
    item: ProductInput
    errors: list[RowError]


def _parse(columns: list[str], record: CsvRecord) -> _Row:
    row = _Row(record=record, item={}, errors=[])
    if record.error:
        row.errors.append(RowError(record.line, "", record.error))
        return row
    cells = dict(zip(columns, record.values, strict=False))
    item: dict[str, Any] = {}
    for column in ("name", "sku", "list_price", "currency"):
        value = (cells.get(column) or "").strip()
        if value or column == "name":
            item[column] = value
    active = (cells.get("active") or "").strip().lower()
    if active in TRUE:
        item["is_active"] = True
    elif active in FALSE:
        item["is_active"] = False
    elif active:
        row.errors.append(RowError(record.line, "active", f"'{active}' is not true or false."))
    row.item = item  # type: ignore[assignment]
    return row


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
    source = CsvSource(stream)
    result = ImportResult(dry_run=dry_run)
    try:
        columns = header_columns(source.read_header())
        if "name" not in columns:
            raise CsvHeaderError(f"The header has no 'name' column. Columns: {', '.join(COLUMNS)}.")
        unknown = [c for c in columns if c and c not in COLUMNS]
        if unknown:
            raise CsvHeaderError(f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(COLUMNS)}.")
        rows = [_parse(columns, record) for record in source.records()]
        if on_progress is not None:
            on_progress("check", source.bytes_read)
    finally:
        source.close()
    result.rows = len(rows)
    candidates = [row for row in rows if not row.errors]
    checked = products_upsert(actor=actor, items=[row.item for row in candidates], dry_run=True)
    for error in checked.errors or []:
        row = candidates[error.index]
        row.errors.append(
            RowError(row.record.line, FIELD_COLUMN.get(error.field, error.field), error.message)
        )
    bad = [row for row in rows if row.errors]
    for row in bad:
        result.rejected += 1
        result.error_count += len(row.errors)
        result.errors.extend(row.errors)
        if on_reject is not None:
            on_reject(source.header, row.record, row.errors)
    if bad and not skip_invalid:
        result.refused = True
        return result
    good = [row.item for row in rows if not row.errors]
    done = products_upsert(actor=actor, items=good, dry_run=dry_run)
    result.created, result.updated, result.unchanged = done.created, done.updated, done.unchanged
    if on_progress is not None:
        on_progress("import", source.bytes_read)
    return result
