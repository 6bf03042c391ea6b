"""Deal CSV imports: canonical, HubSpot deals export, Salesforce opportunity report.

One streaming pass in one transaction. Records are read in batches of ``BATCH_SIZE``; each batch is
checked against the database (existing deals by external id, partners, stages, products) and written
straight away by the deals bulk service (a handful of statements per batch, no per-row service call). A
bad record stops the writing (unless ``skip_invalid``) but the rest of the file is still checked so that
every bad row is reported; the transaction is then rolled back, so a refused file leaves nothing
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

import contextlib
import datetime
import gc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.bulk import analyze_tables
from openprm.core.models import Workspace
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.deals.models import ApprovalStatus, Deal, DealLineItem, DealSource, Outcome, Product
from openprm.deals.services import products_ensure, program_stages
from openprm.deals.services.bulk import (
    DEAL_FIELDS,
    QUANTITY_ONE,
    WERE_APPROVED,
    DealBulkWriter,
    DealChange,
    DealCreate,
    approval_fields,
)
from openprm.deals.services.conflicts import DealCustomer, deal_customer
from openprm.integrations.formats.csvread import CsvRecord, CsvSource, RowError
from openprm.integrations.formats.deals import (
    DEFAULT_STAGE_MAPS,
    FORMATS,
    DealLayout,
    DealRow,
    default_timezone,
    is_salesforce_footer,
    norm_label,
    parse_deal_row,
)
from openprm.integrations.services.partners import (
    MAX_KEPT_ERRORS,
    Action,
    ImportResult,
    ProgressCallback,
    RejectCallback,
)
from openprm.partners.models import Partner, PartnerProgram, Program

BATCH_SIZE = 5000  # rows checked and written at a time: fewer round trips, bounded memory
PREVIEW_ROWS = 20
PROGRESS_EVERY = 1000
CUSTOMER_CACHE_SIZE = 50_000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SOURCES = frozenset(DealSource.values)
OPEN, LOST = str(Outcome.OPEN.value), str(Outcome.LOST.value)
APPROVAL_STATUSES = frozenset(ApprovalStatus.values)

__all__ = ["FORMATS", "DealImportResult", "DealPreviewRow", "deals_import", "partner_by_ref"]


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
    deal_preview: list[DealPreviewRow] = field(default_factory=list)
    stage_changes: int = 0  # stage history rows written
    conflicts: int = 0  # conflicts with other partners' deals found (stored or refreshed)

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


# --- reference data ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stage:
    id: int
    key: str
    name: str
    outcome: str
    order: int


@dataclass
class _Program:
    id: int
    name: str
    protection_days: int
    sla_days: int
    stages: list[_Stage]
    by_label: dict[str, _Stage]  # normalized key and name → stage

    @property
    def first(self) -> _Stage:
        return self.stages[0]

    def find(self, label: str) -> _Stage | None:
        return self.by_label.get(norm_label(label))


@dataclass(frozen=True, slots=True)
class _Product:
    id: int
    name: str
    price: Decimal


class _Lookups:
    """Partners, programs with their stages, products and the currency, loaded once per import."""

    def __init__(self, actor: Actor, format: str, stage_map: dict[str, str]) -> None:
        self.format = format
        self.stage_map = stage_map
        self.default_stages = DEFAULT_STAGE_MAPS[format]
        self.currency = Workspace.objects.get(pk=actor.workspace_id).currency
        self.by_external_id: dict[str, int] = {}
        self.by_name: dict[str, int] = {}  # lower-cased name → id; 0 when several partners share it
        self.names: dict[int, str] = {}
        self.archived: set[int] = set()  # new business for them is refused, as deal_register does
        for pk, external_id, name, archived_at in Partner.objects.values_list(
            "id", "external_id", "name", "archived_at"
        ):
            self.names[pk] = name
            if archived_at:
                self.archived.add(pk)
            if external_id:
                self.by_external_id[external_id] = pk
            key = name.strip().lower()
            self.by_name[key] = 0 if key in self.by_name else pk
        self.program_of: dict[int, int] = {}  # partner → program its new deals go to (as deal_register)
        enrolments = PartnerProgram.objects.values_list(
            "partner_id", "program_id", "program__is_default", "program__name"
        )
        best: dict[int, tuple[bool, str]] = {}
        for partner_id, program_id, is_default, name in enrolments:
            rank = (not is_default, name)
            if partner_id not in best or rank < best[partner_id]:
                best[partner_id] = rank
                self.program_of[partner_id] = program_id
        default = Program.objects.order_by("-is_default", "name").first()
        self.default_program_id = default.pk if default else None
        self.programs: dict[int, _Program] = {}
        self.products = {
            norm_label(p.name): _Product(p.pk, p.name, p.list_price) for p in Product.objects.all()
        }
        self.new_product: Callable[[str], _Product] | None = None  # set by --create-products
        self._stages: dict[tuple[int, str], tuple[_Stage | None, str]] = {}

    def partner(self, ref: str) -> int | None:
        found = self.by_external_id.get(ref)
        if found is None:
            found = self.by_name.get(ref.lower()) or None
        return found

    def program(self, program_id: int) -> _Program:
        program = self.programs.get(program_id)
        if program is None:
            with unscoped():
                instance = Program.objects.get(pk=program_id)
            stages = [
                _Stage(s.pk, s.key, s.name, s.outcome, s.order) for s in program_stages(program=instance)
            ]
            by_label: dict[str, _Stage] = {}
            for stage in reversed(stages):  # the first stage wins when a name equals another's key
                by_label[norm_label(stage.name)] = stage
            for stage in reversed(stages):
                by_label[norm_label(stage.key)] = stage
            program = _Program(
                instance.pk,
                instance.name,
                instance.protection_days,
                instance.approval_sla_days,
                stages,
                by_label,
            )
            self.programs[program_id] = program
        return program

    def stage(self, program: _Program, label: str) -> tuple[_Stage | None, str]:
        """The stage a file's stage name stands for, or (None, why not); cached per program and name."""
        key = (program.id, label)
        found = self._stages.get(key)
        if found is None:
            if len(self._stages) > 10_000:  # a file full of distinct bad stage names
                self._stages.clear()
            found = self._stages[key] = self._resolve_stage(program, label)
        return found

    def _resolve_stage(self, program: _Program, label: str) -> tuple[_Stage | None, str]:
        if not label:
            return program.first, ""
        key = norm_label(label)
        mapped = self.stage_map.get(key)
        if mapped is not None:
            stage = program.find(mapped)
            if stage is None:
                return None, (
                    f"'{label}' maps to '{mapped}' in the stage map, which is not a stage of "
                    f"{program.name} ({', '.join(s.key for s in program.stages)})."
                )
            return stage, ""
        default = self.default_stages.get(key)
        stage = (program.find(default) if default else None) or program.find(label)
        if stage is None:
            known = ", ".join(s.key for s in program.stages)
            return None, f"Unknown stage '{label}'. Known: {known}; or map it with a stage map (from,to)."
        return stage, ""


