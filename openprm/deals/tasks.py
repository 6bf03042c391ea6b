"""On-demand jobs of the deals app: thin wrappers over ``services``, built on ``core.tasks``. The hourly
run over every workspace is in the one schedule, ``config/tasks.py``."""

from __future__ import annotations

from openprm.core.tasks import workspace_task
from openprm.deals.services import deals_expire


@workspace_task
def expire_protection_windows(workspace_id: int) -> int:
    """Expire the workspace's approved registrations whose protection window ended without stage
    progress (what `prm deals expire` does by hand); returns how many expired."""
    return deals_expire(workspace_id=workspace_id)
