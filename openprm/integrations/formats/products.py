"""The products CSV: ``name,sku,list_price,currency,active`` (only ``name`` is required).

A blank cell leaves the value as it is (a new product: no SKU, price 0, the workspace currency, active);
``active`` is true/false (yes/no, 1/0, y/n). Pure functions over plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openprm.integrations.formats.csvread import CsvHeaderError, CsvRecord, RowError, header_columns

PRODUCT_COLUMNS: tuple[str, ...] = ("name", "sku", "list_price", "currency", "active")
TRUE = frozenset({"true", "yes", "1", "y"})
FALSE = frozenset({"false", "no", "0", "n"})
FIELD_TO_COLUMN = {"is_active": "active"}  # service field → CSV column, where they differ


def product_columns(raw: list[str]) -> list[str]:
    """The header's column names; CsvHeaderError without ``name`` or with a column not understood."""
    columns = header_columns(raw)
    if "name" not in columns:
        raise CsvHeaderError(f"The header has no 'name' column. Columns: {', '.join(PRODUCT_COLUMNS)}.")
    unknown = [c for c in columns if c and c not in PRODUCT_COLUMNS]
    if unknown:
        raise CsvHeaderError(f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(PRODUCT_COLUMNS)}.")
    return columns


@dataclass
class ProductRow:
    """One products record as the catalog service's input (``ProductInput``)."""

    record: CsvRecord
    item: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.record.line

    @property
    def name(self) -> str:
        return str(self.item.get("name") or "")

    @property
    def key(self) -> str:
        """Products are matched by name, in any case: a file may name each only once."""
        return self.name.lower()


def parse_product_row(columns: list[str], record: CsvRecord) -> ProductRow:
    row = ProductRow(record)
    if record.error:
        row.errors.append(RowError(record.line, "", record.error))
        return row
    cells = dict(zip(columns, record.values, strict=False))
    for column in ("name", "sku", "list_price", "currency"):
        value = (cells.get(column) or "").strip()
        if value or column == "name":
            row.item[column] = value
    active = (cells.get("active") or "").strip().lower()
    if active in TRUE:
        row.item["is_active"] = True
    elif active in FALSE:
        row.item["is_active"] = False
    elif active:
        row.errors.append(RowError(record.line, "active", f"'{active}' is not true or false."))
    return row


def column_for_product_field(key: str) -> str:
    """The CSV column to blame for a catalog service error on ``key``."""
    return FIELD_TO_COLUMN.get(key, key)
