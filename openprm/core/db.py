"""Database helpers shared by the hot public paths (the redirect, the events ingest).

``retry_on_dropped_connection`` runs a unit of work once more when the database connection dropped
under it (a server restart, a failover, an administrator's ``pg_terminate_backend``): the visitor or API
client then sees the answer, not a 500. Only a *dropped* connection is retried — any other database
error is raised as before — and only outside a transaction the caller opened (inside one, the work done
so far is lost with the connection, so retrying a part of it would be wrong).

A retry must never store anything twice. The caller says how: either the work is idempotent on its own
(the events ingest skips event ids it already stored), or it passes ``committed``, a read run on the
new connection that returns the earlier attempt's result when that attempt was committed after all
(the connection can drop after the server committed but before its answer arrived).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

logger = logging.getLogger("openprm.db")

T = TypeVar("T")


def connection_dropped(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the connection of ``using`` is gone: closed by Django after a failed rollback, or
    closed/broken at the driver (psycopg marks it so once the server ended the session). SQLite
    connections never report this, so nothing is retried there."""
    raw = connections[using].connection
    if raw is None:
        return True
    return bool(getattr(raw, "closed", False) or getattr(raw, "broken", False))


def retry_on_dropped_connection(
    work: Callable[[], T],
    *,
    committed: Callable[[], T | None] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> T:
    """``work()``, run once more on a fresh connection if the connection dropped during the first run.

    ``committed`` (optional) runs first on the fresh connection: when it returns a result, the first
    run had committed and that result is returned instead of running ``work`` again."""
    try:
        return work()
    except (OperationalError, InterfaceError):
        connection = connections[using]
        if connection.in_atomic_block or not connection_dropped(using):
            raise
        logger.warning("database connection dropped; retrying once on a new connection", exc_info=True)
        connection.close()  # the next statement opens a new connection
    if committed is not None:
        done = committed()
        if done is not None:
            return done
    return work()
