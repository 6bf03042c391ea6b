"""The finance CSVs (canonical formats; one header each, documented in the README):

* ``costs``: ``partner_external_id,period,category,amount,note`` — one row per partner, month and
  category (fees, enablement, mdf, other); a re-import updates that cost.
* ``invoices``: ``partner_external_id,number,issued_on,due_on,amount,currency,paid_on,disputed,corrected,
  note`` — invoices the vendor sent its partners, matched by number.
* ``sellthrough``: ``partner_external_id,period,sku,region,units_sold,units_on_hand,unit_price,list_price``
  — distributors' monthly report lines, matched by partner, month, SKU and region.
* ``company-revenue``: ``period,amount,note`` — the company's total revenue per month, matched by month.

``partner_external_id`` holds a partner's external id or name; months are ``YYYY-MM`` (or a date of the
month), dates ``YYYY-MM-DD``, flags true/false (yes/no, 1/0; blank: false), amounts as people write them
(``formats.amounts``: "$1,200.50"; a currency written with an amount must be the invoice's, or for the
other kinds the workspace's). Every column but the required ones may be left out; a row's cells are handed
to the finance services, which validate them. Pure functions over plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openprm.integrations.formats.amounts import AmountError, parse_amount
from openprm.integrations.formats.csvread import CsvHeaderError, CsvRecord, RowError, header_columns

PARTNER_COLUMN = "partner_external_id"
MONEY_COLUMNS = frozenset({"amount", "unit_price", "list_price"})
COLUMNS: dict[str, tuple[str, ...]] = {
    "costs": (PARTNER_COLUMN, "period", "category", "amount", "note"),
    "invoices": (
        PARTNER_COLUMN,
        "number",
        "issued_on",
        "due_on",
        "amount",
        "currency",
        "paid_on",
        "disputed",
        "corrected",
        "note",
    ),
    "sellthrough": (
        PARTNER_COLUMN,
        "period",
        "sku",
        "region",
        "units_sold",
        "units_on_hand",
        "unit_price",
        "list_price",
    ),
    "company-revenue": ("period", "amount", "note"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "costs": (PARTNER_COLUMN, "period", "category", "amount"),
    "invoices": (PARTNER_COLUMN, "number", "issued_on", "due_on", "amount"),
    "sellthrough": (PARTNER_COLUMN, "period", "sku", "unit_price", "list_price"),
    "company-revenue": ("period", "amount"),
}
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "costs": (PARTNER_COLUMN, "period", "category"),
    "invoices": ("number",),
    "sellthrough": (PARTNER_COLUMN, "period", "sku", "region"),
    "company-revenue": ("period",),
}


def finance_columns(kind: str, raw: list[str]) -> list[str]:
    """The header's column names; CsvHeaderError when a required one is missing or one is unknown."""
    columns = header_columns(raw)
    known = COLUMNS[kind]
    missing = [c for c in REQUIRED[kind] if c not in columns]
    if missing:
        raise CsvHeaderError(
            f"The header lacks the column(s) {', '.join(missing)}. Columns: {', '.join(known)}."
        )
    unknown = [c for c in columns if c and c not in known]
    if unknown:
        raise CsvHeaderError(f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(known)}.")
    return columns


@dataclass
class FinanceRow:
    """One record as the finance services' input: the cells by service field name."""

    record: CsvRecord
    kind: str
    item: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.record.line

    @property
    def key(self) -> str:
        """The natural key as written (a month as its first seven characters): a file gives each once."""
        parts = []
        for column in KEY_COLUMNS[self.kind]:
            value = str(self.item.get(field_for_column(column), "")).strip().lower()
            parts.append(value[:7] if column == "period" else value)
        return "\x1f".join(parts)


def field_for_column(column: str) -> str:
    return "partner" if column == PARTNER_COLUMN else column


def column_for_field(name: str) -> str:
    """The CSV column to blame for a finance service error on ``name``."""
    return PARTNER_COLUMN if name in ("partner", "partner_id") else name


def parse_finance_row(kind: str, columns: list[str], record: CsvRecord) -> FinanceRow:
    row = FinanceRow(record, kind)
    if record.error:
        row.errors.append(RowError(record.line, "", record.error))
        return row
    for column, value in zip(columns, record.values, strict=False):
        if column in MONEY_COLUMNS and value.strip():
            try:
                amount = parse_amount(value)
            except AmountError as exc:
                row.errors.append(RowError(record.line, column, str(exc)))
                continue
            row.item[column] = amount.value
            if amount.currency:  # "$1,200.00", "1.200,00 EUR": the service checks it against the currency
                row.item.setdefault("written_currencies", {})[column] = amount.currency
        elif column:
            row.item[field_for_column(column)] = value
    return row


__all__ = [
    "COLUMNS",
    "PARTNER_COLUMN",
    "FinanceRow",
    "column_for_field",
    "finance_columns",
    "parse_finance_row",
]
