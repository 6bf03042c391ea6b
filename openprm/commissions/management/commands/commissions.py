"""`prm commissions accrue|replay|simulate`: accrue the ledger, replay it, or what-if a plan version."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from openprm.commissions.models import Plan, PlanVersion
from openprm.commissions.services import accrual, simulate
from openprm.commissions.services.replay import replay
from openprm.core.actors import cli_actor
from openprm.core.scoping import scope


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None


def _utc(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


class Command(BaseCommand):
    help = (
        "Commissions. `accrue`: evaluate every source not yet in the ledger (or --from/--to by occurrence), "
        "idempotent. `replay --from --to`: re-run the engine over those events and compare every amount "
        "with the ledger (exit 1 on a difference). `simulate --plan NAME [--plan-version N] --months 6`: "
        "what the "
        "version (default: the latest draft, else the latest) would have paid per partner against what was "
        "accrued. `--json` for machines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["accrue", "replay", "simulate"])
        parser.add_argument("--workspace", default="default", help="workspace slug")
        parser.add_argument("--from", dest="start", help="first day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", help="last day, included (YYYY-MM-DD; default today)")
        parser.add_argument("--plan", help="simulate: the plan's name or id")
        parser.add_argument(
            "--plan-version", dest="plan_version", type=int, help="simulate: the version number"
        )
        parser.add_argument("--months", type=int, default=6, help="simulate: months back (default 6)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = cli_actor(options["workspace"])
        ws = actor.workspace_id
        end = _day(options["end"]) if options["end"] else timezone.localdate()
        started = time.perf_counter()
        action = options["action"]
        if action == "accrue":
            if options["start"]:
                result = accrual.accrue_range(
                    workspace_id=ws,
                    start=_utc(_day(options["start"])),
                    end=_utc(end + datetime.timedelta(days=1)),
                )
            else:
                result = accrual.accrue(workspace_id=ws)
            out: dict[str, Any] = result.as_dict()
            text = (
                f"Accrued {result.evaluated} events: {result.rows} ledger rows "
                f"({result.reversals} reversals), "
                f"{out['amount']} in plan currencies; {result.skipped_no_plan} with no plan"
                + (f"; {len(result.missing_fx)} without an FX rate" if result.missing_fx else "")
            )
        elif action == "replay":
            if not options["start"]:
                raise CommandError("replay needs --from (and optionally --to)")
            found = replay(
                workspace_id=ws,
                start=_utc(_day(options["start"])),
                end=_utc(end + datetime.timedelta(days=1)),
            )
            out = found.as_dict()
            text = (
                f"Replayed {found.compared} ledger amounts: {found.identical} identical, "
                f"{len(found.differences)} different."
            )
            if found.estimates:
                text += (
                    f" {found.estimates} registration/approval bounties of deals edited since kept, "
                    "not compared."
                )
            for diff in found.differences[:20]:
                text += f"\n  {diff['key']}: replayed {diff['replayed']}, ledger {diff['ledger']}"
        else:
            with scope(actor.access_scope()):
                version = self._version(options)
                sim = simulate.simulate_version(
                    actor=actor, version=version, months=options["months"], today=end
                )
            out = {
                "plan": version.plan.name,
                "version": version.number,
                "status": version.status,
                "start": sim.start.isoformat(),
                "end": sim.end.isoformat(),
                "currency": sim.currency,
                "would_pay": f"{sim.would_pay:.2f}",
                "actual": f"{sim.actual:.2f}",
                "partners": [
                    {
                        "partner": p.partner_name,
                        "would_pay": f"{p.would_pay:.2f}",
                        "actual": f"{p.actual:.2f}",
                        "events": p.events,
                    }
                    for p in sim.partners
                ],
            }
            text = (
                f"{version.plan.name} v{version.number} ({version.status}) over {sim.start} – {sim.end}: "
                "would pay "
                f"{out['would_pay']} {sim.currency}, accrued {out['actual']} {sim.currency}"
            )
            for p in sim.partners[:30]:
                text += f"\n  {p.partner_name}: {p.would_pay:.2f} vs {p.actual:.2f} ({p.events} events)"
        out["seconds"] = round(time.perf_counter() - started, 2)
        self.stdout.write(json.dumps(out) if options["json"] else text + f"\n({out['seconds']} s)")
        if action == "replay" and out["differences"]:
            raise SystemExit(1)

    def _version(self, options: dict[str, Any]) -> PlanVersion:
        wanted = options["plan"]
        if not wanted:
            raise CommandError("simulate needs --plan NAME")
        plan = Plan.objects.filter(name=wanted).first()
        if plan is None:
            plan = Plan.objects.filter(public_id=wanted).first() if len(wanted) >= 32 else None
        if plan is None:
            raise CommandError(f"No plan {wanted!r}")
        versions = PlanVersion.objects.filter(plan=plan)
        if options["plan_version"]:
            version = versions.filter(number=options["plan_version"]).first()
        else:
            version = (
                versions.filter(status="draft").order_by("-number").first()
                or versions.order_by("-number").first()
            )
        if version is None:
            raise CommandError(f"{plan.name} has no such version")
        return version
