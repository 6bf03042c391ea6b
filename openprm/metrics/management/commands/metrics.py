"""`prm metrics close|reopen|periods`: period close by hand.

* ``close --period YYYY-MM`` freezes the month's figures (and its quarter and year when it ends them):
  every partner's values of every computable metric, from then on served from the snapshot; running it
  again changes nothing (a reopened month is closed again, taking late data in);
* ``reopen --period YYYY-MM --reason "..."`` reopens a closed period (and the quarter and year holding
  it), audited with the reason;
* ``periods`` lists the closed and reopened periods.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.core.actors import cli_actor
from openprm.core.tasks import workspace_scope
from openprm.metrics.closing import PeriodError, period_close, period_reopen
from openprm.metrics.models import PeriodClose


class Command(BaseCommand):
    help = "Close or reopen metric periods (close | reopen | periods)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["close", "reopen", "periods"])
        parser.add_argument("--period", default="", help="The month, YYYY-MM (reopen: also YYYY-Qn, YYYY).")
        parser.add_argument("--reason", default="", help="Why the period is reopened (required to reopen).")
        parser.add_argument("--workspace", default="default", help="Workspace slug (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = cli_actor(options["workspace"])
        action = options["action"]
        if action != "periods" and not options["period"]:
            raise CommandError("Give --period YYYY-MM.")
        with workspace_scope(actor.workspace_id):
            try:
                if action == "close":
                    closed = period_close(actor=actor, period=options["period"])
                    if not closed:
                        self.stdout.write(f"{options['period']} is already closed: nothing changed.")
                    for record in closed:
                        self.stdout.write(
                            f"Closed {record.period}: {record.partners} partner(s) snapshotted."
                        )
                elif action == "reopen":
                    for record in period_reopen(
                        actor=actor, period=options["period"], reason=options["reason"]
                    ):
                        self.stdout.write(f"Reopened {record.period}.")
                else:
                    for record in PeriodClose.objects.filter(workspace_id=actor.workspace_id):
                        when = record.reopened_at if record.status == "reopened" else record.closed_at
                        self.stdout.write(
                            f"{record.period:<8} {record.get_status_display():<9} {when:%Y-%m-%d %H:%M} "
                            f"{record.partners} partner(s)"
                        )
            except PeriodError as error:
                raise CommandError(str(error)) from None
