"""A dashboard table as pages and exports read it: typed columns and plain rows, written to CSV or XLSX
(openpyxl) with the filters that produced it."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.urls import reverse
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from openprm.metrics.catalog import Unit, metric
from openprm.metrics.display import show

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
NUMERIC = {"currency", "percent", "count", "days", "number", "metric"}
XLSX_NUMBER = {
    "currency": "#,##0.00",
    "percent": "0.0%",
    "count": "#,##0",
    "days": "0.0",
    "date": "yyyy-mm-dd",
}


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"  # text | currency | percent | count | days | date | link
    metric: str = ""  # the catalogued metric the column shows (its label links to the glossary)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def definition(self) -> str:
        return metric(self.metric).definition if self.metric else ""

    @classmethod
    def of(cls, key: str, currency: str = "") -> Column:
        """A column showing the catalogued metric ``key``, typed by its unit."""
        found = metric(key)
        kind = {
            Unit.CURRENCY: "currency",
            Unit.RATIO: "percent",
            Unit.COUNT: "count",
            Unit.DAYS: "days",
            Unit.DATE: "date",
            Unit.CURRENCY_PER_DAY: "currency",
        }.get(found.unit, "number")
        label = f"{found.label} ({currency})" if kind == "currency" and currency else found.label
        return cls(label, kind, key)


@dataclass
class Table:
    key: str  # the export's name
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # per row: the page the first cell links to ("" for none)
    empty: str = ""  # shown when there are no rows
    row_metrics: list[str] = field(default_factory=list)  # per row: the metric of its "metric" columns

    def typed(self, index: int) -> list[Column]:
        """The columns of row ``index``: a "metric" column takes the row's metric (a figures table has
        one metric per row)."""
        if not self.row_metrics:
            return self.columns
        key = self.row_metrics[index]
        kind = Column.of(key).kind
        return [Column(c.label, kind, key) if c.kind == "metric" else c for c in self.columns]

    def cells(self) -> list[list[tuple[str, str, str, bool]]]:
        """Rows as a page shows them: (text, link, column label, numeric) per cell; the first cell links
        to ``links``."""
        out = []
        for index, row in enumerate(self.rows):
            link = self.links[index] if index < len(self.links) else ""
            if self.row_metrics and not link:  # a figures table: each row's label leads to its definition
                link = f"{reverse('metrics:glossary')}#{self.row_metrics[index]}"
            columns = self.typed(index)
            out.append(
                [
                    (display(v, c), link if i == 0 else "", c.label, c.numeric)
                    for i, (v, c) in enumerate(zip(row, columns, strict=True))
                ]
            )
        return out


def display(value: Any, column: Column) -> str:
    """A cell as the page shows it: amounts with thousands separators, other figures as the catalog
    shows them (``metrics.display.show``)."""
    if value is None:
        return "—"
    if column.kind == "currency" and isinstance(value, int | float | Decimal):
        return f"{value:,.2f}"
    if column.metric:
        return show(metric(column.metric), value)
    if column.kind == "count" and isinstance(value, int | Decimal):
        return f"{value:,.0f}"
    if column.kind == "percent":
        return f"{float(value) * 100:.0f}%"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _plain(value: Any, column: Column) -> Any:
    """A cell as CSV writes it: ratios as percents (the header says so), dates ISO, numbers plain."""
    if value is None:
        return ""
    if column.kind == "percent":
        return f"{Decimal(str(value)) * 100:.2f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _header(column: Column) -> str:
    return f"{column.label} (%)" if column.kind == "percent" else column.label


def to_csv(table: Table, filters: Sequence[tuple[str, str]]) -> bytes:
    """The table as CSV (UTF-8 with a BOM so spreadsheet programs read accents): one header row, then the
    rows; the filters are not written into the CSV (the file name carries the period)."""
    del filters  # a CSV is data only: one header row, then rows
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_header(c) for c in table.columns])
    for index, row in enumerate(table.rows):
        writer.writerow([_plain(v, c) for v, c in zip(row, table.typed(index), strict=True)])
    return ("\ufeff" + buffer.getvalue()).encode()


def _xlsx_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


def to_xlsx(table: Table, filters: Sequence[tuple[str, str]]) -> bytes:
    """The table as an XLSX workbook: sheet "Data" (header row, then typed cells: numbers stay numbers,
    ratios are percents by format) and sheet "Filters" (what the figures were computed for)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data"
    sheet.append([c.label for c in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, row in enumerate(table.rows):
        columns = table.typed(index)
        sheet.append([_xlsx_value(v, c) for v, c in zip(row, columns, strict=True)])
        for cell, column in zip(sheet[sheet.max_row], columns, strict=True):
            if column.kind in XLSX_NUMBER:
                cell.number_format = XLSX_NUMBER[column.kind]
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.label) + 4))
    about = book.create_sheet("Filters")
    about.append(["Table", table.title])
    for name, value in filters:
        about.append([name, value])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
