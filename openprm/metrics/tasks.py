"""On-demand jobs of the metrics app: thin wrappers over ``metrics.closing``, built on ``core.tasks``. The
monthly run over every workspace is in the one schedule, ``config/tasks.py``."""

from __future__ import annotations

from openprm.core.tasks import workspace_task
from openprm.metrics.closing import close_previous_month


@workspace_task
def close_last_month(workspace_id: int) -> int:
    """Close last month in the workspace unless it was ever closed (what `prm metrics close` does by
    hand); returns how many periods it closed (the month, and its quarter and year when it ends them)."""
    return close_previous_month(workspace_id)
