"""Jobs of the deals app (thin wrappers; the work is in ``services``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from openprm.core.models import Workspace
from openprm.deals.services import deals_expire


@db_periodic_task(crontab(minute="7"))
def expire_protection_windows() -> int:
    """Every hour: expire approved registrations whose protection window ended without stage progress
    (what `prm deals expire` does by hand), in every workspace. Returns how many expired."""
    workspaces = list(Workspace.objects.order_by("pk").values_list("pk", flat=True))
    return sum(deals_expire(workspace_id=workspace_id) for workspace_id in workspaces)
