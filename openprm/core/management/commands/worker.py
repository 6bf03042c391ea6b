"""`prm worker`: run the job worker (huey consumer) — the on-demand jobs apps enqueue after their
commits (rollup folds, outbox deliveries) and the periodic jobs of the one schedule, ``config/tasks.py``.

Several workers may run at once, on one machine or several, when the queue is on Redis
(``PRM_REDIS_URL``): each checks the schedule, and each periodic run is claimed by one of them for its
scheduled minute (``core.jobruns``). ``--tick`` shortens the schedule's check (tests only).

While it runs, a heartbeat thread updates its ``WorkerHeartbeat`` row every 15 s (``core.health``):
`GET /health/` and `prm rollups status` tell from its age whether a worker is alive."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from openprm.core.health import HEARTBEAT_SECONDS, Heartbeat
from openprm.core.jobqueue import set_tick
from openprm.core.tasks import load_jobs


class Command(BaseCommand):
    help = "Run the background job worker (until interrupted)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, help="Worker threads (default: PRM_QUEUE_WORKERS).")
        parser.add_argument("--quiet", action="store_true", help="Log warnings and errors only.")
        parser.add_argument(
            "--tick",
            type=int,
            default=0,
            help="Seconds between checks of the schedule, a divisor of 60 (default 60). Tests only: the "
            "every-minute jobs then run once per tick.",
        )
        parser.add_argument(
            "--heartbeat",
            type=float,
            default=HEARTBEAT_SECONDS,
            help=f"Seconds between heartbeats (default {HEARTBEAT_SECONDS:g}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        extra = ["--workers", str(options["workers"])] if options["workers"] else []
        if options["quiet"]:
            extra.append("--quiet")
        if options["tick"]:
            set_tick(options["tick"])
        load_jobs()  # every app's tasks and the schedule (huey would find the apps' tasks modules only)
        heartbeat = Heartbeat(interval=max(options["heartbeat"], 0.5)).start()
        try:
            call_command("run_huey", *extra)
        finally:
            heartbeat.stop()
