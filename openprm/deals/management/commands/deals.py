from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.core.models import Workspace
from openprm.deals.rollups import rollups_rebuild
from openprm.deals.services import deals_expire


class Command(BaseCommand):
    help = (
        "Deal maintenance. `prm deals expire`: expire approved registrations past their protection window. "
        "`prm deals rollups-rebuild`: recompute the deal rollups from the deals (every workspace with --all)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["expire", "rollups-rebuild"])
        parser.add_argument("--workspace", default="default", help="workspace slug")
        parser.add_argument("--all", action="store_true", help="rollups-rebuild: every workspace")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rollups-rebuild" and options["all"]:
            workspaces = list(Workspace.objects.order_by("pk"))
        else:
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace '{options['workspace']}'")
            workspaces = [workspace]
        if options["action"] == "rollups-rebuild":
            for workspace in workspaces:
                started = time.perf_counter()
                rows = rollups_rebuild(workspace_id=workspace.pk)
                seconds = time.perf_counter() - started
                self.stdout.write(f"{workspace.slug}: deal rollups rebuilt, {rows} rows in {seconds:.1f} s.")
            return
        count = deals_expire(workspace_id=workspaces[0].pk)
        self.stdout.write(
            f"Expired {count} registration{'s' if count != 1 else ''} past their protection window."
        )
