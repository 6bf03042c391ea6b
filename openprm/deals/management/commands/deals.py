from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.core.models import Workspace
from openprm.deals.services import deals_expire


class Command(BaseCommand):
    help = "Deal maintenance. `prm deals expire`: expire approved registrations past their protection window."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["expire"])
        parser.add_argument("--workspace", default="default", help="workspace slug")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace '{options['workspace']}'")
        count = deals_expire(workspace_id=workspace.pk)
        self.stdout.write(
            f"Expired {count} registration{'s' if count != 1 else ''} past their protection window."
        )
