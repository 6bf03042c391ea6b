"""`prm import activities FILE`: the canonical activities CSV through the event ingestion service.

Columns ``event_id,partner_external_id,type,occurred_at,direction,value,properties`` (``properties`` a JSON
object); other columns are kept as properties of their rows. Rows go through ``events_ingest`` in
batches, so a file behaves exactly like the same events sent to ``POST /api/v1/events``: a re-imported
``event_id`` is a duplicate, never a second event. All or nothing unless ``skip_invalid``: the whole
file is one transaction, rolled back when a row is bad (or for a dry run).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from django.db import transaction

from openprm.activity.models import Event
from openprm.activity.services.events import events_ingest
from openprm.core.actors import Actor
from openprm.core.bulk import analyze_tables
from openprm.integrations.formats.csvread import (
    CsvHeaderError,
    CsvRecord,
    CsvSource,
    RowError,
    header_columns,
)
from openprm.integrations.services.partners import MAX_KEPT_ERRORS, ImportResult

ACTIVITY_COLUMNS = (
    "event_id",
    "partner_external_id",
    "type",
    "occurred_at",
    "direction",
    "value",
    "properties",
)
REQUIRED = ("event_id", "partner_external_id", "type", "occurred_at")
BATCH = 5_000


class _Rollback(Exception):
    pass


def _item(columns: list[str], record: CsvRecord) -> tuple[dict[str, Any] | None, RowError | None]:
    """A record → an event item for the ingestion service (or the error that prevents it)."""
    if record.error:
        return None, RowError(record.line, "", record.error)
    cells = {name: record.values[i].strip() for i, name in enumerate(columns)}
    item: dict[str, Any] = {k: cells.get(k, "") for k in REQUIRED}
    item["source"] = Event.Source.CSV
    if cells.get("direction"):
        item["direction"] = cells["direction"]
    if cells.get("value"):
        try:
            number = float(cells["value"].replace(",", ""))
        except ValueError:
            return None, RowError(record.line, "value", f"'{cells['value'][:40]}' is not a number.")
        item["value"] = int(number) if number.is_integer() and abs(number) < 2**53 else number
    properties: dict[str, Any] = {}
    if cells.get("properties"):
        try:
            properties = json.loads(cells["properties"])
        except ValueError:
            return None, RowError(record.line, "properties", 'Not a JSON object (e.g. {"reach": 1200}).')
        if not isinstance(properties, dict):
            return None, RowError(record.line, "properties", 'Not a JSON object (e.g. {"reach": 1200}).')
    for name, value in cells.items():
        if name and name not in ACTIVITY_COLUMNS and value:
            properties.setdefault(name, value)
    if properties:
        item["properties"] = properties
    for key in REQUIRED:
        if not item[key]:
            return None, RowError(record.line, key, "Required.")
    return item, None


def activities_import(
    *,
    actor: Actor,
    stream: IO[bytes],
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    on_reject: Callable[[list[str], CsvRecord, list[RowError]], None] | None = None,
) -> ImportResult:
    source = CsvSource(stream)
    try:
        header = source.read_header()
        columns = header_columns(header)
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise CsvHeaderError(
                f"Missing required column(s): {', '.join(missing)}. "
                f"The activities header is: {','.join(ACTIVITY_COLUMNS)}."
            )
        result = ImportResult(dry_run=dry_run)
        try:
            with transaction.atomic():
                _run(actor, source, header, columns, result, on_progress, on_reject)
                if dry_run or (result.error_count and not skip_invalid):
                    raise _Rollback
                analyze_tables(Event, rows=result.created)  # after the commit
        except _Rollback:
            result.refused = bool(result.error_count and not skip_invalid and not dry_run)
            if result.refused:
                result.created = result.unchanged = 0
        return result
    finally:
        source.close()


def _run(
    actor: Actor,
    source: CsvSource,
    header: list[str],
    columns: list[str],
    result: ImportResult,
    on_progress: Callable[[str, int], None] | None,
    on_reject: Callable[[list[str], CsvRecord, list[RowError]], None] | None,
) -> None:
    batch: list[tuple[CsvRecord, dict[str, Any]]] = []

    def reject(record: CsvRecord, errors: list[RowError]) -> None:
        result.rejected += 1
        result.error_count += len(errors)
        room = MAX_KEPT_ERRORS - len(result.errors)
        if room > 0:
            result.errors.extend(errors[:room])
        if on_reject is not None:
            on_reject(header, record, errors)

    def flush() -> None:
        outcome = events_ingest(actor=actor, items=[item for _, item in batch], source=Event.Source.CSV)
        result.created += outcome.stored
        result.unchanged += outcome.duplicates
        for error in outcome.errors:
            record = batch[error.index][0]
            column = "partner_external_id" if error.field == "partner" else error.field
            reject(record, [RowError(record.line, column, error.message)])
        batch.clear()
        if on_progress is not None:
            on_progress("import", source.bytes_read)

    for record in source.records():
        result.rows += 1
        item, error = _item(columns, record)
        if error is not None:
            reject(record, [error])
            continue
        assert item is not None
        batch.append((record, item))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
