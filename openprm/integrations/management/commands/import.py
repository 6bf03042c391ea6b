"""`prm import partners|deals|activities|products FILE`: import a CSV, all or nothing unless --skip-invalid
(also the finance kinds: costs, invoices, sellthrough, company-revenue; the customer kinds: accounts,
account-changes, csat, usage; and fx-rates: the ECB reference-rate CSV, ``--overwrite`` replacing changed
rates).

Deals also come as a HubSpot deals export or a Salesforce opportunity report (``--format``), with the
partner from a column (``partner_external_id`` or ``--partner-column``) or ``--partner``, and stage names
mapped by a ``from,to`` CSV (``--stage-map``) on top of each format's defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from openprm.core.actors import Actor, cli_actor
from openprm.core.scoping import scope
from openprm.integrations.formats.csvread import CsvHeaderError, CsvRecord, RowError
from openprm.integrations.formats.csvwrite import RejectsWriter
from openprm.integrations.formats.deals import FORMATS, read_stage_map
from openprm.integrations.services.activities import activities_import
from openprm.integrations.services.customers import CUSTOMER_IMPORTS
from openprm.integrations.services.deals import deals_import, partner_by_ref
from openprm.integrations.services.finance import FINANCE_IMPORTS
from openprm.integrations.services.fx import fx_import
from openprm.integrations.services.partners import partners_import
from openprm.integrations.services.products import products_import
from openprm.integrations.services.runner import ImportResult

# The imports that take the canonical format only, and no deals options.
CANONICAL_IMPORTS: dict[str, Callable[..., ImportResult]] = {
    "partners": partners_import,
    "activities": activities_import,
    "products": products_import,
    **FINANCE_IMPORTS,  # costs, invoices, sellthrough, company-revenue
    **CUSTOMER_IMPORTS,  # accounts, account-changes, csat, usage
    "fx-rates": fx_import,  # the ECB reference-rate file (takes --overwrite)
}
KINDS = ("partners", "deals", "activities", "products", *FINANCE_IMPORTS, *CUSTOMER_IMPORTS, "fx-rates")
DEALS_OPTIONS = ("partner", "partner_column", "stage_map", "create_products")


class _ProgressBars:
    """One progress bar per stage of the import ("check", "import") on standard error, over the file's
    size in bytes; off when standard error is not a terminal."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.bars: dict[str, tqdm[Any]] = {}

    def __call__(self, stage: str, done: int) -> None:
        if stage == "committed":  # a chunked import committed ``done`` rows so far
            for shown in self.bars.values():
                shown.set_postfix_str(f"{done:,} rows committed")
            return
        bar = self.bars.get(stage)
        if bar is None:
            label = "Checking" if stage == "check" else "Importing"
            bar = self.bars[stage] = tqdm(
                total=self.size,
                desc=label,
                unit="B",
                unit_scale=True,
                file=sys.stderr,
                disable=None,
                leave=False,
            )
        bar.update(max(0, done - bar.n))

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


class _Rejects:
    """Reports every rejected record on standard error and, given a path, writes it to a rejects file
    (created on the first rejected record)."""

    def __init__(self, command: BaseCommand, path: Path | None) -> None:
        self.command = command
        self.path = path
        self.handle: IO[str] | None = None
        self.writer: RejectsWriter | None = None

    def __call__(self, header: list[str], record: CsvRecord, errors: list[RowError]) -> None:
        for error in errors:
            self.command.stderr.write(str(error))
        if self.path is None:
            return
        if self.writer is None:
            self.handle = self.path.open("w", encoding="utf-8", newline="")
            self.writer = RejectsWriter(self.handle)
        self.writer.write(header, record, errors)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


