"""``prm bench rollups``: a full rebuild of the event rollups against one raw GROUP BY over the same events.

N synthetic events (deterministic: P partners, the event-type mix of ``bench ingest`` plus a workspace
type of its own, the last 365 days, messages in both directions, tickets, content posts) are written
with PostgreSQL ``COPY`` / SQLite ``executemany`` into a scratch workspace. Then, in the same run:

* **raw** — ``SELECT partner_id, day, type, count(*), sum(value) … GROUP BY`` over the workspace's
  events, every row fetched (through a server-side cursor on PostgreSQL);
* **rebuild** — ``rollups_rebuild``: every rollup row and paired interval recomputed and written.

Reported: both times (best of ``repeat``), their ratio (target ≤ 3), the rollup rows and the on-disk size
of the rollup tables against the events table — whole tables, so run it on a database of its own
(PostgreSQL ``pg_total_relation_size``: table, indexes and TOAST; SQLite: the pages of the table and its
indexes in ``dbstat``) — and this process's peak resident memory during the rebuild (sampled; the
database server's memory is its own). The scratch workspace and its rows are deleted afterwards unless
``keep``.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import resource
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from openprm.activity.models import Event, EventType, PairedInterval, PartnerDay
from openprm.activity.rollups import read, rollups_rebuild
from openprm.activity.rollups.store import reading_cursor
from openprm.bench.ingest import TYPES, _cleanup, _scratch
from openprm.core.bulk import FastTable, analyze_tables
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped

REBUILD_TARGET = 3.0
CHUNK = 50_000
CUSTOM_TYPE = "bench_webinar"
_COLUMNS = (
    "workspace_id",
    "partner_id",
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "direction",
    "value",
    "properties",
    "source",
)


def event_rows(
    count: int, *, workspace_id: int, partner_ids: list[int], seed: int = 11
) -> Iterator[list[list[Any]]]:
    """``count`` event rows for ``FastTable`` in chunks (the same rows for the same arguments)."""
    rng = random.Random(seed)
    keys = [key for key, _ in TYPES] + [CUSTOM_TYPE]
    weights = [share for _, share in TYPES] + [2]
    end = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    now = timezone.now()
    tickets = count // 20 + 1
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        rows: list[list[Any]] = []
        for i, type_key in enumerate(rng.choices(keys, weights, k=size), start):
            direction, value, properties = "", None, "{}"
            if type_key in ("meeting", "call"):
                direction = rng.choice(("inbound", "outbound"))
            elif type_key == "content_post":
                properties = json.dumps(
                    {
                        "reach": rng.randrange(100, 50_000),
                        "impressions": rng.randrange(1_000, 200_000),
                        "engagements": rng.randrange(10, 5_000),
                        "followers": rng.randrange(1_000, 90_000),
                    }
                )
            elif type_key in ("survey_response", CUSTOM_TYPE):
                value = rng.randrange(0, 11)
            elif type_key.startswith("support_ticket"):
                properties = json.dumps({"ticket_id": f"T-{rng.randrange(tickets)}"})
            rows.append(
                [
                    workspace_id,
                    rng.choice(partner_ids),
                    f"rb-{seed}-{i:09d}",
                    type_key,
                    end - datetime.timedelta(seconds=rng.randrange(365 * 86_400)),
                    now,
                    direction,
                    value,
                    properties,
                    "api",
                ]
            )
        yield rows


def raw_group_by(workspace_id: int) -> int:
    """The baseline: one GROUP BY over the workspace's events, every row fetched; returns the rows."""
    day = (
        "CAST((occurred_at AT TIME ZONE 'UTC') AS date)"
        if connection.vendor == "postgresql"
        else "substr(occurred_at, 1, 10)"
    )
    query = (
        f"SELECT partner_id, {day}, type, COUNT(*), SUM(value) "  # noqa: S608
        f"FROM {connection.ops.quote_name(Event._meta.db_table)} WHERE workspace_id = %s GROUP BY 1, 2, 3"
    )
    rows = 0
    with transaction.atomic(), reading_cursor() as cursor:
        cursor.execute(query, [workspace_id])
        while found := cursor.fetchmany(10_000):
            rows += len(found)
    return rows


class PeakMemory:
    """This process's largest resident set while the block runs (sampled every 20 ms from /proc)."""

    def __init__(self) -> None:
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def current() -> int:
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:  # not Linux: the process's peak so far
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(0.02)

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())