# --- checking ------------------------------------------------------------------------------------------

_EXISTING_FIELDS = ("id", "public_id", *DEAL_FIELDS)


@dataclass(slots=True)
class _Checked:
    row: DealRow
    record: CsvRecord
    action: Action
    values: dict[str, Any] | None = None  # the deal as it should be (every _DEAL_FIELDS key)
    current: dict[str, Any] | None = None  # the deal as it is (updates)
    changed: tuple[str, ...] = ()  # fields that differ (updates)
    stage: _Stage | None = None
    first_stage: _Stage | None = None
    customer: DealCustomer | None = None
    products: list[_Product] | None = None  # None: the file has no products column
    products_changed: bool = False
    partner_name: str = ""


class _Checker:
    def __init__(
        self, *, actor: Actor, lookups: _Lookups, layout: DealLayout, default_partner: Partner | None
    ) -> None:
        self.actor = actor
        self.lookups = lookups
        self.layout = layout
        self.default_partner = default_partner
        self.now = timezone.now()
        self.tz = default_timezone()
        self.seen: dict[str, int] = {}  # external id → first line
        self._approvals: dict[tuple[str, datetime.datetime, datetime.datetime, int], dict[str, Any]] = {}
        self.restricted = actor.access_scope().owner_id is not None or actor.partner_id is not None

    def records(self, source: CsvSource) -> Iterator[CsvRecord]:
        salesforce = self.layout.format == "salesforce"
        for record in source.records():
            if salesforce and record.values and is_salesforce_footer(record.values):
                continue
            yield record

    def check(self, records: list[CsvRecord]) -> list[_Checked]:
        rows = [parse_deal_row(self.layout, record, self.tz) for record in records]
        ids = {row.external_id for row in rows if row.external_id and not row.unreadable}
        current = self._existing(ids)
        hidden = self._hidden(ids - current.keys())
        return [
            self._check_row(record, row, current.get(row.external_id), hidden)
            for record, row in zip(records, rows, strict=True)
        ]

    def _existing(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        found = {
            d["external_id"]: d
            # No ORDER BY: with the default one SQLite walks the whole (workspace, registered_at) index
            # per batch instead of looking the ids up in the external-id index (quadratic imports).
            for d in Deal.objects.filter(external_id__in=ids).order_by().values(*_EXISTING_FIELDS)
        }
        if found and "products" in self.layout.index:
            by_id = {d["id"]: d for d in found.values()}
            for deal in by_id.values():
                deal["products"] = []
            lines = DealLineItem.objects.filter(deal_id__in=list(by_id)).order_by("id")
            for deal_id, name in lines.values_list("deal_id", "product_name"):
                by_id[deal_id]["products"].append(name)
        return found

    def _hidden(self, missing: set[str]) -> set[str]:
        """External ids of deals the actor may not see (another manager's partners)."""
        if not missing or not self.restricted:
            return set()
        with unscoped():
            clashes = Deal.objects.filter(
                workspace_id=self.actor.workspace_id, external_id__in=missing
            ).order_by()
            return {ext for ext in clashes.values_list("external_id", flat=True) if ext}

    def _approval(
        self, status: str, registered_at: datetime.datetime, approved_at: datetime.datetime, program: _Program
    ) -> dict[str, Any]:
        key = (status, registered_at, approved_at, program.id)
        found = self._approvals.get(key)
        if found is None:
            if len(self._approvals) > 100_000:
                self._approvals.clear()
            found = self._approvals[key] = _approval_fields(status, registered_at, approved_at, program)
        return found

    def _check_row(
        self, record: CsvRecord, row: DealRow, current: dict[str, Any] | None, hidden: set[str]
    ) -> _Checked:
        checked = _Checked(row, record, Action.REJECT, current=current)
        if row.unreadable:
            return checked
        layout, lookups, errors, line = self.layout, self.lookups, row.errors, row.line

        def error(fld: str, message: str) -> None:
            errors.append(RowError(line, layout.label(fld), message))

        if row.external_id:
            first = self.seen.setdefault(row.external_id, line)
            if first != line:
                error(
                    "external_id", f"Duplicate external id '{row.external_id}': already used on line {first}."
                )
            elif row.external_id in hidden:
                error("external_id", "A deal you may not change already has this external id.")

        partner_id: int | None = None
        if row.partner_ref:
            partner_id = lookups.partner(row.partner_ref)
            if partner_id is None:
                error(
                    "partner",
                    f"Unknown partner '{row.partner_ref}': no partner has this external id or name.",
                )
        elif self.default_partner is not None:
            partner_id = self.default_partner.pk
        else:
            error("partner", "Required: the partner this deal belongs to.")
        if partner_id in lookups.archived and current is None:
            error("partner", f"{lookups.names[partner_id]} is archived: restore it before adding to it.")
        if partner_id is not None:
            checked.partner_name = lookups.names.get(partner_id, "")
        if current is not None and partner_id is not None and current["partner_id"] != partner_id:
            owner = lookups.names.get(current["partner_id"], "another partner")
            error(
                "external_id", f"This deal belongs to {owner}; a re-import cannot move it to another partner."
            )

        program_id = current["program_id"] if current else lookups.program_of.get(partner_id or 0)
        program_id = program_id or lookups.default_program_id
        stage: _Stage | None = None
        if program_id is None:
            error("", "The workspace has no program.")
        elif partner_id is not None:
            program = lookups.program(program_id)
            checked.first_stage = program.first
            stage, why = lookups.stage(program, row.stage)
            if stage is None:
                error("stage", why)
        checked.stage = stage

        source = row.source or (current["source"] if current else DealSource.SOURCED)
        if source not in SOURCES:
            error("source", f"Unknown source '{row.source}'. Known: {', '.join(DealSource.values)}.")
        approval = row.approval_status or (current["approval_status"] if current else ApprovalStatus.APPROVED)
        if approval not in APPROVAL_STATUSES:
            error(
                "approval_status",
                f"Unknown approval status '{approval}'. Known: {', '.join(ApprovalStatus.values)}.",
            )
        if row.approved_at is not None and approval not in WERE_APPROVED:
            error(
                "approved_at",
                f"Set, but the approval status is '{approval}': only an approved deal has an approval time.",
            )
        if row.contact_email and not EMAIL_RE.match(row.contact_email):
            error("contact_email", f"'{row.contact_email}' is not a valid e-mail address.")

        raw_domain = row.customer_domain
        customer: DealCustomer | None
        if raw_domain is None and current is not None and row.customer_name == current["customer_name"]:
            customer = DealCustomer(
                current["customer_key"], current["customer_domain"], current["customer_domain_root"], ()
            )
        else:
            if raw_domain is None:
                raw_domain = current["customer_domain"] if current else ""
            customer = deal_customer(row.customer_name, raw_domain) if row.customer_name else None
            if customer is None and row.customer_name:
                error("customer_domain", f"'{raw_domain}' is not a valid domain name.")
        checked.customer = customer

        products: list[_Product] | None = None
        if row.products is not None:
            products = []
            for name in row.products:
                product = lookups.products.get(norm_label(name))
                if product is None and lookups.new_product is not None and name.strip():
                    product = lookups.products[norm_label(name)] = lookups.new_product(name)
                if product is None:
                    error("products", f"Unknown product '{name}': add it to the product catalog first.")
                else:
                    products.append(product)
        checked.products = products

        registered_at = row.registered_at or (current["registered_at"] if current else self.now)
        if row.approved_at is not None and row.approved_at < registered_at:
            error("approved_at", "Before the registration (registered_at): a deal is approved after it.")
        closed_at: datetime.datetime | None = None
        if stage is not None and stage.outcome != OPEN:
            closed_at = row.closed_at
            if closed_at is None and row.expected_close_date is not None:
                day = row.expected_close_date
                closed_at = datetime.datetime(day.year, day.month, day.day, tzinfo=self.tz)
            if closed_at is None and current is not None:
                closed_at = current["closed_at"]
            if closed_at is None:
                column = "close_date" if "close_date" in layout.index else "closed_at"
                error(column, f"Required for a won or lost deal (stage '{row.stage}').")
        elif stage is not None and row.closed_at is not None and layout.format == "canonical":
            error(
                "closed_at",
                f"Set, but stage '{row.stage or stage.key}' is open: leave it blank for open deals.",
            )
        if errors:
            return checked

        assert (
            stage is not None and customer is not None and partner_id is not None and program_id is not None
        )
        program = lookups.programs[program_id]
        amount = row.amount if row.amount is not None else (current["amount"] if current else Decimal("0.00"))
        if not amount and products and not current:
            amount = sum((p.price for p in products), Decimal("0.00"))
        values: dict[str, Any] = {
            "partner_id": partner_id,
            "program_id": program_id,
            "external_id": row.external_id,
            "title": _keep(row.title, current, "title", ""),
            "customer_name": row.customer_name,
            "customer_key": customer.key,
            "customer_domain": customer.domain,
            "customer_domain_root": customer.root,
            "contact_name": _keep(row.contact_name, current, "contact_name", ""),
            "contact_email": _keep(row.contact_email, current, "contact_email", ""),
            "amount": amount,
            "currency": row.currency or (current["currency"] if current else lookups.currency),
            "expected_close_date": row.expected_close_date
            if layout.has_expected_close_column
            else (current["expected_close_date"] if current else None),
            "source": source,
            "stage_id": stage.id,
            "approval_status": approval,
            "registered_at": registered_at,
            "closed_at": closed_at,
            "lost_reason": _keep(row.lost_reason, current, "lost_reason", "")
            if stage.outcome == LOST
            else "",
            "properties": row.properties
            if row.properties is not None
            else (current["properties"] if current else {}),
        }
        # When an imported deal was approved: the file's approved_at, else (open deals) the import, so
        # that its protection window runs from now rather than from a registration long past.
        approved_at = row.approved_at or (registered_at if closed_at else max(registered_at, self.now))
        if current is None:
            values.update(self._approval(approval, registered_at, approved_at, program))
            values["stage_changed_at"] = closed_at or registered_at
            checked.action = Action.CREATE
        else:
            if approval != current["approval_status"] or (
                row.approved_at is not None and row.approved_at != current["approved_at"]
            ):
                values.update(_approval_fields(approval, registered_at, approved_at, program))
            if stage.id != current["stage_id"]:
                values["stage_changed_at"] = closed_at or self.now
            changed = tuple(k for k, v in values.items() if current.get(k) != v)
            checked.products_changed = (
                products is not None and [p.name for p in products] != current["products"]
            )
            checked.changed = changed
            for key in DEAL_FIELDS:
                values.setdefault(key, current[key])
            checked.action = Action.UPDATE if changed or checked.products_changed else Action.UNCHANGED
        checked.values = values
        return checked


def _keep(value: str | None, current: dict[str, Any] | None, key: str, default: str) -> str:
    """A text cell, or (no such column) the deal's current value, or the default for a new deal."""
    if value is not None:
        return value
    return current[key] if current is not None else default


def _approval_fields(
    status: str, registered_at: datetime.datetime, approved_at: datetime.datetime, program: _Program
) -> dict[str, Any]:
    return approval_fields(
        status=status,
        registered_at=registered_at,
        approved_at=approved_at,
        protection_days=program.protection_days,
        sla_days=program.sla_days,
    )


# --- writing -------------------------------------------------------------------------------------------


def _lines(products: list[_Product] | None) -> list[tuple[int | None, str, Decimal, Decimal]]:
    return [(p.id, p.name, QUANTITY_ONE, p.price) for p in products or ()]


class _Writer:
    """Hands the checked batches to the deals bulk service."""

    def __init__(self, actor: Actor) -> None:
        self.bulk = DealBulkWriter(actor=actor)

    def write(self, batch: list[_Checked]) -> None:
        creates: list[DealCreate] = []
        updates: list[DealChange] = []
        for checked in batch:
            values = checked.values
            if checked.action is Action.CREATE:
                assert values is not None
                creates.append(DealCreate(values=values, lines=_lines(checked.products)))
            elif checked.action is Action.UPDATE:
                assert values is not None and checked.current is not None
                updates.append(
                    DealChange(
                        current=checked.current,
                        values=values,
                        changed=checked.changed,
                        lines=_lines(checked.products) if checked.products_changed else None,
                        products_before=checked.current.get("products", []),
                    )
                )
        self.bulk.write(creates=creates, updates=updates)


# --- the import ----------------------------------------------------------------------------------------


class _Refused(Exception):
    """Raised inside the transaction to roll it back: the file has bad rows."""


def _preview(checked: _Checked) -> DealPreviewRow:
    row = checked.row
    return DealPreviewRow(
        line=row.line,
        action=checked.action,
        external_id=row.external_id,
        partner=checked.partner_name or row.partner_ref,
        customer=row.customer_name,
        amount="" if row.amount is None else str(row.amount),
        currency=(checked.values or {}).get("currency", row.currency),
        stage=checked.stage.name if checked.stage else row.stage,
        errors=list(row.errors),
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
    with _no_cyclic_gc():
        return _deals_import(
            actor=actor,
            stream=stream,
            format=format,
            default_partner=default_partner,
            partner_column=partner_column,
            stage_map=stage_map,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            on_progress=on_progress,
            on_reject=on_reject,
            create_products=create_products,
        )


def _product_creator(actor: Actor, dry_run: bool) -> Callable[[str], _Product]:
    def create(name: str) -> _Product:
        if dry_run:
            return _Product(0, name.strip(), Decimal(0))
        product = products_ensure(actor=actor, names=[name])[name.strip().lower()]
        return _Product(product.pk, product.name, product.list_price)

    return create


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: an import allocates millions of short-lived containers, none
    in cycles (reference counting frees them), and the collector's passes over the growing heap cost
    about a third of the time. Collected once afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)


def _deals_import(
    *,
    actor: Actor,
    stream: IO[bytes],
    format: str,
    default_partner: Partner | None,
    partner_column: str | None,
    stage_map: dict[str, str] | None,
    skip_invalid: bool,
    dry_run: bool,
    on_progress: ProgressCallback | None,
    on_reject: RejectCallback | None,
    create_products: bool = False,
) -> DealImportResult:
    lookups = _Lookups(actor, format if format in FORMATS else "canonical", stage_map or {})
    if create_products:
        lookups.new_product = _product_creator(actor, dry_run)
    source = CsvSource(stream)
    result = DealImportResult(format=format, dry_run=dry_run)
    try:
        layout = DealLayout.parse(
            source.read_header(),
            format=format,
            partner_column=partner_column,
            has_default_partner=default_partner is not None,
        )
        checker = _Checker(actor=actor, lookups=lookups, layout=layout, default_partner=default_partner)
        if dry_run:
            _run(checker, None, source, result, skip_invalid, on_progress, on_reject)
            return result
        try:
            with transaction.atomic():
                writer = _Writer(actor)
                _run(checker, writer, source, result, skip_invalid, on_progress, on_reject)
                if result.rejected and not skip_invalid:
                    raise _Refused
                result.stage_changes = writer.bulk.stage_changes
                result.conflicts = writer.bulk.conflicts
                analyze_tables(*writer.bulk.tables, rows=result.created + result.updated)  # after the commit
        except _Refused:
            result.refused = True
            result.created = result.updated = result.unchanged = 0
        except IntegrityError as exc:
            message = f"Changed by someone else during the import ({exc}); nothing was imported. Try again."
            result.refused = True
            result.created = result.updated = result.unchanged = 0
            result.errors.append(RowError(0, "", message))
            result.error_count += 1
    finally:
        source.close()
    return result


def _run(
    checker: _Checker,
    writer: _Writer | None,
    source: CsvSource,
    result: DealImportResult,
    skip_invalid: bool,
    on_progress: ProgressCallback | None,
    on_reject: RejectCallback | None,
) -> None:
    stage = "check" if writer is None else "import"
    batch: list[CsvRecord] = []

    def flush() -> None:
        nonlocal writer
        checked = checker.check(batch)
        bad = False
        for item in checked:
            result.rows += 1
            if len(result.deal_preview) < PREVIEW_ROWS:
                result.deal_preview.append(_preview(item))
            if item.action is Action.REJECT:
                bad = True
                result.rejected += 1
                result.error_count += len(item.row.errors)
                room = MAX_KEPT_ERRORS - len(result.errors)
                if room > 0:
                    result.errors.extend(item.row.errors[:room])
                if on_reject is not None:
                    on_reject(source.header, item.record, item.row.errors)
            elif item.action is Action.CREATE:
                result.created += 1
            elif item.action is Action.UPDATE:
                result.updated += 1
            else:
                result.unchanged += 1
        if writer is not None and bad and not skip_invalid:
            writer = None  # the import will be refused: only check the rest
        if writer is not None:
            writer.write(checked)
        batch.clear()

    for count, record in enumerate(checker.records(source), start=1):
        batch.append(record)
        if len(batch) >= BATCH_SIZE:
            flush()
        if on_progress is not None and count % PROGRESS_EVERY == 0:
            on_progress(stage, source.bytes_read)
    if batch:
        flush()
    if on_progress is not None:
        on_progress(stage, source.bytes_read)
