"""Jobs of the activity app (thin wrappers; the work is in ``rollups``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from openprm.activity.models import RollupDirty
from openprm.activity.rollups import rollups_refresh_pairs
from openprm.core.scoping import unscoped


@db_task()
def refresh_pairs(workspace_id: int) -> int:
    """Recompute reply times, ticket resolutions and deliveries of the partners a batch touched."""
    return rollups_refresh_pairs(workspace_id=workspace_id)


@db_periodic_task(crontab(minute="*"))
def refresh_pairs_everywhere() -> int:
    """Every minute: catch up on anything a lost job left dirty (keeps metrics fresh within 60 s)."""
    with unscoped():
        workspaces = sorted(set(RollupDirty.objects.values_list("workspace_id", flat=True)))
    return sum(rollups_refresh_pairs(workspace_id=w) for w in workspaces)