class Command(BaseCommand):
    help = (
        "Import a CSV file (partners, activities: canonical; deals: canonical, hubspot or salesforce). Every "
        "bad row is reported; nothing is imported if any is bad."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="What the file holds.")
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, header row).")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="canonical",
            help="Column layout of the file (deals only: hubspot, salesforce).",
        )
        parser.add_argument(
            "--partner",
            metavar="EXTERNAL_ID_OR_NAME",
            help="Deals: the partner of the rows without a partner cell (or of the whole file).",
        )
        parser.add_argument(
            "--partner-column",
            metavar="COLUMN",
            help="Deals: the column holding partner external ids or names (default: partner_external_id).",
        )
        parser.add_argument(
            "--stage-map",
            type=Path,
            metavar="FILE.csv",
            help="Deals: a CSV with a 'from,to' header mapping the file's stage names to stage keys.",
        )
        parser.add_argument(
            "--create-products",
            action="store_true",
            help="Deals: add the products the file names and the catalog lacks (list price 0).",
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
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="fx-rates: replace a stored rate the file changes (otherwise such a row is bad).",
        )
        parser.add_argument("--workspace", default="default", help="Workspace slug (default: default).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["kind"] in CANONICAL_IMPORTS:
            given = [f"--{o.replace('_', '-')}" for o in DEALS_OPTIONS if options[o]]
            if options["format"] != "canonical":
                given.insert(0, f"--format {options['format']}")
            if given:
                raise CommandError(
                    f"{options['kind'].title()} are imported from the canonical format only: "
                    f"drop {', '.join(given)}."
                )
        rejects_path: Path | None = options["rejects"]
        if rejects_path is None and options["skip_invalid"]:
            rejects_path = path.with_name(f"{path.stem}.rejects.csv")
        actor = cli_actor(options["workspace"])
        progress = _ProgressBars(path.stat().st_size)
        rejects = _Rejects(self, rejects_path)
        try:
            with path.open("rb") as stream, scope(actor.access_scope()):
                result = self._import(actor, stream, options, progress, rejects)
        except CsvHeaderError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        finally:
            progress.close()
            rejects.close()

        if rejects.writer is not None:
            self.stderr.write(f"{rejects.writer.count} rejected row(s) written to {rejects_path}")
        if result.interrupted:
            raise CommandError("; ".join(str(error) for error in result.errors[-2:]))
        if result.refused:
            raise CommandError(
                f"Import refused: {result.rejected} bad row(s) of {result.rows}; nothing was imported. "
                "Fix them, or use --skip-invalid to import the valid rows."
            )
        self.stdout.write(result.summary())

    def _import(
        self,
        actor: Actor,
        stream: IO[bytes],
        options: dict[str, Any],
        progress: _ProgressBars,
        rejects: _Rejects,
    ) -> ImportResult:
        common = {
            "actor": actor,
            "stream": stream,
            "skip_invalid": options["skip_invalid"],
            "dry_run": options["dry_run"],
            "on_progress": progress,
            "on_reject": rejects,
        }
        canonical = CANONICAL_IMPORTS.get(options["kind"])
        if options["overwrite"] and options["kind"] != "fx-rates":
            raise CommandError("--overwrite is for fx-rates only.")
        if options["kind"] == "fx-rates":
            return fx_import(overwrite=options["overwrite"], **common)
        if canonical is not None:
            return canonical(**common)
        return deals_import(**self._deals_options(actor, options), **common)

    def _deals_options(self, actor: Actor, options: dict[str, Any]) -> dict[str, Any]:
        """The deals import's own arguments: the default partner and the stage map looked up."""
        partner = None
        if options["partner"]:
            partner = partner_by_ref(actor=actor, ref=options["partner"])
            if partner is None:
                raise CommandError(f"No partner with the external id or name '{options['partner']}'.")
        stage_map = None
        map_path: Path | None = options["stage_map"]
        if map_path is not None:
            if not map_path.is_file():
                raise CommandError(f"No such file: {map_path}")
            with map_path.open("rb") as handle:
                try:
                    stage_map = read_stage_map(handle)
                except CsvHeaderError as exc:
                    raise CommandError(f"{map_path}: {exc}") from exc
        return {
            "format": options["format"],
            "default_partner": partner,
            "partner_column": options["partner_column"],
            "stage_map": stage_map,
            "create_products": options["create_products"],
        }
