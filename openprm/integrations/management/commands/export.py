"""`prm export partners [--output PATH]`: write the canonical CSV (to stdout by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from openprm.core.actors import cli_actor
from openprm.integrations.formats.csvwrite import csv_lines
from openprm.integrations.selectors import partner_export

KINDS = ("partners",)


class Command(BaseCommand):
    help = "Export data as a canonical CSV file (UTF-8, header row)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="What to export.")
        parser.add_argument("--output", "-o", type=Path, help="File to write (default: standard output).")
        parser.add_argument("--workspace", default="default", help="Workspace slug (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = cli_actor(options["workspace"])
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
        self.stderr.write(f"{max(count, 0)} partner(s) written to {output}")
