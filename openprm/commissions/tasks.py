"""On-demand jobs of the commissions app: thin wrappers over ``services``, built on ``core.tasks``.

Deal and conversion writes enqueue ``accrue_recent`` after they commit (by name: those apps sit below
this one); the schedule (``config/tasks.py``) runs it as a catch-up every 10 minutes and releases
holds daily."""

from __future__ import annotations

from openprm.commissions.services import accrual, ledger
from openprm.core.tasks import workspace_task


@workspace_task
def accrue_recent(workspace_id: int) -> int:
    """Accrue what changed since the last run (idempotent; nothing without a published plan); returns
    the ledger rows written."""
    if not accrual.has_published_plan(workspace_id=workspace_id):
        return 0
    return accrual.accrue_catch_up(workspace_id=workspace_id)


@workspace_task
def release_holds(workspace_id: int) -> int:
    """Approve pending entries whose hold ended; returns how many."""
    return ledger.holds_release(workspace_id=workspace_id)
