"""Test support: SQLite's flush (transactional tests) deletes every row, which the ledger's delete
triggers refuse; the flush runs with the bypass row set (the triggers stand aside) and removes it after.
Only the test suite installs this (root conftest); production code never writes the bypass table."""

from __future__ import annotations

from typing import Any


def allow_flush_on_sqlite() -> None:
    from django.db.backends.sqlite3 import base  # the backend first: its operations module imports it

    DatabaseOperations = base.DatabaseOperations

    original = DatabaseOperations.sql_flush
    if getattr(original, "_bypass", False):
        return

    def sql_flush(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        statements = original(self, style, tables, **kwargs)
        if "commissions_ledgerentry" not in tables and "commissions_planversion" not in tables:
            return statements
        return [
            "INSERT INTO commissions_guard_bypass (on_) VALUES (1)",
            *statements,
            "DELETE FROM commissions_guard_bypass",
        ]

    sql_flush._bypass = True  # type: ignore[attr-defined]
    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]
