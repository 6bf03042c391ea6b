"""PostgreSQL backend: Django's, with a connection health check that costs no round trip.

With persistent connections (``CONN_MAX_AGE``) and health checks on, Django asks PostgreSQL
``SELECT 1`` before the first query of every request — a whole extra round trip on short requests such
as the ``/r/<code>`` redirect. Here an idle connection is first asked of its socket instead: an idle
PostgreSQL connection has nothing to read, so a socket that is readable (the server's termination
notice, or end of file after a restart) or closed gets the real ``SELECT 1`` check (which then fails
and makes Django reconnect). Connections in any other state are checked the usual way."""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


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
