"""The customer CSVs: accounts, account changes, CSAT answers and usage months (canonical formats).

``accounts``: ``external_id,partner_external_id,name,domain,started_on,ended_on,arr,mrr,note``
``account-changes``: ``external_id,account_external_id,kind,occurred_on,amount``
``csat``: ``external_id,account_external_id,channel,score,answered_on``
``usage``: ``account_external_id,month,active_users,features_used,features_available``

Rows are matched by ``external_id`` (usage: by account and month), so importing a file again changes
nothing. A column in the header sets its field on every row (a blank cell clears an optional one); a
column left out leaves the field as it is. Dates are ISO (``YYYY-MM-DD``) or US (``M/D/YYYY``); a usage
``month`` is also ``YYYY-MM``. Amounts (``arr``, ``mrr``, ``amount``, in the workspace currency) may carry
a currency symbol and thousands separators ("$4,500.00"). Pure functions over plain values.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from openprm.integrations.formats.amounts import AmountError, parse_amount
from openprm.integrations.formats.csvread import CsvHeaderError, CsvRecord, RowError, header_columns
from openprm.integrations.formats.dates import DateError, default_timezone, parse_date


@dataclass(frozen=True)
class CustomerFormat:
    kind: str
    columns: tuple[str, ...]
    required: tuple[str, ...]  # columns the header must have (a new row needs more: the service says)
    dates: tuple[str, ...]
    key: tuple[str, ...]  # the row's identity in the file


FORMATS: dict[str, CustomerFormat] = {
    "accounts": CustomerFormat(
        "accounts",
        (
            "external_id",
            "partner_external_id",
            "name",
            "domain",
            "started_on",
            "ended_on",
            "arr",
            "mrr",
            "note",
        ),
        ("external_id",),
        ("started_on", "ended_on"),
        ("external_id",),
    ),
    "account-changes": CustomerFormat(
        "account-changes",
        ("external_id", "account_external_id", "kind", "occurred_on", "amount"),
        ("external_id",),
        ("occurred_on",),
        ("external_id",),
    ),
    "csat": CustomerFormat(
        "csat",
        ("external_id", "account_external_id", "channel", "score", "answered_on"),
        ("external_id",),
        ("answered_on",),
        ("external_id",),
    ),
    "usage": CustomerFormat(
        "usage",
        ("account_external_id", "month", "active_users", "features_used", "features_available"),
        ("account_external_id", "month"),
        ("month",),
        ("account_external_id", "month"),
    ),
}
KINDS = tuple(FORMATS)
FIELD_TO_COLUMN = {"partner": "partner_external_id", "account": "account_external_id"}
AMOUNT_COLUMNS = frozenset({"arr", "mrr", "amount"})
_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


def customer_columns(fmt: CustomerFormat, raw: list[str]) -> list[str]:
    """The header's column names; CsvHeaderError when a required one is missing or one is unknown."""
    columns = header_columns(raw)
    missing = [c for c in fmt.required if c not in columns]
    if missing:
        raise CsvHeaderError(
            f"The header lacks {', '.join(missing)}. Columns: {', '.join(fmt.columns)} "
            f"(required: {', '.join(fmt.required)})."
        )
    unknown = [c for c in columns if c and c not in fmt.columns]
    if unknown:
        raise CsvHeaderError(f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(fmt.columns)}.")
    return columns


@dataclass
class CustomerRow:
    """One record as the customers bulk service's item, with what the import does with it."""

    record: CsvRecord
    item: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    action: str = ""
    identity: str = ""

    @property
    def line(self) -> int:
        return self.record.line

    @property
    def key(self) -> str:
        return self.identity

    def cell(self, column: str) -> str:
        value = self.item.get(column)
        if isinstance(value, datetime.date):
            return value.isoformat()
        return "" if value is None else str(value)


def _date(text: str, column: str) -> datetime.date:
    if column == "month":
        match = _MONTH_RE.match(text)
        if match:
            try:
                return datetime.date(int(match[1]), int(match[2]), 1)
            except ValueError:
                raise DateError(f"Not a month: '{text}'. Use YYYY-MM or a date.") from None
    return parse_date(text, default_timezone())


def parse_customer_row(fmt: CustomerFormat, columns: list[str], record: CsvRecord) -> CustomerRow:
    row = CustomerRow(record)
    if record.error:
        row.errors.append(RowError(record.line, "", record.error))
        return row
    cells = dict(zip(columns, record.values, strict=False))
    for column in columns:
        if not column:
            continue
        value = (cells.get(column) or "").strip()
        if value and column in fmt.dates:
            try:
                row.item[column] = _date(value, column)
            except DateError as exc:
                row.errors.append(RowError(record.line, column, str(exc)))
                row.item[column] = value
            continue
        if value and column in AMOUNT_COLUMNS:
            try:
                row.item[column] = parse_amount(value).value
            except AmountError as exc:
                row.errors.append(RowError(record.line, column, str(exc)))
                row.item[column] = value
            continue
        row.item[column] = value
    row.identity = "|".join(row.cell(column).lower() for column in fmt.key)
    if not any(row.cell(column) for column in fmt.key):
        row.identity = ""
    return row


def duplicate_error(fmt: CustomerFormat, row: CustomerRow, first_line: int) -> RowError:
    what = " and ".join(f"{column} '{row.cell(column)}'" for column in fmt.key)
    return RowError(row.line, fmt.key[-1], f"The {what} is also on line {first_line}.")


def column_for_field(key: str) -> str:
    """The CSV column to blame for a customers service error on ``key``."""
    return FIELD_TO_COLUMN.get(key, key)
