"""The exchange-rate CSV: the ECB euro foreign exchange reference rates, as the ECB publishes them.

Both of its files read the same: ``eurofxref.csv`` (today: one row) and ``eurofxref-hist.csv`` (every
working day since 1999: many rows)::

    Date, USD, JPY, BGN, CYP, …,
    05 January 2024, 1.0921, 157.50, 1.9558, N/A, …,
    2024-01-04, 1.0953, 158.47, …

- the first column is the day (``YYYY-MM-DD`` as in the history file, or ``5 January 2024`` as in the
  daily file); every other column is named by a currency code and holds how many units of it one euro
  was worth that day (``1 EUR = rate XXX``);
- ``N/A`` or an empty cell means no rate that day (a currency not yet or no longer quoted) and is skipped;
- a header cell that is empty (the trailing comma of the ECB's rows) is ignored, as are spaces around
  cells;
- a ``base`` other than EUR may be named in the first column's header as ``Date (USD)``; the rates are then
  ``1 USD = rate XXX``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from openprm.integrations.formats.csvread import CsvHeaderError, CsvRecord, RowError

ECB_BASE = "EUR"
MISSING = frozenset({"", "N/A", "NA", "-"})
_CODE = re.compile(r"^[A-Z]{3}$")
_DATE_HEADER = re.compile(r"^date(?:\s*\(\s*([A-Za-z]{3})\s*\))?$", re.IGNORECASE)


@dataclass
class FxColumns:
    base: str
    currencies: list[tuple[int, str]]  # (position in the row, code)
    names: list[str]  # the header as shown in previews


@dataclass
class FxRow:
    """One day of the file: its rates (code, cell) to write and its problems."""

    record: CsvRecord
    day: datetime.date | None = None
    rates: list[tuple[str, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.record.line

    @property
    def key(self) -> str:
        return self.day.isoformat() if self.day is not None else ""


def fx_columns(header: list[str]) -> FxColumns:
    """The currencies of the header; CsvHeaderError when the first column is not the date or a currency
    column is not a code, or named twice."""
    cells = [cell.strip() for cell in header]
    match = _DATE_HEADER.match(cells[0]) if cells else None
    if match is None:
        raise CsvHeaderError(
            "The first column must be the date (“Date”, as in the ECB's eurofxref.csv and "
            "eurofxref-hist.csv), followed by one column per currency code."
        )
    base = (match.group(1) or ECB_BASE).upper()
    currencies: list[tuple[int, str]] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells[1:], start=1):
        if not cell:
            continue  # the ECB's trailing comma
        code = cell.upper()
        if not _CODE.match(code):
            raise CsvHeaderError(f"Column {position + 1} (“{cell[:20]}”) is not a currency code.")
        if code in seen:
            raise CsvHeaderError(f"The currency {code} has two columns.")
        if code == base:
            raise CsvHeaderError(f"The currency {code} is the base of the file's rates.")
        seen.add(code)
        currencies.append((position, code))
    if not currencies:
        raise CsvHeaderError("The header names no currency after the date column.")
    return FxColumns(base=base, currencies=currencies, names=[c or "" for c in cells])


def parse_day(text: str) -> datetime.date:
    text = " ".join(text.split())
    for pattern in ("%Y-%m-%d", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"“{text[:30]}” is not a date (YYYY-MM-DD or 5 January 2024).")


def parse_fx_row(columns: FxColumns, record: CsvRecord) -> FxRow:
    row = FxRow(record=record)
    if record.error:
        row.errors.append(RowError(record.line, "", record.error))
        return row
    try:
        row.day = parse_day(record.values[0])
    except ValueError as exc:
        row.errors.append(RowError(record.line, columns.names[0] or "Date", str(exc)))
    for position, code in columns.currencies:
        cell = record.values[position].strip()
        if cell.upper() in MISSING:
            continue
        try:
            if not Decimal(cell).is_finite():
                raise ArithmeticError
        except ArithmeticError:
            row.errors.append(
                RowError(record.line, code, f"“{cell[:30]}” is not a rate (e.g. 1.0823 or N/A).")
            )
            continue
        row.rates.append((code, cell))
    return row


__all__ = ["ECB_BASE", "FxColumns", "FxRow", "fx_columns", "parse_day", "parse_fx_row"]
