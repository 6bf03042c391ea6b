"""The job queue's huey classes (``settings.HUEY["huey_class"]``): the embedded SQLite queue by default,
Redis with ``PRM_REDIS_URL``.

Both stamp every periodic run with the slot the schedule fired for: the consumer's scheduler checks the
schedule once a tick (60 s) and enqueues the jobs due, and each run carries ``scheduled_for`` (the start
of the tick's slot: the minute, in UTC). With several workers sharing a Redis queue, each one's scheduler
enqueues the same jobs for the same minute; ``core.tasks.periodic_job`` claims (job, minute) once across
them all (``core.jobruns.run_claim``), so the stamp must not depend on which worker enqueued it.

Imported while Django loads its apps (huey's Django integration builds the queue then): huey only here.
"""

from __future__ import annotations

import datetime
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.consumer import Scheduler

SCHEDULED_FOR = "scheduled_for"  # the keyword argument carrying the stamp (an ISO UTC datetime)
TICK_SECONDS = 60  # how often a worker checks the schedule; `prm worker --tick` shortens it (tests)


def slot_start(moment: datetime.datetime, seconds: int | None = None) -> datetime.datetime:
    """The start of the tick slot holding ``moment``: the minute with 60-second ticks."""
    seconds = seconds or TICK_SECONDS
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    into = int((moment - day).total_seconds())
    return day + datetime.timedelta(seconds=into - into % seconds)


def set_tick(seconds: int) -> None:
    """Check the schedule every ``seconds`` (a divisor of 60) in this process, stamping slots that long.

    Only for tests that need many schedule ticks in a short time: each tick still runs every job whose
    crontab matches the minute, so a shorter tick runs the every-minute jobs once per slot."""
    global TICK_SECONDS
    if seconds < 1 or 60 % seconds:
        raise ValueError("The tick must divide 60 seconds")
    TICK_SECONDS = seconds
    Scheduler.periodic_task_seconds = seconds


class _Stamping:
    """Periodic runs carry the slot they were enqueued for (see the module docstring)."""

    def read_periodic(self, timestamp: datetime.datetime | None) -> list[Any]:
        if timestamp is None:
            timestamp = self._get_timestamp()  # type: ignore[attr-defined]
        stamp = slot_start(timestamp).replace(tzinfo=datetime.UTC).isoformat()
        due = super().read_periodic(timestamp)  # type: ignore[misc]
        # huey enqueues the one registered instance each time; a fresh one carries this slot's stamp
        return [type(task)(kwargs={SCHEDULED_FOR: stamp}) for task in due]


class SqliteQueue(_Stamping, SqliteHuey):
    """The embedded queue: a SQLite file beside the database (one machine; `make run` needs nothing)."""


class RedisQueue(_Stamping, RedisHuey):
    """The queue on Redis (``PRM_REDIS_URL``): several workers, on several machines, share it."""
