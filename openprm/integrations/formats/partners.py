"""The canonical partners CSV: columns, one record → partner input, one partner → a record.

Pure functions over plain values (no database access), shared by the import service, the export
selector, the CLI and the pages.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from openprm.integrations.formats.csvread import (
    CsvHeaderError,
    CsvRecord,
    CsvSource,
    RowError,
    header_columns,
)
from openprm.partners.services import PartnerInput

__all__ = ["CsvHeaderError", "CsvRecord", "CsvSource", "RowError"]  # re-exported: the shared reader

PARTNER_COLUMNS: tuple[str, ...] = (
    "external_id",
    "name",
    "type",
    "tier",
    "status",
    "country",
    "region",
    "manager_email",
    "domain",
    "start_date",
    "tags",
)
# Columns without which a file is refused outright; absent optional columns leave those fields unchanged.
PARTNER_REQUIRED_COLUMNS: tuple[str, ...] = ("external_id", "name", "type")
# Optional extra columns the importer understands besides the canonical ones and custom field keys.
PARTNER_EXTRA_COLUMNS: tuple[str, ...] = ("program",)

LIST_SPLIT_RE = re.compile(r"[;|]")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Service field key (as in partner_clean's ValidationError) → CSV column the user should look at.
FIELD_TO_COLUMN: dict[str, str] = {
    "domains": "domain",
    "owner_email": "manager_email",
    "tiers": "tier",
}


def column_for_field(key: str) -> str:
    """The CSV column to blame for a service validation error on ``key``."""
    if key.startswith("custom_fields."):
        return key.removeprefix("custom_fields.")
    if key in ("__all__", ""):
        return ""
    return FIELD_TO_COLUMN.get(key, key)


def split_list(value: str) -> list[str]:
    """``a; b|c`` → ["a", "b", "c"] (empty items dropped)."""
    return [item.strip() for item in LIST_SPLIT_RE.split(value) if item.strip()]


def parse_iso_date(value: str) -> datetime.date:
    value = value.strip()
    if not ISO_DATE_RE.match(value):
        raise ValueError(value)
    return datetime.date.fromisoformat(value)


@dataclass(frozen=True)
class PartnerHeader:
    """Where each understood column sits in a partners file."""

    columns: list[str]  # normalized (stripped, lower-case) names, in file order
    index: dict[str, int]
    custom_fields: dict[str, int]  # custom field key → index

    @classmethod
    def parse(cls, raw: list[str], custom_field_keys: list[str]) -> PartnerHeader:
        columns = header_columns(raw)
        index = {name: position for position, name in enumerate(columns) if name}
        missing = [name for name in PARTNER_REQUIRED_COLUMNS if name not in index]
        if missing:
            raise CsvHeaderError(
                f"Missing required column(s): {', '.join(missing)}. "
                f"The partners header is: {','.join(PARTNER_COLUMNS)}."
            )
        known = set(PARTNER_COLUMNS) | set(PARTNER_EXTRA_COLUMNS)
        by_lower = {key.lower(): key for key in custom_field_keys if key.lower() not in known}
        custom = {by_lower[name]: position for name, position in index.items() if name in by_lower}
        return cls(columns=columns, index=index, custom_fields=custom)

    def get(self, values: list[str], column: str) -> str | None:
        """The cell of ``column`` (None when the file has no such column)."""
        position = self.index.get(column)
        return None if position is None else values[position].strip()


@dataclass
class PartnerRow:
    """One partners record turned into service input, before any database look-up."""

    line: int
    external_id: str
    data: PartnerInput
    program: str | None = None  # the `program` cell when non-empty
    tier: str | None = None  # the `tier` cell ("" = no tier); None when the file has no tier column
    custom_fields: dict[str, str] | None = None  # None when the file has no custom field column
    errors: list[RowError] = field(default_factory=list)
    unreadable: bool = False  # the record itself is broken: its fields are not checked further


def parse_partner_row(header: PartnerHeader, record: CsvRecord) -> PartnerRow:
    """Map a canonical record to PartnerInput; errors that need no database are reported here."""
    values = record.values
    row = PartnerRow(line=record.line, external_id="", data={})
    if record.error:
        row.errors.append(RowError(record.line, "", record.error))
        row.unreadable = True
        return row

    data: PartnerInput = {}
    row.external_id = header.get(values, "external_id") or ""
    if not row.external_id:
        row.errors.append(
            RowError(record.line, "external_id", "Required: the canonical format identifies partners by it.")
        )
    data["external_id"] = row.external_id
    data["name"] = header.get(values, "name") or ""
    data["type"] = header.get(values, "type") or ""
    status = header.get(values, "status")
    if status:  # blank: the default on create, unchanged on update
        data["status"] = status
    for column in ("country", "region"):
        cell = header.get(values, column)
        if cell is not None:
            data[column] = cell
    manager = header.get(values, "manager_email")
    if manager is not None:
        data["owner_email"] = manager
    domain = header.get(values, "domain")
    if domain is not None:
        data["domains"] = split_list(domain)
    tags = header.get(values, "tags")
    if tags is not None:
        data["tags"] = split_list(tags)
    start = header.get(values, "start_date")
    if start is not None:
        if not start:
            data["start_date"] = None
        else:
            try:
                data["start_date"] = parse_iso_date(start)
            except ValueError:
                row.errors.append(
                    RowError(record.line, "start_date", f"Not an ISO date (YYYY-MM-DD): '{start}'.")
                )
    row.program = header.get(values, "program") or None
    row.tier = header.get(values, "tier")
    if header.custom_fields:
        row.custom_fields = {key: values[position].strip() for key, position in header.custom_fields.items()}
    row.data = data
    return row


# --- export -------------------------------------------------------------------------------------------


def partner_export_header(custom_field_keys: list[str]) -> list[str]:
    reserved = set(PARTNER_COLUMNS) | set(PARTNER_EXTRA_COLUMNS)
    return [*PARTNER_COLUMNS, *(k for k in custom_field_keys if k.lower() not in reserved)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def partner_export_row(
    partner: Any, *, default_program_id: int | None, custom_field_keys: list[str]
) -> list[str]:
    """A partner (with type, owner, tags and enrolments loaded) as a canonical record."""
    tier = ""
    for enrolment in partner.enrolments.all():
        if enrolment.program_id == default_program_id and enrolment.tier_id is not None:
            tier = enrolment.tier.name
    row = [
        partner.external_id or "",
        partner.name,
        partner.type.key,
        tier,
        partner.status,
        partner.country.code or "",
        partner.region,
        partner.owner.email if partner.owner_id else "",
        ";".join(partner.domains or []),
        _cell(partner.start_date),
        ";".join(sorted((t.name for t in partner.tags.all()), key=str.lower)),
    ]
    custom = partner.custom_fields or {}
    reserved = set(PARTNER_COLUMNS) | set(PARTNER_EXTRA_COLUMNS)
    row.extend(_cell(custom.get(key)) for key in custom_field_keys if key.lower() not in reserved)
    return row
