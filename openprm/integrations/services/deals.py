"""Deal CSV imports: canonical, HubSpot deals export, Salesforce opportunity report.

Run by the shared import runner (``runner.py``) in one streaming pass in one transaction: records are
read in batches of ``BATCH_SIZE``, parsed (``formats/deals.py``), checked against the database
(``deal_checks.py``: existing deals by external id, partners, stages, products) and written straight away
by the deals bulk service (``deals.services.bulk``: a handful of statements per batch, no per-row service
call). A bad record stops the writing (unless ``skip_invalid``) but the rest of the file is still checked
so that every bad row is reported; the transaction is then rolled back, so a refused file leaves nothing
behind. A dry run (the preview) checks without writing.

What an imported deal gets, and how it differs from ``deal_register``:

* it is an *approved* registration, unless an ``approval_status`` column says otherwise. It was approved
  (``approved_at`` = ``decided_at``, the protection window runs from then) at the time in the file's
  ``approved_at`` column; without one, an open deal at the time of the import (so historical open
  registrations are not all expired by the next ``deals_expire`` run) and a won or lost deal at its
  ``registered_at``. A re-import changes the approval time only when ``approved_at`` (or the status)
  changes;
* ``registered_at`` from the file (default: the time of the import); stage history ``registered_at`` →
  the program's first stage, then, if the file's stage is another one, a change to it at ``closed_at``
  for won/lost deals (``closed_at`` is required for those: the file's close date, else its expected
  close date) or at ``registered_at`` for open deals (the file does not say when they moved);
* it is written by the deals bulk service (``deals.services.bulk``), with what ``deal_register`` writes:
  its customer's blocking keys in the conflict index, one audit entry, and a conflict check — batched,
  one candidate query per batch — when it is in play (open, neither rejected nor expired). A conflict is
  stored only when one of the two deals awaits a decision (two approved CRM deals for one customer inform
  no decision); the result counts them (``conflicts``) and the summary names them. Updates of existing
  deals are audited field by field, as ``deal_update`` records them.

Re-importing is idempotent by external id: a known deal is updated in place (stage, amount, dates,
customer, properties, products...), a stage change appends a ``DealStageChange`` (at ``closed_at`` when it
closes, else at the time of the import), nothing is ever duplicated, and a deal cannot move to another
partner. A blank cell clears its field (a blank amount is 0), except ``registered_at``, source and
approval status, which keep the deal's value; a missing column leaves its field unchanged.

An import that wrote 1,000 deals or more ANALYZEs the tables it wrote once it commits (PostgreSQL;
``core.bulk.analyze_tables``): the first registrations after it are then checked for conflicts on
current statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO

from django.db import models

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.deals.services import products_ensure
from openprm.deals.services.bulk import QUANTITY_ONE, DealBulkWriter, DealChange, DealCreate, Line
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.deals import (
    FORMATS,
    DealLayout,
    is_salesforce_footer,
    parse_deal_row,
)
from openprm.integrations.services.deal_checks import DealChecker, DealItem, DealLookups, DealProduct
from openprm.integrations.services.runner import (
    Action,
    ImportResult,
    ProgressCallback,
    RejectCallback,
    Written,
    import_run,
)
from openprm.partners.models import Partner

BATCH_SIZE = 5_000  # rows checked and written at a time: per-batch queries are few, memory bounded

__all__ = ["FORMATS", "DealImport", "DealImportResult", "DealPreviewRow", "deals_import", "partner_by_ref"]


@dataclass
class DealPreviewRow:
    line: int
    action: Action
    external_id: str
    partner: str
    customer: str
    amount: str
    currency: str
    stage: str
    errors: list[RowError] = field(default_factory=list)


@dataclass
class DealImportResult(ImportResult):
    format: str = "canonical"
    stage_changes: int = 0  # stage history rows written
    conflicts: int = 0  # conflicts with other partners' deals found (stored or refreshed)

    @property
    def deal_preview(self) -> list[DealPreviewRow]:
        return self.preview

    def summary(self) -> str:
        found = f", conflicts {self.conflicts}" if self.conflicts else ""
        return super().summary() + found


def partner_by_ref(*, actor: Actor, ref: str) -> Partner | None:
    """The partner (in the actor's scope) with this external id, else with this exact name (any case)."""
    ref = ref.strip()
    if not ref:
        return None
    partner = Partner.objects.filter(external_id=ref).first()
    if partner is None:
        named = list(Partner.objects.filter(name__iexact=ref)[:2])
        partner = named[0] if len(named) == 1 else None
    return partner


class DealImport:
    """The deals format of the runner (``runner.ImportFormat``): rows are checked by ``DealChecker`` and
    written by the deals bulk service as soon as their batch is checked (one read of the file; a refused
    file is rolled back)."""

    batch_size = BATCH_SIZE
    check_first = False

    def __init__(
        self,
        *,
        actor: Actor,
        format: str,
        lookups: DealLookups,
        default_partner: Partner | None,
        partner_column: str | None,
    ) -> None:
        self.actor = actor
        self.format = format
        self.lookups = lookups
        self.default_partner = default_partner
        self.partner_column = partner_column
        self.checker: DealChecker | None = None
        self.writer: DealBulkWriter | None = None  # made by the first write

    def read_header(self, header: list[str]) -> None:
        layout = DealLayout.parse(
            header,
            format=self.format,
            partner_column=self.partner_column,
            has_default_partner=self.default_partner is not None,
        )
        self.checker = DealChecker(
            actor=self.actor, lookups=self.lookups, layout=layout, default_partner=self.default_partner
        )

    def parse(self, record: CsvRecord) -> DealItem | None:
        assert self.checker is not None
        layout = self.checker.layout
        if layout.format == "salesforce" and record.values and is_salesforce_footer(record.values):
            return None
        return DealItem(record, parse_deal_row(layout, record, self.checker.tz))

    def duplicate(self, row: DealItem, first_line: int) -> RowError:
        assert self.checker is not None
        row.duplicate = True
        message = f"Duplicate external id '{row.row.external_id}': already used on line {first_line}."
        return RowError(row.row.line, self.checker.layout.label("external_id"), message)

    def validate(self, rows: list[DealItem]) -> None:
        assert self.checker is not None
        self.checker.check(rows)

    def write(self, rows: list[DealItem], *, dry_run: bool) -> Written:
        if not dry_run:
            if self.writer is None:
                self.writer = DealBulkWriter(actor=self.actor)
            self.writer.write(
                creates=[_create(item) for item in rows if item.action is Action.CREATE],
                updates=[_change(item) for item in rows if item.action is Action.UPDATE],
            )
        return Written.of([item.action for item in rows])

    def preview(self, row: DealItem) -> DealPreviewRow:
        parsed = row.row
        return DealPreviewRow(
            line=parsed.line,
            action=row.action,
            external_id=parsed.external_id,
            partner=row.partner_name or parsed.partner_ref,
            customer=parsed.customer_name,
            amount="" if parsed.amount is None else str(parsed.amount),
            currency=(row.values or {}).get("currency", parsed.currency),
            stage=row.stage.name if row.stage else parsed.stage,
            errors=list(parsed.errors),
        )

    def tables(self) -> Sequence[type[models.Model]]:
        return self.writer.tables if self.writer is not None else []


def _lines(products: list[DealProduct] | None) -> list[Line]:
    return [(p.id, p.name, QUANTITY_ONE, p.price) for p in products or ()]


def _create(item: DealItem) -> DealCreate:
    assert item.values is not None
    return DealCreate(values=item.values, lines=_lines(item.products))


def _change(item: DealItem) -> DealChange:
    assert item.values is not None and item.current is not None
    return DealChange(
        current=item.current,
        values=item.values,
        changed=item.changed,
        lines=_lines(item.products) if item.products_changed else None,
        products_before=item.current.get("products", []),
    )


def deals_import(
    *,
    actor: Actor,
    stream: IO[bytes],
    format: str = "canonical",
    default_partner: Partner | None = None,
    partner_column: str | None = None,
    stage_map: dict[str, str] | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
    create_products: bool = False,
) -> DealImportResult:
    """Import a deals CSV (see the module docstring) from a seekable binary stream.

    ``default_partner`` owns the rows without a partner cell; ``partner_column`` names the column holding
    partner external ids (or names) when it is not ``partner_external_id``; ``stage_map`` maps the file's
    stage names (normalized with ``norm_label``) to stage keys or names and wins over the format's
    defaults. Raises CsvHeaderError when the file cannot be read at all. ``refused`` is set, and nothing
    written, when a record is bad and ``skip_invalid`` is false. ``on_reject`` is called for every bad
    record, in file order. ``create_products`` adds the products the file names and the catalog lacks
    (list price 0, audited; rolled back with a refused file, not created by a dry run).
    """
    actor.require(Perm.PARTNER_IMPORT)
    actor.require(Perm.PARTNER_EDIT)
    lookups = DealLookups(actor, format if format in FORMATS else "canonical", stage_map or {})
    if create_products:
        lookups.new_product = _product_creator(actor, dry_run)
    fmt = DealImport(
        actor=actor,
        format=format,
        lookups=lookups,
        default_partner=default_partner,
        partner_column=partner_column,
    )
    result = import_run(
        fmt=fmt,
        stream=stream,
        result=DealImportResult(format=format),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        on_progress=on_progress,
        on_reject=on_reject,
    )
    if fmt.writer is not None and not result.refused:
        result.stage_changes = fmt.writer.stage_changes
        result.conflicts = fmt.writer.conflicts
    return result


def _product_creator(actor: Actor, dry_run: bool) -> Callable[[str], DealProduct]:
    def create(name: str) -> DealProduct:
        if dry_run:
            return DealProduct(0, name.strip(), Decimal(0))
        product = products_ensure(actor=actor, names=[name])[name.strip().lower()]
        return DealProduct(product.pk, product.name, product.list_price)

    return create
