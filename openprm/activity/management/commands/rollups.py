"""`prm rollups rebuild|refresh|status`: the per-partner daily rollups the pages read.

* ``rebuild`` recomputes every rollup of a workspace from the raw events, clicks, conversions and deals (the
  result equals what the increments built; use it after a bug fix or a manual data repair);
* ``refresh`` applies what is queued now (what `prm worker` does after every batch) — useful without a
  worker, e.g. after `prm import activities` in a cron job;
* ``status`` prints the fill state: "Up to date" only when nothing is queued; otherwise how many batches
  (and events, clicks) wait and for how long; when the rollups were last updated and rebuilt; and the
  job worker's heartbeat (how long ago it last showed life).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from openprm.activity.models import PartnerDay, RollupDirty, RollupState
from openprm.activity.rollups import (
    rollups_fold,
    rollups_queue_state,
    rollups_rebuild,
    rollups_refresh_pairs,
)
from openprm.core.actors import cli_actor
from openprm.core.health import WORKER_STALE_SECONDS, heartbeat_age
from openprm.core.tasks import workspace_scope
from openprm.deals.rollups import rollups_rebuild as deal_rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild, refresh or show the per-partner daily rollups (rebuild | refresh | status)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "refresh", "status"])
        parser.add_argument("--workspace", default="default", help="Workspace slug (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace_id = cli_actor(options["workspace"]).workspace_id
        started = time.perf_counter()
        if options["action"] == "rebuild":
            rows = rollups_rebuild(workspace_id=workspace_id)
            deal_rows = deal_rollups_rebuild(workspace_id=workspace_id)
            self.stdout.write(
                f"Rebuilt {rows} event rollup rows (partner-days) and {deal_rows} deal rollup rows "
                f"in {time.perf_counter() - started:.1f} s."
            )
        elif options["action"] == "refresh":
            batches = rollups_fold(workspace_id=workspace_id)
            partners = rollups_refresh_pairs(workspace_id=workspace_id)
            self.stdout.write(
                f"Applied {batches} queued batch(es), re-paired {partners} partner(s) "
                f"in {time.perf_counter() - started:.1f} s."
            )
        with workspace_scope(workspace_id):
            state = RollupState.objects.filter(workspace_id=workspace_id).first()
            rows = PartnerDay.objects.filter(workspace_id=workspace_id).count()
            dirty = RollupDirty.objects.filter(workspace_id=workspace_id).count()
        queue = rollups_queue_state(workspace_id=workspace_id, count_items=True)
        self.stdout.write(f"Status: {_status(state, queue.pending, dirty)}; {rows} rows (partner-days).")
        items = queue.detail or {"events": 0, "clicks": 0}
        oldest = "" if queue.oldest_age_seconds is None else f", oldest {_ago(queue.oldest_age_seconds)}"
        self.stdout.write(
            f"Queued: {queue.pending} batch(es) ({items['events']} events, {items['clicks']} clicks)"
            f"{oldest}; partners awaiting re-pairing {dirty}."
        )
        self.stdout.write(
            f"Last update {state.filled_at if state and state.filled_at else '—'}; "
            f"last rebuild {state.rebuilt_at if state and state.rebuilt_at else '—'}."
        )
        self.stdout.write(f"Worker: {_worker()}.")


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _status(state: RollupState | None, queued: int, dirty: int) -> str:
    if state is None and not queued:
        return "never filled"
    if state is not None and state.status != RollupState.Status.READY:
        return state.get_status_display()
    if queued or dirty:
        return "Behind (work is queued for the job worker)"
    return "Up to date"


def _worker() -> str:
    from huey.contrib.djhuey import HUEY

    if HUEY.immediate:
        return "not needed (PRM_QUEUE_IMMEDIATE: jobs run inline)"
    age = heartbeat_age()
    if age is None:
        return "never seen — start it with `prm worker` (or `prm serve`, which runs one)"
    if age > WORKER_STALE_SECONDS:
        return f"NOT RUNNING — last heartbeat {_ago(age)}"
    return f"running, last heartbeat {_ago(age)}"
