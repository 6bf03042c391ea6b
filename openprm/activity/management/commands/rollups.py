"""`prm rollups rebuild|refresh|status`: the per-partner daily rollups the pages read.

* ``rebuild`` recomputes every rollup of a workspace from the raw events, clicks and conversions (the
  result equals what the increments built; use it after a bug fix or a manual data repair);
* ``refresh`` applies what is queued now (what `prm worker` does after every batch) — useful without a
  worker, e.g. after `prm import activities` in a cron job;
* ``status`` prints the fill state: when the rollups were last updated and rebuilt, what is queued.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from openprm.activity.models import PartnerDayMetric, RollupDirty, RollupPending, RollupState
from openprm.activity.rollups import rollups_fold, rollups_rebuild, rollups_refresh_pairs
from openprm.core.scoping import unscoped
from openprm.integrations.management.commands._common import cli_actor


class Command(BaseCommand):
    help = "Rebuild, refresh or show the per-partner daily rollups (rebuild | refresh | status)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "refresh", "status"])
        parser.add_argument("--workspace", default="default", help="Workspace slug (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace_id = cli_actor(options["workspace"]).workspace_id
        started = time.perf_counter()
        if options["action"] == "rebuild":
            cells = rollups_rebuild(workspace_id=workspace_id)
            self.stdout.write(f"Rebuilt {cells} rollup cells in {time.perf_counter() - started:.1f} s.")
        elif options["action"] == "refresh":
            batches = rollups_fold(workspace_id=workspace_id)
            partners = rollups_refresh_pairs(workspace_id=workspace_id)
            self.stdout.write(
                f"Applied {batches} queued batch(es), re-paired {partners} partner(s) "
                f"in {time.perf_counter() - started:.1f} s."
            )
        with unscoped():
            state = RollupState.objects.filter(workspace_id=workspace_id).first()
            cells = PartnerDayMetric.objects.filter(workspace_id=workspace_id).count()
            queued = RollupPending.objects.filter(workspace_id=workspace_id).count()
            dirty = RollupDirty.objects.filter(workspace_id=workspace_id).count()
        self.stdout.write(
            f"Status: {state.get_status_display() if state else 'never filled'}; {cells} cells; "
            f"last update {state.filled_at if state and state.filled_at else '—'}; "
            f"last rebuild {state.rebuilt_at if state and state.rebuilt_at else '—'}; "
            f"queued batches {queued}; partners awaiting re-pairing {dirty}."
        )
