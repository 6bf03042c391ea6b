"""A second PostgreSQL session reading what this transaction sees, at the same time (``SnapshotCopy``).

A long job that runs two independent large statements one after the other — a rebuild's pairing and its
events grouping, say — leaves one of the machine's cores idle. PostgreSQL lets another session read from
exactly this transaction's snapshot (``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``): the second
session runs a read-only ``COPY (query) TO STDOUT`` on a thread of its own while this one goes on, and its
rows wait in a spooled file (memory up to ``SPOOL_MEMORY``, disk beyond) until this session loads them
into a table of its own (``load``).

It sees what this transaction saw when it began, not this transaction's own writes: use it only for tables
the transaction has not written, and only from the outermost transaction of a ``REPEATABLE READ`` (or
stricter) transaction — a nested one may sit on uncommitted rows no other session can see (``usable``).
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Any

from django.db import connection, connections

SPOOL_MEMORY = 64 * 2**20
"""Bytes of the second session's rows kept in memory before the spool moves to a file on disk."""

_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?$")


def usable(*, outermost: bool) -> bool:
    """Whether a second session can share this transaction's snapshot: PostgreSQL, and the transaction is
    the outermost one (its own uncommitted writes, and an enclosing transaction's, are invisible to it)."""
    return outermost and connection.vendor == "postgresql"


LOCK_TIMEOUT = "30s"
"""How long the second session waits for a table lock before it gives up (and the work with it): a lock
queued behind another session that waits for this one would be a deadlock PostgreSQL cannot see."""


class SnapshotCopy:
    """``COPY (query) TO STDOUT`` in a second session on this transaction's snapshot, run on a thread.

    Use as a context manager around the work done meanwhile: leaving the block with an error stops the
    second session (before its query, or by cancelling it). ``load`` waits for it to finish and copies its
    rows into ``table`` of this session; it raises the second session's error — and refuses to load
    unless the second session read its query to the end. ``settings``: ``SET LOCAL`` statements for the
    second session (``work_mem`` …), each a complete statement of ours."""

    def __init__(self, query: str, params: Sequence[Any], *, settings: Sequence[str] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = str(cursor.fetchone()[0])
        if not _SNAPSHOT_ID.match(snapshot):  # inlined below: SET takes no parameters
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        self._snapshot = snapshot
        self._query, self._params, self._settings = query, list(params) or None, list(settings)
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        self._error: BaseException | None = None
        self._done = False  # the query read to its end
        self._lock = threading.Lock()  # guards the two below
        self._stopped = False  # this session gave up: the second one must not start (or go on)
        self._running: Any = None  # the second session's psycopg connection while its query runs
        self._thread = threading.Thread(target=self._run, name="snapshot-copy", daemon=True)

    def __enter__(self) -> SnapshotCopy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            self._stop()
        self._thread.join()
        self._spool.close()

    def _stop(self) -> None:
        """Stop the second session: no query once this is set, and a running one cancelled."""
        while self._thread.is_alive():
            with self._lock:
                self._stopped = True
                if self._running is not None:
                    self._running.cancel()
            self._thread.join(0.2)  # a cancel sent just before the query began is sent again

    def _run(self) -> None:
        second = None
        try:
            second = connections.create_connection("default")
            second.ensure_connection()
            second.set_autocommit(False)
            with second.wrap_database_errors, second.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{self._snapshot}'")
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                for statement in self._settings:
                    cursor.execute(statement)
                with self._lock:
                    if self._stopped:
                        return
                    self._running = second.connection
                try:
                    with cursor.cursor.copy(f"COPY ({self._query}) TO STDOUT", self._params) as copy:
                        for block in copy:
                            self._spool.write(block)
                finally:
                    with self._lock:
                        self._running = None
            self._done = True
        except BaseException as error:  # handed to the waiting session by ``load``
            self._error = error
        finally:
            if second is not None:
                second.close()

    def load(self, table: str, columns: Sequence[str]) -> int:
        """Wait for the second session, then copy its rows into ``table`` (``columns`` in the query's
        order) in this session; returns the bytes copied."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if not self._done:
            raise RuntimeError("the second session stopped before the end of its query")
        size = self._spool.tell()
        self._spool.seek(0)
        quote = connection.ops.quote_name
        statement = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(statement) as copy,
        ):
            while block := self._spool.read(2**20):
                copy.write(block)
        return size
