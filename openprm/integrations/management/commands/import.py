"""`prm import partners FILE`: import a canonical CSV file, all or nothing unless --skip-invalid."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from openprm.core.scoping import scope
from openprm.integrations.formats import CsvHeaderError, CsvRecord, RejectsWriter, RowError
from openprm.integrations.management.commands._common import cli_actor
from openprm.integrations.services import partners_import

KINDS = ("partners",)
FORMATS = ("canonical",)


class Command(BaseCommand):
    help = (
        "Import a CSV file (canonical format). Every bad row is reported; nothing is imported if any is bad."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="What the file holds.")
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, header row).")
        parser.add_argument(
            "--format", choices=FORMATS, default="canonical", help="Column layout of the file."
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and write the bad ones to a rejects file, instead of refusing.",
        )
        parser.add_argument(
            "--rejects",
            type=Path,
            help="Where to write rejected rows (default with --skip-invalid: FILE.rejects.csv next to FILE).",
        )
        parser.add_argument("--workspace", default="default", help="Workspace slug (default: default).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        rejects_path: Path | None = options["rejects"]
        if rejects_path is None and options["skip_invalid"]:
            rejects_path = path.with_name(f"{path.stem}.rejects.csv")
        actor = cli_actor(options["workspace"])
        size = path.stat().st_size
        bars: dict[str, tqdm[Any]] = {}

        def progress(stage: str, done: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                label = "Checking" if stage == "check" else "Importing"
                bar = bars[stage] = tqdm(
                    total=size,
                    desc=label,
                    unit="B",
                    unit_scale=True,
                    file=sys.stderr,
                    disable=None,
                    leave=False,
                )
            bar.update(max(0, done - bar.n))

        rejects_file: IO[str] | None = None
        writer: RejectsWriter | None = None

        def reject(header: list[str], record: CsvRecord, errors: list[RowError]) -> None:
            nonlocal rejects_file, writer
            for error in errors:
                self.stderr.write(str(error))
            if rejects_path is not None:
                if writer is None:
                    rejects_file = rejects_path.open("w", encoding="utf-8", newline="")
                    writer = RejectsWriter(rejects_file)
                writer.write(header, record, errors)

        try:
            with path.open("rb") as stream, scope(actor.access_scope()):
                result = partners_import(
                    actor=actor,
                    stream=stream,
                    skip_invalid=options["skip_invalid"],
                    dry_run=options["dry_run"],
                    on_progress=progress,
                    on_reject=reject,
                )
        except CsvHeaderError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        finally:
            for bar in bars.values():
                bar.close()
            if rejects_file is not None:
                rejects_file.close()

        if writer is not None and rejects_path is not None:
            self.stderr.write(f"{writer.count} rejected row(s) written to {rejects_path}")
        if result.refused:
            raise CommandError(
                f"Import refused: {result.rejected} bad row(s) of {result.rows}; nothing was imported. "
                "Fix them, or use --skip-invalid to import the valid rows."
            )
        self.stdout.write(result.summary())
