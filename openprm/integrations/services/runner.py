"""The one import runner: parse → validate → report → write, for every CSV format.

Each import (partners, deals, activities, products) is a small *format* object (``ImportFormat``) that
knows its columns and its owning app's services; this module does everything they have in common:

1. reads the file through ``formats.csvread`` (encoding, header, records) and hands the header to the
   format, which refuses a file it cannot import (``CsvHeaderError``);
2. parses every record into a row (``parse``), refuses a second row with the identity (``key``) of an
   earlier one, naming that line (``duplicate``), and validates the rows a batch at a time against the
   database (``validate``), so that memory stays bounded by the batch size — except the map of keys seen
   so far and the first ``MAX_KEPT_ERRORS`` errors kept for display;
3. reports: counts, line-numbered errors, the first ``PREVIEW_ROWS`` rows for the preview page, every
   bad record to ``on_reject`` (the rejects file) in file order, and progress to ``on_progress``;
4. writes the valid rows through the format (``write``: the owning app's bulk service), all in ONE
   transaction: a bad row anywhere (unless ``skip_invalid``) or a clash with a concurrent write rolls
   everything back and the result is ``refused``, with every bad row reported.

Two orders, chosen by the format (``check_first``): check the whole file, then read it again and write it
checking each batch once more (partners: a refused file never writes, and a row that turned bad between
the check and the write refuses the file); or write each batch as soon as it is checked, and once the file
is known to be refused only check the rest (deals: one read, for speed).

A dry run (the preview, ``--dry-run``) is the checking pass inside a transaction that is always rolled
back: formats whose outcome only a write can tell (activities: stored or already there) write, the others
only count what they would do.

**Chunked commits** (a format with ``commit_every`` > 0: activities, whose writes are idempotent by
``event_id``): a large file is not one long transaction with nothing visible until it ends. The whole file
is checked first without writing (line-numbered errors; a bad row anywhere refuses the file and nothing is
written), then read again and written in chunks of about ``commit_every`` rows, each committed on its
own; ``ImportResult.committed`` counts the rows committed so far and ``on_progress("committed", rows)``
reports each commit. A failure in a chunk rolls back that chunk only: the result says where it stopped
and how many rows were committed before (``interrupted``), and running the same file again completes the
import — rows already written are recognised (unchanged), never written twice. A format whose ``write``
checks the rows itself (``write_checks``: raises ChangedMeanwhile) is not validated a third time.
"""

from __future__ import annotations

import contextlib
import enum
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Generic, Protocol, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from openprm.core.bulk import analyze_tables
from openprm.integrations.formats.csvread import CsvRecord, CsvSource, RowError

MAX_KEPT_ERRORS = 1000
PREVIEW_ROWS = 20

ProgressCallback = Callable[[str, int], None]  # (stage: "check" | "import", bytes read so far)
RejectCallback = Callable[[list[str], CsvRecord, list[RowError]], None]  # (file header, record, errors)


