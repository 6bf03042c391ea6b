"""On-demand jobs of the activity app: thin wrappers over ``rollups``, built on ``core.tasks`` (each runs
in its workspace's scope). The periodic catch-up that calls them lives in the one schedule,
``config/tasks.py``."""

from __future__ import annotations

from openprm.activity.rollups import rollups_fold, rollups_queue_state, rollups_refresh_pairs
from openprm.core.health import register_probe
from openprm.core.tasks import workspace_task

register_probe("rollups", rollups_queue_state)  # GET /health/: batches waiting for the fold


@workspace_task
def fold_rollups(workspace_id: int) -> int:
    """After a batch commits (the rollups enqueue it by name, ``rollups.FOLD_JOB``): add its deltas to
    the rollups, then recompute the paired metrics (reply times, ticket resolutions, deliveries) of the
    partners it touched."""
    applied = rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)
    return applied


@workspace_task
def refresh_pairs(workspace_id: int) -> int:
    """Recompute the paired metrics of the partners whose message history changed."""
    return rollups_refresh_pairs(workspace_id=workspace_id)
