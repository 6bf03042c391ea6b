"""`prm export partners [--output PATH]`: write the canonical CSV (to stdout by default).
`prm export scorecards --period YYYY-MM --format csv|xlsx [--output PATH]`: every partner's scorecard.
`prm export costs|invoices|sellthrough|company-revenue [--output PATH]`: the finance CSVs (re-importable)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from openprm.core.actors import cli_actor
from openprm.integrations.formats.csvwrite import csv_lines
from openprm.integrations.selectors import partner_export
from openprm.integrations.selectors.finance import FINANCE_EXPORTS, finance_export

KINDS = ("partners", "scorecards", *FINANCE_EXPORTS)


class Command(BaseCommand):
    help = "Export data as a canonical CSV file (UTF-8, header row)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="What to export.")
        parser.add_argument("--output", "-o", type=Path, help="File to write (default: standard output).")
        parser.add_argument("--workspace", default="default", help="Workspace slug (default: default).")
        parser.add_argument("--period", help="scorecards: YYYY-MM, YYYY-Qn or YYYY (default: this month).")
        parser.add_argument("--format", default="csv", choices=("csv", "xlsx"), help="scorecards' format.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = cli_actor(options["workspace"])
        if options["kind"] == "scorecards":
            self._scorecards(actor, options)
            return
        if options["kind"] in FINANCE_EXPORTS:  # costs, invoices, sellthrough, company-revenue
            lines = csv_lines(finance_export(actor=actor, kind=options["kind"]))
        else:
            lines = csv_lines(partner_export(actor=actor))
        output: Path | None = options["output"]
        if output is None:
            for line in lines:
                self.stdout.write(line, ending="")
            return
        count = -1
        with output.open("w", encoding="utf-8", newline="") as handle:
            for count, line in enumerate(lines):  # noqa: B007 - the last index is the row count
                handle.write(line)
        noun = "partner(s)" if options["kind"] == "partners" else f"{options['kind']} record(s)"
        self.stderr.write(f"{max(count, 0)} {noun} written to {output}")

    def _scorecards(self, actor: Any, options: dict[str, Any]) -> None:
        """`prm export scorecards --period YYYY-MM --format csv|xlsx`: every partner's scorecard."""
        import datetime

        from django.core.management.base import CommandError

        from openprm.scorecards.exports import export_scorecards

        period = options["period"] or f"{datetime.datetime.now(datetime.UTC):%Y-%m}"
        try:
            data = export_scorecards(actor=actor, period_key=period, fmt=options["format"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        output: Path | None = options["output"]
        if output is None and options["format"] == "csv":
            self.stdout.write(data.decode("utf-8"), ending="")
            return
        if output is None:
            sys.stdout.buffer.write(data)
            return
        output.write_bytes(data)
        self.stderr.write(f"Scorecards for {period} written to {output}")
