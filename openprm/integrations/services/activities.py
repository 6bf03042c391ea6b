"""`prm import activities FILE`: the canonical activities CSV through the event ingestion service.

The rows are checked by ``events_check`` and stored by ``events_ingest`` a batch at a time, so a file
behaves exactly like the same events sent to ``POST /api/v1/events``: a re-imported ``event_id`` is a
duplicate, never a second event (counted as unchanged). All or nothing on bad rows unless
``skip_invalid``: the whole file is checked before anything is written. It is then written in chunks of
``COMMIT_EVERY`` rows, each committed (the runner's chunked commits): millions of events become visible
as they arrive, and an import stopped half-way (a crash, a clash) is completed by running it again, the
events already stored being recognised by their ``event_id``. Only the ingestion knows whether an event
is already stored, so a dry run ingests too, inside a transaction the runner rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from django.db import models

from openprm.activity.models import Event
from openprm.activity.services.events import events_check, events_ingest
from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.integrations.formats.activities import (
    ACTIVITY_COLUMNS,
    ActivityRow,
    activity_columns,
    parse_activity_row,
)
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.services.runner import (
    ChangedMeanwhile,
    ImportResult,
    ProgressCallback,
    RejectCallback,
    Written,
    import_run,
)

__all__ = ["ACTIVITY_COLUMNS", "ActivityImport", "activities_import"]

BATCH_SIZE = 5_000  # events_ingest takes at most 10,000
COMMIT_EVERY = 50_000  # rows per committed chunk
SOURCE = Event.Source.CSV


class ActivityImport:
    """The activities format of the runner (``runner.ImportFormat``)."""

    batch_size = BATCH_SIZE
    check_first = True  # the whole file is checked before any chunk is written
    commit_every = COMMIT_EVERY
    write_checks = True  # events_ingest checks every row again and ``write`` refuses one turned bad

    def __init__(self, *, actor: Actor) -> None:
        self.actor = actor
        self.columns: list[str] = []

    def read_header(self, header: list[str]) -> None:
        self.columns = activity_columns(header)

    def parse(self, record: CsvRecord) -> ActivityRow:
        return parse_activity_row(self.columns, record)

    def duplicate(self, row: ActivityRow, first_line: int) -> RowError:
        raise AssertionError("activities rows have no key: repeated event ids are duplicates, not errors")

    def validate(self, rows: list[ActivityRow]) -> None:
        candidates = [row for row in rows if not row.errors]
        _, errors = events_check(actor=self.actor, items=[row.item for row in candidates], source=SOURCE)
        for error in errors:
            row = candidates[error.index]
            row.errors.append(RowError(row.line, _column(error.field), error.message))

    def write(self, rows: list[ActivityRow], *, dry_run: bool) -> Written:
        outcome = events_ingest(actor=self.actor, items=[row.item for row in rows], source=SOURCE)
        if outcome.errors:  # valid when checked a moment ago
            raise ChangedMeanwhile(
                [RowError(rows[e.index].line, _column(e.field), e.message) for e in outcome.errors]
            )
        return Written(created=outcome.stored, unchanged=outcome.duplicates)

    def preview(self, row: ActivityRow) -> ActivityRow:
        return row

    def tables(self) -> Sequence[type[models.Model]]:
        return (Event,)


def _column(field: str) -> str:
    """The CSV column of an ingestion error's field."""
    return "partner_external_id" if field == "partner" else field


def activities_import(
    *,
    actor: Actor,
    stream: IO[bytes],
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ImportResult:
    """Import a canonical activities CSV from a seekable binary stream (see the module docstring).
    Raises CsvHeaderError when the file cannot be read at all or lacks a required column."""
    actor.require(Perm.ACTIVITY_INGEST)
    return import_run(
        fmt=ActivityImport(actor=actor),
        stream=stream,
        result=ImportResult(),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        on_progress=on_progress,
        on_reject=on_reject,
    )
