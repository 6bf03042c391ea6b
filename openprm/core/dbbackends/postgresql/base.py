"""PostgreSQL backend: Django's, with a connection health check that costs no round trip and a
cursor for prepared statements.

With persistent connections (``CONN_MAX_AGE``) and health checks on, Django asks PostgreSQL
``SELECT 1`` before the first query of every request — a whole extra round trip on short requests such
as the ``/r/<code>`` redirect. Here an idle connection is first asked of its socket instead: an idle
PostgreSQL connection has nothing to read, so a socket that is readable (the server's termination
notice, or end of file after a restart) or closed gets the real ``SELECT 1`` check (which then fails
and makes Django reconnect). Connections in any other state are checked the usual way.

``prepared_cursor()`` is Django's cursor with server-side binding instead of Django's client-side one:
psycopg prepares a statement the connection runs repeatedly (``prepare_threshold`` times, 5 by default)
and then only binds and executes it, which spares the server parsing and planning it on every run. For
the hottest fixed statements (the redirect's click), not for everything: server-side binding cannot
take parameters everywhere client-side binding can."""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader  # type: ignore[import-untyped]
from django.db.backends.utils import CursorWrapper
from psycopg.pq import Format, TransactionStatus

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid


def _socket_quiet(fileno: int) -> bool:
    """True when nothing is waiting to be read on the socket (no message, no end of file)."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        if not hasattr(select, "poll") or conn.info.transaction_status != TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            quiet = _socket_quiet(conn.fileno())
        except (OSError, ValueError):
            return False
        return quiet or bool(super().is_usable())

    def prepared_cursor(self) -> CursorWrapper:
        """A Django cursor with server-side binding (see the module's documentation)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = psycopg.Cursor(self.connection)
            tzloader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
            if self.timezone != tzloader.timezone:  # as Django's own cursors
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)  # type: ignore[attr-defined]