def table_bytes(model: type[Any]) -> int | None:
    """The table's size on disk with its indexes (PostgreSQL: and TOAST); None where unknown."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            return int(cursor.fetchone()[0])
        try:
            cursor.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s)",
                [table, table],
            )
        except Exception:  # SQLite built without dbstat
            return None
        found = cursor.fetchone()[0]
        return None if found is None else int(found)


def _rows(model: type[Any], workspace_id: int) -> int:
    with unscoped():
        return int(model.objects.filter(workspace_id=workspace_id).count())


def bench_rollups(
    *, events: int = 200_000, partners: int = 2_000, keep: bool = False, repeat: int = 1
) -> dict[str, Any]:
    """Run the rollup rebuild benchmark on the current database; returns the JSON-ready result."""
    created: list[Workspace] = []
    try:
        workspace, partner_map, _ = _scratch("rollups", partners)
        created.append(workspace)
        with unscoped():
            EventType.objects.create(
                workspace=workspace, key=CUSTOM_TYPE, label="Webinar (bench)", contact=False
            )
        table = FastTable(Event, _COLUMNS)
        position = _COLUMNS.index("properties")
        table.convert = [(p, fn) for p, fn in table.convert if p != position]  # rows carry JSON text
        started = time.perf_counter()
        for rows in event_rows(events, workspace_id=workspace.pk, partner_ids=sorted(partner_map.values())):
            with unscoped(), transaction.atomic():
                table.insert(rows)
        generate_seconds = time.perf_counter() - started
        analyze_tables(Event, rows=events)

        raw_times: list[float] = []
        rebuild_times: list[float] = []
        peaks: list[int] = []
        before: list[int] = []
        groups = rollup_rows = 0
        for _ in range(repeat):
            started = time.perf_counter()
            groups = raw_group_by(workspace.pk)
            raw_times.append(time.perf_counter() - started)
            with PeakMemory() as memory:
                started = time.perf_counter()
                rollup_rows = rollups_rebuild(workspace_id=workspace.pk)
                rebuild_times.append(time.perf_counter() - started)
            peaks.append(memory.peak)
            before.append(memory.start)
        analyze_tables(PartnerDay, PairedInterval, rows=rollup_rows)
        totals = read.stock(workspace.pk, metrics=[read.ALL_EVENTS], on_or_before=datetime.date.max)
        counted = int(sum(values.get(read.ALL_EVENTS, 0) for values in totals.values()))
        if counted != events:
            raise RuntimeError(f"The rebuilt rollups count {counted} events, not {events}.")
        sizes = {
            name: table_bytes(model)
            for name, model in (("events", Event), ("rollups", PartnerDay), ("intervals", PairedInterval))
        }
        intervals = _rows(PairedInterval, workspace.pk)
        workspace_events = _rows(Event, workspace.pk)
    finally:
        if created and not keep:
            _cleanup(created)
    raw, rebuild = min(raw_times), min(rebuild_times)
    rollup_bytes = (
        (sizes["rollups"] or 0) + (sizes["intervals"] or 0) if sizes["rollups"] is not None else None
    )
    return {
        "bench": "rollups",
        "database": connection.vendor,
        "events": events,
        "partners": partners,
        "generate_seconds": round(generate_seconds, 3),
        "raw_group_by_seconds": round(raw, 3),
        "raw_group_by_rows": groups,
        "rebuild_seconds": round(rebuild, 3),
        "ratio": round(rebuild / raw, 3),
        "target": REBUILD_TARGET,
        "within_target": rebuild / raw <= REBUILD_TARGET,
        "rollup_rows": rollup_rows,
        "paired_intervals": intervals,
        "events_in_workspace": workspace_events,
        "events_table_bytes": sizes["events"],
        "rollup_table_bytes": sizes["rollups"],
        "interval_table_bytes": sizes["intervals"],
        "rollups_to_events": None
        if rollup_bytes is None or not sizes["events"]
        else round(rollup_bytes / sizes["events"], 4),
        "peak_rss_bytes": max(peaks),
        "peak_rss_mb": round(max(peaks) / 2**20, 1),
        "rss_before_rebuild_mb": round(min(before) / 2**20, 1),
        "repeat": repeat,
        "kept": keep,
    }
