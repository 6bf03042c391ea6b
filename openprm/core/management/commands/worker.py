"""`prm worker`: run the job worker (huey consumer) — rollup refreshes and other background jobs."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the background job worker (until interrupted)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, help="Worker threads (default: PRM_QUEUE_WORKERS).")
        parser.add_argument("--quiet", action="store_true", help="Log warnings and errors only.")

    def handle(self, *args: Any, **options: Any) -> None:
        extra = ["--workers", str(options["workers"])] if options["workers"] else []
        if options["quiet"]:
            extra.append("--quiet")
        call_command("run_huey", *extra)
