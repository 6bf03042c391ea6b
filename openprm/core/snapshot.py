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


class SnapshotCopy:
    """``COPY (query) TO STDOUT`` in a second session on this transaction's snapshot, run on a thread.

    Use as a context manager around the work done meanwhile: leaving the block with an error cancels the
    second session's query. ``load`` waits for it to finish and copies its rows into ``table`` of this
    session (raising the second session's error, if any). ``settings``: ``SET LOCAL`` statements for the
    second session (``work_mem`` …), each a complete statement of ours."""

    def __init__(self, query: str, params: Sequence[Any], *, settings: Sequence[str] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = str(cursor.fetchone()[0])
        if not _SNAPSHOT_ID.match(snapshot):  # inlined below: SET takes no parameters
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        self._snapshot = snapshot
        self._query, self._params, self._settings = query, list(params), list(settings)
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        self._error: BaseException | None = None
        self._raw: Any = None  # the second session's psycopg connection, to cancel its query
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshot-copy", daemon=True)

    def __enter__(self) -> SnapshotCopy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None and self._thread.is_alive():
            self._ready.wait()
            if self._raw is not None:
                self._raw.cancel()
        self._thread.join()
        self._spool.close()

    def _run(self) -> None:
        second = connections.create_connection("default")
        try:
            second.ensure_connection()
            second.set_autocommit(False)
            self._raw = second.connection
            self._ready.set()
            with second.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{self._snapshot}'")
                for statement in self._settings:
                    cursor.execute(statement)
                with cursor.cursor.copy(f"COPY ({self._query}) TO STDOUT", self._params) as copy:
                    for block in copy:
                        self._spool.write(block)
            second.rollback()
        except BaseException as error:  # handed to the waiting session by ``load``
            self._error = error
        finally:
            self._ready.set()
            second.close()

    def load(self, table: str, columns: Sequence[str]) -> int:
        """Wait for the second session, then copy its rows into ``table`` (``columns`` in the query's
        order) in this session; returns the bytes copied."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        size = self._spool.tell()
        self._spool.seek(0)
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            statement = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                while block := self._spool.read(2**20):
                    copy.write(block)
        return size
