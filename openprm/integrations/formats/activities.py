"""The canonical activities CSV: columns and one record → an event item for the ingestion service.

Columns ``event_id,partner_external_id,type,occurred_at,direction,value,properties`` (``properties`` a JSON
object); other columns are kept as properties of their rows. Pure functions over plain values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from openprm.integrations.formats.csvread import CsvHeaderError, CsvRecord, RowError, header_columns

ACTIVITY_COLUMNS: tuple[str, ...] = (
    "event_id",
    "partner_external_id",
    "type",
    "occurred_at",
    "direction",
    "value",
    "properties",
)
ACTIVITY_REQUIRED_COLUMNS: tuple[str, ...] = ("event_id", "partner_external_id", "type", "occurred_at")
NOT_AN_OBJECT = 'Not a JSON object (e.g. {"reach": 1200}).'


def activity_columns(raw: list[str]) -> list[str]:
    """The header's column names; CsvHeaderError when a required one is missing."""
    columns = header_columns(raw)
    missing = [name for name in ACTIVITY_REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise CsvHeaderError(
            f"Missing required column(s): {', '.join(missing)}. "
            f"The activities header is: {','.join(ACTIVITY_COLUMNS)}."
        )
    return columns


@dataclass
class ActivityRow:
    """One activities record as an event item (``events_ingest``'s input), or the error preventing it."""

    record: CsvRecord
    item: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.record.line

    @property
    def key(self) -> str:
        """Always "": a repeated ``event_id`` is a duplicate the ingestion skips, not an error."""
        return ""


def parse_activity_row(columns: list[str], record: CsvRecord) -> ActivityRow:
    """A record → an event item; the first problem that needs no database is reported."""
    row = ActivityRow(record)
    error = _fill(row.item, columns, record)
    if error is not None:
        row.errors.append(error)
    return row


def _fill(item: dict[str, Any], columns: list[str], record: CsvRecord) -> RowError | None:
    if record.error:
        return RowError(record.line, "", record.error)
    cells = {name: record.values[i].strip() for i, name in enumerate(columns)}
    item.update({k: cells.get(k, "") for k in ACTIVITY_REQUIRED_COLUMNS})
    if cells.get("direction"):
        item["direction"] = cells["direction"]
    if cells.get("value"):
        try:
            number = float(cells["value"].replace(",", ""))
        except ValueError:
            return RowError(record.line, "value", f"'{cells['value'][:40]}' is not a number.")
        item["value"] = int(number) if number.is_integer() and abs(number) < 2**53 else number
    properties: dict[str, Any] = {}
    if cells.get("properties"):
        try:
            properties = json.loads(cells["properties"])
        except ValueError:
            return RowError(record.line, "properties", NOT_AN_OBJECT)
        if not isinstance(properties, dict):
            return RowError(record.line, "properties", NOT_AN_OBJECT)
    for name, value in cells.items():
        if name and name not in ACTIVITY_COLUMNS and value:
            properties.setdefault(name, value)
    if properties:
        item["properties"] = properties
    for key in ACTIVITY_REQUIRED_COLUMNS:
        if not item[key]:
            return RowError(record.line, key, "Required.")
    return None
