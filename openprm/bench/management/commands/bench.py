"""`prm bench NAME [--rows N | --events N] [--json] [--keep]`: run a benchmark on the current database."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.bench.deals_import import BENCHES


class Command(BaseCommand):
    help = (
        "Run a benchmark side by side with its raw baseline on the current database, in scratch "
        "workspaces that are deleted afterwards. deals-import: our deal CSV import against COPY "
        "(PostgreSQL) / executemany (SQLite) of the same rows. ingest: events through POST /api/v1/events "
        "against COPY / executemany of the same events, then every batch re-sent (no duplicates allowed). "
        "redirect: /r/<code> through the production server against a bare view on it. alerts: one "
        "evaluation cycle of 50 rules on the scale dataset against reading its metric tables alone. "
        "reports: the scheduled partner scorecard run to 200 partners' contacts (PDF, delivered through the "
        "outbox, rolled back), the PDF step as it was against now, and a QBR pack and sample scorecards with "
        "charts rendered a Node process each against the long-lived renderer. commissions: 1,000,000 "
        "conversions accrued against COPY of as many ledger rows, and a what-if over 12 months of the "
        "default workspace."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "name",
            choices=sorted(
                [*BENCHES, "deals-pages", "rollups", "dashboards", "alerts", "reports", "commissions"]
            ),
            help="Which benchmark.",
        )
        parser.add_argument(
            "--partners", type=int, default=2_000, help="deals-pages: partners (default 2000)."
        )
        parser.add_argument("--deals", type=int, default=200_000, help="deals-pages: deals (default 200000).")
        parser.add_argument("--rows", type=int, help="deals-import: rows to generate (default 100000).")
        parser.add_argument("--events", type=int, help="ingest: events to generate (default 1000000).")
        parser.add_argument("--requests", type=int, help="redirect: requests per side (default 5000).")
        parser.add_argument(
            "--scale", choices=["s", "m"], default="m", help="dashboards: the scale dataset (default m)."
        )
        parser.add_argument("--rules", type=int, default=50, help="alerts: rules to evaluate (default 50).")
        parser.add_argument(
            "--reports", type=int, default=200, help="reports: partners in the scorecard run (default 200)."
        )
        parser.add_argument(
            "--conversions",
            type=int,
            default=1_000_000,
            help="commissions: conversions to accrue (default 1000000).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
        parser.add_argument(
            "--skip-rebuild",
            action="store_true",
            help="dashboards: time the requests only, not the rollup rebuild (which rewrites the rollups).",
        )
        parser.add_argument(
            "--only",
            action="append",
            metavar="NAME",
            help="dashboards: time only the requests whose name starts with NAME (repeatable).",
        )
        parser.add_argument("--keep", action="store_true", help="Keep the scratch workspaces and their rows.")
        parser.add_argument(
            "--repeat",
            type=int,
            help=(
                "Run both sides this many times, alternating (default 1; redirect: 3). deals-import and "
                "ingest report each side's best time, redirect the median round."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if name == "dashboards":  # the dashboards and scorecards on the scale dataset (loaded when empty)
            from openprm.bench.dashboards import DatasetError, bench_dashboards

            try:
                found = bench_dashboards(
                    scale=options["scale"],
                    repeat=options["repeat"] or 20,
                    rollups=not options["skip_rebuild"],
                    only=tuple(options["only"] or ()),
                )
            except DatasetError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(json.dumps(found) if options["json"] else json.dumps(found, indent=2))
            if not found["within_target"]:
                worst, targets = found["worst_p95_ms"], found["target_p95_ms"]
                above = [f"{k} p95 {v} ms > {targets[k]} ms" for k, v in worst.items() if v > targets[k]]
                rollups = found.get("rollups")
                if rollups and (rollups["ratio"] or 0) > rollups["target_ratio"]:
                    above.append(f"rebuild/raw {rollups['ratio']} > {rollups['target_ratio']}")
                self.stderr.write(f"Above target: {'; '.join(above)}.")
            return
        if name == "commissions":  # accrual vs raw ledger insert; what-if over 12 months of the scale dataset
            from openprm.bench.commissions import bench_commissions

            found = bench_commissions(conversions=max(options["conversions"], 1))
            self.stdout.write(json.dumps(found) if options["json"] else json.dumps(found, indent=2))
            if not found["accrual"].get("within_target"):
                self.stderr.write(f"Below target: raw/accrual {found['accrual'].get('ratio')} (≥ 0.3).")
            return
        if name == "alerts":  # one evaluation cycle of --rules rules on the scale dataset vs its metric reads
            from openprm.bench.alerts import bench_alerts
            from openprm.bench.dashboards import DatasetError

            if options["rules"] < 1:
                raise CommandError("--rules must be at least 1.")
            try:
                cycle = bench_alerts(scale=options["scale"], rules=options["rules"])
            except DatasetError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(json.dumps(cycle) if options["json"] else json.dumps(cycle, indent=2))
            if not cycle["within_target"]:
                self.stderr.write(
                    f"Above target: cycle {cycle['cycle_s']} s (≤ {cycle['target_cycle_s']}), "
                    f"cycle/read {cycle['ratio']} (≤ {cycle['target_ratio']})."
                )
            return
        if name == "reports":  # partner PDFs, charts a Node process each vs the long-lived renderer
            from openprm.bench.dashboards import DatasetError
            from openprm.bench.reports import bench_reports

            if options["reports"] < 1:
                raise CommandError("--reports must be at least 1.")
            try:
                reports = bench_reports(scale=options["scale"], partners=options["reports"])
            except DatasetError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(json.dumps(reports) if options["json"] else json.dumps(reports, indent=2))
            return
        if name == "rollups":  # a full rollup rebuild against one raw GROUP BY over the same events
            from openprm.bench.rollups import bench_rollups

            rollups = bench_rollups(
                events=options["events"] or 200_000,
                partners=options["partners"],
                keep=options["keep"],
                repeat=options["repeat"] or 1,
            )
            self.stdout.write(json.dumps(rollups) if options["json"] else json.dumps(rollups, indent=2))
            if not rollups["within_target"]:
                self.stderr.write(f"Above target: rebuild/raw {rollups['ratio']} > {rollups['target']}.")
            return
        if name == "deals-pages":  # the deal pages at scale against one indexed page query
            from openprm.bench.deals_pages import bench_deals_pages

            if options["partners"] < 1 or options["deals"] < 1:
                raise CommandError("--partners and --deals must be at least 1.")
            pages = bench_deals_pages(
                partners=options["partners"], deals=options["deals"], repeat=options["repeat"] or 7
            )
            self.stdout.write(json.dumps(pages) if options["json"] else json.dumps(pages, indent=2))
            if not pages["within_target"]:
                self.stderr.write(
                    f"Above target: worst p95 {pages['worst_p95_ms']} ms > {pages['target_p95_ms']} ms."
                )
            return
        sizes = {
            "deals-import": ("rows", 100_000),
            "ingest": ("events", 1_000_000),
            "redirect": ("requests", 5_000),
        }
        option, default = sizes[name]
        for other, _ in sizes.values():
            if other != option and options[other] is not None:
                raise CommandError(f"--{other} does not apply to {name}; use --{option}.")
        size = default if options[option] is None else options[option]
        repeat = options["repeat"] if options["repeat"] is not None else (3 if name == "redirect" else 1)
        if size < 1 or repeat < 1:
            raise CommandError(f"--{option} and --repeat must be at least 1.")
        bench = BENCHES[name]
        if name == "redirect":
            result = bench(requests=size, keep=options["keep"], repeat=repeat)
        else:
            result = bench(rows=size, keep=options["keep"], repeat=repeat)
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        width = max(len(key) for key in result)
        for key, value in result.items():
            self.stdout.write(f"{key.ljust(width)}  {value}")
        if result["ratio"] < result["target"]:
            self.stderr.write(f"Below target: ratio {result['ratio']} < {result['target']}.")
