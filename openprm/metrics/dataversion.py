"""The data version: a number that changes whenever a committed transaction changed anything a figure is
computed from, so that expensive figures (a program's peer scoring at 2,000 partners) can be kept between
requests and reused until the data behind them changes — never served stale.

How (PostgreSQL; SQLite has no statement-level triggers, so there :func:`data_version` is ``None`` and
nothing is cached):

* Every table a figure reads (:func:`tracked_tables`: the partners, deals, activity rollups, finance,
  customers, metrics and scorecards tables, not the raw events, clicks, queues, audit trail, sessions or
  accounts) has statement-level triggers (insert, update, delete, truncate) that record the writing
  transaction's id in ``metrics_datachange`` (once per transaction: the id is remembered in a
  transaction-local setting, so later statements cost one comparison). The rollup writers, the importers
  and the services are covered without knowing about it, and so is any table added to those apps later
  (the triggers are (re)installed after every ``migrate``).
* The version is the number of committed writing transactions: the rows of ``metrics_datachange`` plus
  the ones folded into ``metrics_dataversion.folded`` by :func:`compact` (which a reader outside a
  transaction runs once a thousand have gathered) — read in one statement, so a compaction never
  changes it. A row becomes visible exactly when its transaction commits, so the count
  grows with every commit and never counts a rolled-back one.
* A reader takes the version *before* reading the data: what it computes is at least as new as the
  version it is kept under. A transaction that has itself written tracked rows (uncommitted) neither reads
  nor keeps cached figures (:func:`data_version` is ``None`` there).

The cache itself (:func:`cached`) is per process, small and bounded (least recently used out), keyed by
what the caller names plus the workspace, the version and today's date (figures that depend on the day,
such as tenure, change at midnight), and entries expire after ``MAX_AGE`` seconds in any case.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.apps import apps
from django.db import connection, connections
from django.utils import timezone

T = TypeVar("T")

TRACKED_APPS = ("partners", "deals", "activity", "finance", "customers", "metrics", "scorecards")
UNTRACKED_MODELS = {
    "activity.event",  # raw rows: figures read the rollups they are folded into (tracked)
    "activity.click",
    "activity.rolluppending",
    "activity.rollupdirty",
    "activity.rollupstate",
    "partners.savedview",
    "metrics.datachange",
    "metrics.dataversion",
}
SETTING = "openprm.data_change_xid"  # transaction-local: the transaction's change is recorded
FUNCTION = "openprm_data_change"
MAX_AGE = 600.0  # seconds a cached figure is kept at most, whatever the version
SIZE = 16  # cached figures per process
COMPACT_AT = 1_000  # recorded changes a reader folds into the counter


def tracked_tables() -> list[str]:
    """The tables whose changes move the data version (see the module docstring)."""
    tables = []
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label in TRACKED_APPS and meta.label_lower not in UNTRACKED_MODELS and meta.managed:
            tables.append(meta.db_table)
    return sorted(set(tables))


def install_triggers(using: str = "default") -> None:
    """Create (or replace) the change triggers on every tracked table (PostgreSQL; a no-op elsewhere)."""
    db = connections[using]
    if db.vendor != "postgresql":
        return
    with db.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE xid bigint := txid_current();
            BEGIN
                IF current_setting('{SETTING}', true) IS DISTINCT FROM xid::text THEN
                    INSERT INTO metrics_datachange (xid) VALUES (xid) ON CONFLICT DO NOTHING;
                    PERFORM set_config('{SETTING}', xid::text, true);
                END IF;
                RETURN NULL;
            END $$
            """  # noqa: S608
        )
        for table in tracked_tables():
            quoted = db.ops.quote_name(table)
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER openprm_data_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {quoted} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            )


def data_version() -> int | None:
    """The current data version, or None where figures must not be cached: on SQLite, and inside a
    transaction that has written tracked rows not yet committed. Compacts now and then."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE((SELECT folded FROM metrics_dataversion WHERE id = 1), 0), "  # noqa: S608
            "(SELECT count(*) FROM metrics_datachange), "
            f"current_setting('{SETTING}', true) = txid_current_if_assigned()::text"
        )
        folded, recorded, dirty = cursor.fetchone()
    if dirty:
        return None
    if recorded >= COMPACT_AT and not connection.in_atomic_block:
        compact()
    return int(folded) + int(recorded)


def compact() -> int:
    """Fold the recorded changes into the counter (the version stays the same: one statement); returns
    how many. Safe to run concurrently (each change is deleted, and counted, once)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH gone AS (DELETE FROM metrics_datachange RETURNING 1), "
            "n AS (SELECT count(*) AS c FROM gone), "
            "up AS (INSERT INTO metrics_dataversion (id, folded) SELECT 1, c FROM n WHERE c > 0 "
            "ON CONFLICT (id) DO UPDATE SET folded = metrics_dataversion.folded + EXCLUDED.folded) "
            "SELECT c FROM n"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self.lock:
            found = self.entries.get(key)
            if found is None or time.monotonic() - found[0] > MAX_AGE:
                return False, None
            self.entries.move_to_end(key)
            return True, found[1]

    def put(self, key: Hashable, value: Any) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic(), value)
            self.entries.move_to_end(key)
            while len(self.entries) > SIZE:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_cache = _Cache()


def cached(workspace_id: int, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned for the same key, workspace and data version today (see the
    module docstring). The value is shared between requests: callers must not change it."""
    version = data_version()
    if version is None:
        return compute()
    today = timezone.now().astimezone(datetime.UTC).date()
    full = (workspace_id, version, today, key)
    hit, value = _cache.get(full)
    if hit:
        return value
    value = compute()
    _cache.put(full, value)
    return value


def clear_cache() -> None:
    """Forget every cached figure of this process (tests)."""
    _cache.clear()