class Action(enum.StrEnum):
    """What an import does with a row (shown in the previews)."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REJECT = "reject"


@dataclass
class ImportResult:
    """The report of an import: what it did (or, dry run, would do) and what is wrong with the file."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rows: int = 0
    dry_run: bool = False
    refused: bool = False  # bad rows found and skip_invalid not set: nothing was written
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    preview: list[Any] = field(default_factory=list)  # the first PREVIEW_ROWS rows, as the format shows them
    error_count: int = 0  # all errors, kept or not
    committed: int = 0  # chunked imports: rows committed so far (written or recognised as already there)
    interrupted: bool = False  # chunked imports: stopped after committing ``committed`` rows; run it again

    @property
    def errors_not_kept(self) -> int:
        return self.error_count - len(self.errors)

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        return (
            f"{verb}created {self.created}, {verb}updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


@dataclass
class Written:
    """What one ``write`` did (or, dry run, would do) with the valid rows it was given."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @classmethod
    def of(cls, actions: Sequence[Action]) -> Written:
        """The counts of rows already classified by the format's validation."""
        return cls(
            created=actions.count(Action.CREATE),
            updated=actions.count(Action.UPDATE),
            unchanged=actions.count(Action.UNCHANGED),
        )


class ChangedMeanwhile(Exception):
    """Raised by a format's ``write`` when rows validated a moment ago can no longer be written as they
    were checked (someone changed the data meanwhile): the whole import is refused, nothing written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors)
        self.errors = errors


class ImportRow(Protocol):
    """A parsed record, as a format keeps it from ``parse`` to ``write``."""

    @property
    def record(self) -> CsvRecord: ...  # as read, for the rejects file

    @property
    def errors(self) -> list[RowError]: ...  # the runner and the format append to it; non-empty = bad

    @property
    def key(self) -> str: ...  # its identity in the file ("": none); a repeated key is refused


RowT = TypeVar("RowT", bound=ImportRow)
ResultT = TypeVar("ResultT", bound=ImportResult)


class ImportFormat(Protocol[RowT]):
    """One kind of file. Implementations read with ``formats/`` and write with the owning app's services."""

    @property
    def batch_size(self) -> int: ...

    @property
    def check_first(self) -> bool:
        """True: check the whole file before writing any of it, then read it again to write (a refused
        file writes nothing; each batch is checked again as it is written and a row that turned bad
        meanwhile refuses the file). False: write each batch as soon as it is checked (one read: the
        deals import's speed) and roll the transaction back when the file turns out refused."""

    def read_header(self, header: list[str]) -> None:
        """Take the file's header; raise CsvHeaderError when the file cannot be imported at all."""

    def parse(self, record: CsvRecord) -> RowT | None:
        """A record → a row, with the errors that need no database; None skips a record that is not
        data (a report footer)."""

    def duplicate(self, row: RowT, first_line: int) -> RowError:
        """The error for a row whose key an earlier row (on ``first_line``) already has."""

    def validate(self, rows: list[RowT]) -> None:
        """Check a batch against the database, appending each row's problems to its ``errors`` (every
        problem of a row at once, also of rows already known bad) and planning the others' writes."""

    def write(self, rows: list[RowT], *, dry_run: bool) -> Written:
        """Write the valid rows of a batch (all in the runner's transaction), or, dry run, say what
        writing them would do. A format that does not check first may write in a dry run too (the runner
        rolls it back); a ``check_first`` one must not (its check runs outside the transaction). Raises
        ChangedMeanwhile when a row can no longer be written as it was validated."""

    def preview(self, row: RowT) -> object:
        """The row as the preview page shows it."""

    def tables(self) -> Sequence[type[models.Model]]:
        """The tables a write fills, analysed after a large import (``core.bulk.analyze_tables``)."""


class _Rollback(Exception):
    """Leaves the transaction of a dry run or a refused file without writing anything."""


def commit_every(fmt: ImportFormat[Any]) -> int:
    """Rows per committed chunk of a format that writes in chunks (see the module docstring); 0: one
    transaction. An optional attribute, so that formats written before chunking need not declare it."""
    return int(getattr(fmt, "commit_every", 0) or 0)


def import_run(
    *,
    fmt: ImportFormat[RowT],
    stream: IO[bytes],
    result: ResultT,
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ResultT:
    """Import a CSV from a seekable binary stream with ``fmt``, reporting into ``result`` (see the module
    docstring). Raises CsvHeaderError when the file cannot be read at all."""
    result.dry_run = dry_run
    run = _Run(fmt, CsvSource(stream), result, skip_invalid, dry_run, on_progress, on_reject)
    try:
        fmt.read_header(run.source.read_header())
        with _no_cyclic_gc():
            run.execute()
    finally:
        run.source.close()
    return result


class _Run(Generic[RowT, ResultT]):
    """One import of one file (see the module docstring)."""

    def __init__(
        self,
        fmt: ImportFormat[RowT],
        source: CsvSource,
        result: ResultT,
        skip_invalid: bool,
        dry_run: bool,
        on_progress: ProgressCallback | None,
        on_reject: RejectCallback | None,
    ) -> None:
        self.fmt = fmt
        self.source = source
        self.result = result
        self.skip_invalid = skip_invalid
        self.dry_run = dry_run
        self.on_progress = on_progress
        self.on_reject = on_reject
        self.seen: dict[str, int] = {}  # key → first line
        self.line = 0  # the first line of the batch being written
        self.kept = (0, 0, 0)  # chunked imports: (created, updated, unchanged) as of the last commit

    @property
    def refusing(self) -> bool:
        """Whether the file will be refused: then nothing more is written, only checked."""
        return bool(self.result.rejected) and not self.skip_invalid and not self.dry_run

    def execute(self) -> None:
        result = self.result
        if commit_every(self.fmt) and not self.dry_run:
            self._chunked()
            return
        if self.dry_run or not self.fmt.check_first:
            self._transaction(lambda: self._pass(dry_run=self.dry_run))
        else:
            self._pass(dry_run=True)  # the check, exactly the dry run; then the write, read again
            if not self.refusing and (result.created or result.updated):
                self._transaction(self._write_pass)
        if self.refusing:
            result.refused = True
            result.created = result.updated = result.unchanged = 0  # nothing was written

    def _transaction(self, work: Callable[[], None]) -> None:
        """Run ``work`` in one transaction, rolled back for a dry run, a refused file or a conflict."""
        result = self.result
        try:
            with transaction.atomic():
                work()
                if self.dry_run or self.refusing:
                    raise _Rollback
                analyze_tables(*self.fmt.tables(), rows=result.created + result.updated)  # after the commit
        except _Rollback:
            pass
        except IntegrityError as exc:
            message = f"Changed by someone else during the import ({exc}); nothing was imported. Try again."
            self._conflict([RowError(self.line, "", message)])
        except ChangedMeanwhile as exc:
            self._conflict(exc.errors)
        except ValidationError as exc:  # a bulk service's own check lost a race (e.g. an external id taken)
            detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            message = (
                f"Changed by someone else during the import ({detail}); nothing was imported. Try again."
            )
            self._conflict([RowError(self.line, "", message)])

    def _chunked(self) -> None:
        """Check the whole file writing nothing, then write it in committed chunks (module docstring)."""
        result = self.result
        for batch in self._batches("check"):
            self._check(batch)
        if self.refusing:
            result.refused = True
            return
        if result.rows == result.rejected:
            return
        # The writing pass checks each batch again (rows that turned bad since), unless the format's write
        # does and the file had no bad row to skip.
        checks = bool(result.rejected) or not getattr(self.fmt, "write_checks", False)
        result.rejected = 0  # counted again by the writing pass, with the rows that turned bad since
        self.seen.clear()
        self.source.close()
        self.source = CsvSource(self.source.stream)  # from the start again
        self.source.read_header()
        size = commit_every(self.fmt)
        batches = self._batches("import")
        more = True
        while more:
            more = False
            try:
                with transaction.atomic():
                    rows = 0
                    for batch in batches:
                        self._write_batch(batch, checks=checks)
                        rows += len(batch)
                        if rows >= size:
                            more = True
                            break
            except (IntegrityError, ChangedMeanwhile, ValidationError) as exc:
                self._interrupted(exc)
                return
            result.committed = result.created + result.updated + result.unchanged
            self.kept = (result.created, result.updated, result.unchanged)
            if self.on_progress is not None:
                self.on_progress("committed", result.committed)
        analyze_tables(*self.fmt.tables(), rows=result.created + result.updated)

    def _write_batch(self, batch: list[RowT], *, checks: bool) -> None:
        """One batch of the chunked writing pass: rows that turned bad since the check refuse the rest of
        the file (unless ``skip_invalid``: then they are skipped, already reported by the check)."""
        if checks:
            self.fmt.validate(batch)
        late = [row for row in batch if row.errors]
        if late and not self.skip_invalid:
            raise ChangedMeanwhile([error for row in late for error in row.errors])
        self.result.rejected += len(late)
        self._write([row for row in batch if not row.errors], dry_run=False)

    def _interrupted(self, exc: Exception) -> None:
        """A chunk failed and was rolled back; the chunks before it stay committed."""
        result = self.result
        result.interrupted = True
        if isinstance(exc, ChangedMeanwhile):
            errors = exc.errors
        else:
            errors = [RowError(self.line, "", f"Changed by someone else during the import ({exc}).")]
        line = errors[0].line if errors else self.line
        note = (
            f"The import stopped at line {line}: {result.committed} row(s) before it were imported. "
            "Run it again to complete it: rows already imported are recognised, never imported twice."
        )
        self._conflict([*errors, RowError(line, "", note)])
        result.refused = False  # not all or nothing: the committed chunks stay
        result.created, result.updated, result.unchanged = self.kept

    def _pass(self, *, dry_run: bool) -> None:
        """Check, report and (unless the file is being refused) write, a batch at a time."""
        for batch in self._batches("check" if dry_run else "import"):
            self._check(batch)
            if not self.refusing:
                self._write([row for row in batch if not row.errors], dry_run=dry_run)

    def _write_pass(self) -> None:
        """Write a checked file (``check_first``): each batch is checked again as it is written, and a
        row that turned bad meanwhile refuses the file unless ``skip_invalid``. Counts what was written."""
        result = self.result
        result.created = result.updated = result.unchanged = 0
        self.seen.clear()
        self.source.close()
        self.source = CsvSource(self.source.stream)  # from the start again
        self.source.read_header()
        rejected = 0
        for batch in self._batches("import"):
            self.fmt.validate(batch)
            late = [row for row in batch if row.errors]
            if late and not self.skip_invalid:
                raise ChangedMeanwhile([error for row in late for error in row.errors])
            rejected += len(late)
            self._write([row for row in batch if not row.errors], dry_run=False)
        result.rejected = max(result.rejected, rejected)

    def _batches(self, stage: str) -> Iterator[list[RowT]]:
        """The file's rows, parsed, with repeated keys marked, a batch at a time (from the start)."""
        size = self.fmt.batch_size
        batch: list[RowT] = []
        for record in self.source.records():
            row = self.fmt.parse(record)
            if row is None:
                continue
            self._check_duplicate(row)
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
                self._progress(stage)
        if batch:
            yield batch
        self._progress(stage)

    def _progress(self, stage: str) -> None:
        if self.on_progress is not None:
            self.on_progress(stage, self.source.bytes_read)

    def _check_duplicate(self, row: RowT) -> None:
        key = row.key
        if not key:
            return
        line = row.record.line
        first = self.seen.setdefault(key, line)
        if first != line:
            row.errors.append(self.fmt.duplicate(row, first))

    def _check(self, batch: list[RowT]) -> None:
        self.fmt.validate(batch)
        result = self.result
        for row in batch:
            result.rows += 1
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.append(self.fmt.preview(row))
            if row.errors:
                self._reject(row.record, row.errors)

    def _reject(self, record: CsvRecord, errors: list[RowError]) -> None:
        result = self.result
        result.rejected += 1
        result.error_count += len(errors)
        room = MAX_KEPT_ERRORS - len(result.errors)
        if room > 0:
            result.errors.extend(errors[:room])
        if self.on_reject is not None:
            self.on_reject(self.source.header, record, errors)

    def _write(self, valid: list[RowT], *, dry_run: bool) -> None:
        if not valid:
            return
        self.line = valid[0].record.line
        written = self.fmt.write(valid, dry_run=dry_run)
        self.result.created += written.created
        self.result.updated += written.updated
        self.result.unchanged += written.unchanged

    def _conflict(self, errors: list[RowError]) -> None:
        """The write clashed with a concurrent change: the transaction was rolled back."""
        result = self.result
        result.refused = True
        result.created = result.updated = result.unchanged = 0
        result.rejected += len({error.line for error in errors})
        result.error_count += len(errors)
        result.errors.extend(errors[: max(0, MAX_KEPT_ERRORS - len(result.errors))])


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: an import allocates millions of short-lived containers, none
    in cycles (reference counting frees them), and the collector's passes over the growing heap cost
    about a third of the time of a large import. Collected once afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)
