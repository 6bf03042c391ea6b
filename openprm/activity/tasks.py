"""Jobs of the activity app (thin wrappers; the work is in ``rollups``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from openprm.activity.models import RollupDirty, RollupPending
from openprm.activity.rollups import rollups_fold, rollups_queue_state, rollups_refresh_pairs
from openprm.core.health import register_probe
from openprm.core.scoping import unscoped

register_probe("rollups", rollups_queue_state)  # GET /health/: batches waiting for the fold


@db_task()
def fold_rollups(workspace_id: int) -> int:
    """After a batch commits: add its deltas to the rollups, then recompute the paired metrics (reply
    times, ticket resolutions, deliveries) of the partners it touched."""
    applied = rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)
    return applied


@db_task()
def refresh_pairs(workspace_id: int) -> int:
    """Recompute the paired metrics of the partners whose message history changed."""
    return rollups_refresh_pairs(workspace_id=workspace_id)


@db_periodic_task(crontab(minute="*"))
def fold_rollups_everywhere() -> int:
    """Every minute: catch up on anything a lost job left behind (metrics stay fresh within 60 s)."""
    with unscoped():
        workspaces = set(RollupPending.objects.values_list("workspace_id", flat=True))
        workspaces |= set(RollupDirty.objects.values_list("workspace_id", flat=True))
    return sum(fold_rollups.call_local(w) for w in sorted(workspaces))
