"""Checking deal rows against the database: partners, programs and their stages, products, existing deals
by external id; each valid row gets the deal as it should be (every ``deals.services.bulk.DEAL_FIELDS``
value) and what to do with it. The rules of the values themselves (customer fields, approval times) are
the deals app's: ``deal_customer`` and ``approval_fields``. See ``services/deals.py`` for the import."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.deals.models import ApprovalStatus, Deal, DealLineItem, DealSource, Outcome, Product
from openprm.deals.services import program_stages
from openprm.deals.services.bulk import DEAL_FIELDS, WERE_APPROVED, approval_fields
from openprm.deals.services.conflicts import DealCustomer, deal_customer
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.dates import default_timezone
from openprm.integrations.formats.deals import DEFAULT_STAGE_MAPS, DealLayout, DealRow, norm_label
from openprm.integrations.services.runner import Action
from openprm.partners.models import Partner, PartnerProgram, Program

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SOURCES = frozenset(DealSource.values)
OPEN, LOST = str(Outcome.OPEN.value), str(Outcome.LOST.value)
APPROVAL_STATUSES = frozenset(ApprovalStatus.values)
_EXISTING_FIELDS = ("id", "public_id", *DEAL_FIELDS)


# --- reference data ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DealStage:
    id: int
    key: str
    name: str
    outcome: str
    order: int


@dataclass
class DealProgram:
    id: int
    name: str
    protection_days: int
    sla_days: int
    stages: list[DealStage]
    by_label: dict[str, DealStage]  # normalized key and name → stage

    @property
    def first(self) -> DealStage:
        return self.stages[0]

    def find(self, label: str) -> DealStage | None:
        return self.by_label.get(norm_label(label))


@dataclass(frozen=True, slots=True)
class DealProduct:
    id: int
    name: str
    price: Decimal


class DealLookups:
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
        self.program_of = self._programs_of_partners()
        default = Program.objects.order_by("-is_default", "name").first()
        self.default_program_id = default.pk if default else None
        self.programs: dict[int, DealProgram] = {}
        self.products = {
            norm_label(p.name): DealProduct(p.pk, p.name, p.list_price) for p in Product.objects.all()
        }
        self.new_product: Callable[[str], DealProduct] | None = None  # set by --create-products
        self._stages: dict[tuple[int, str], tuple[DealStage | None, str]] = {}

    @staticmethod
    def _programs_of_partners() -> dict[int, int]:
        """Partner → the program its new deals go to (as deal_register: the default, else by name)."""
        program_of: dict[int, int] = {}
        best: dict[int, tuple[bool, str]] = {}
        enrolments = PartnerProgram.objects.values_list(
            "partner_id", "program_id", "program__is_default", "program__name"
        )
        for partner_id, program_id, is_default, name in enrolments:
            rank = (not is_default, name)
            if partner_id not in best or rank < best[partner_id]:
                best[partner_id] = rank
                program_of[partner_id] = program_id
        return program_of

    def partner(self, ref: str) -> int | None:
        found = self.by_external_id.get(ref)
        if found is None:
            found = self.by_name.get(ref.lower()) or None
        return found

    def program(self, program_id: int) -> DealProgram:
        program = self.programs.get(program_id)
        if program is None:
            with unscoped():
                instance = Program.objects.get(pk=program_id)
            stages = [
                DealStage(s.pk, s.key, s.name, s.outcome, s.order) for s in program_stages(program=instance)
            ]
            by_label: dict[str, DealStage] = {}
            for stage in reversed(stages):  # the first stage wins when a name equals another's key
                by_label[norm_label(stage.name)] = stage
            for stage in reversed(stages):
                by_label[norm_label(stage.key)] = stage
            program = DealProgram(
                instance.pk,
                instance.name,
                instance.protection_days,
                instance.approval_sla_days,
                stages,
                by_label,
            )
            self.programs[program_id] = program
        return program

    def stage(self, program: DealProgram, label: str) -> tuple[DealStage | None, str]:
        """The stage a file's stage name stands for, or (None, why not); cached per program and name."""
        key = (program.id, label)
        found = self._stages.get(key)
        if found is None:
            if len(self._stages) > 10_000:  # a file full of distinct bad stage names
                self._stages.clear()
            found = self._stages[key] = self._resolve_stage(program, label)
        return found

    def _resolve_stage(self, program: DealProgram, label: str) -> tuple[DealStage | None, str]:
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


@dataclass(slots=True)
class DealItem:
    """A deal row of the file from parsing to writing (the runner's ``ImportRow``)."""

    record: CsvRecord
    row: DealRow
    duplicate: bool = False  # an earlier row has its external id
    action: Action = Action.REJECT
    values: dict[str, Any] | None = None  # the deal as it should be (every DEAL_FIELDS key)
    current: dict[str, Any] | None = None  # the deal as it is (updates)
    changed: tuple[str, ...] = ()  # fields that differ (updates)
    stage: DealStage | None = None
    first_stage: DealStage | None = None
    customer: DealCustomer | None = None
    products: list[DealProduct] | None = None  # None: the file has no products column
    products_changed: bool = False
    partner_name: str = ""
    partner_id: int | None = None
    program_id: int | None = None

    @property
    def errors(self) -> list[RowError]:
        return self.row.errors

    @property
    def key(self) -> str:
        return "" if self.row.unreadable else self.row.external_id


class DealChecker:
    """Checks batches of parsed rows and plans each valid one (see the module docstring)."""

    def __init__(
        self, *, actor: Actor, lookups: DealLookups, layout: DealLayout, default_partner: Partner | None
    ) -> None:
        self.actor = actor
        self.lookups = lookups
        self.layout = layout
        self.default_partner = default_partner
        self.now = timezone.now()
        self.tz = default_timezone()  # of the dates written without an offset
        self._approvals: dict[tuple[str, datetime.datetime, datetime.datetime, int], dict[str, Any]] = {}
        self.restricted = actor.access_scope().owner_id is not None or actor.partner_id is not None

    def check(self, items: list[DealItem]) -> None:
        ids = {item.key for item in items if item.key}
        current = self._existing(ids)
        hidden = self._hidden(ids - current.keys())
        for item in items:
            item.current = current.get(item.row.external_id)
            if not item.row.unreadable:
                self._check(item, hidden)

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

    def _error(self, item: DealItem, fld: str, message: str) -> None:
        item.row.errors.append(RowError(item.row.line, self.layout.label(fld), message))

    def _check(self, item: DealItem, hidden: set[str]) -> None:
        """Every problem of the row, in the order of its columns' meaning; then, if none, its plan."""
        row = item.row
        if row.external_id and not item.duplicate and row.external_id in hidden:
            self._error(item, "external_id", "A deal you may not change already has this external id.")
        self._partner(item)
        self._stage(item)
        source, approval = self._statuses(item)
        self._customer(item)
        self._products(item)
        registered_at, closed_at = self._dates(item)
        if not row.errors:
            self._plan(item, source, approval, registered_at, closed_at)

    def _partner(self, item: DealItem) -> None:
        row, lookups, current = item.row, self.lookups, item.current
        partner_id: int | None = None
        if row.partner_ref:
            partner_id = lookups.partner(row.partner_ref)
            if partner_id is None:
                message = f"Unknown partner '{row.partner_ref}': no partner has this external id or name."
                self._error(item, "partner", message)
        elif self.default_partner is not None:
            partner_id = self.default_partner.pk
        else:
            self._error(item, "partner", "Required: the partner this deal belongs to.")
        if partner_id in lookups.archived and current is None:
            message = f"{lookups.names[partner_id]} is archived: restore it before adding to it."
            self._error(item, "partner", message)
        if partner_id is not None:
            item.partner_name = lookups.names.get(partner_id, "")
        if current is not None and partner_id is not None and current["partner_id"] != partner_id:
            owner = lookups.names.get(current["partner_id"], "another partner")
            message = f"This deal belongs to {owner}; a re-import cannot move it to another partner."
            self._error(item, "external_id", message)
        item.partner_id = partner_id

    def _stage(self, item: DealItem) -> None:
        """The program (the deal's, else the partner's) and the stage the row names in it."""
        lookups, current = self.lookups, item.current
        program_id = current["program_id"] if current else lookups.program_of.get(item.partner_id or 0)
        program_id = program_id or lookups.default_program_id
        if program_id is None:
            self._error(item, "", "The workspace has no program.")
        elif item.partner_id is not None:
            program = lookups.program(program_id)
            item.first_stage = program.first
            item.stage, why = lookups.stage(program, item.row.stage)
            if item.stage is None:
                self._error(item, "stage", why)
        item.program_id = program_id

    def _statuses(self, item: DealItem) -> tuple[str, str]:
        """The source and approval status (the row's, else the deal's, else the defaults)."""
        row, current = item.row, item.current
        source = row.source or (current["source"] if current else DealSource.SOURCED)
        if source not in SOURCES:
            message = f"Unknown source '{row.source}'. Known: {', '.join(DealSource.values)}."
            self._error(item, "source", message)
        approval = row.approval_status or (current["approval_status"] if current else ApprovalStatus.APPROVED)
        if approval not in APPROVAL_STATUSES:
            message = f"Unknown approval status '{approval}'. Known: {', '.join(ApprovalStatus.values)}."
            self._error(item, "approval_status", message)
        if row.approved_at is not None and approval not in WERE_APPROVED:
            message = (
                f"Set, but the approval status is '{approval}': only an approved deal has an approval time."
            )
            self._error(item, "approved_at", message)
        if row.contact_email and not EMAIL_RE.match(row.contact_email):
            self._error(item, "contact_email", f"'{row.contact_email}' is not a valid e-mail address.")
        return source, approval

    def _customer(self, item: DealItem) -> None:
        """The customer as deals store it (``deal_customer``); a missing domain column keeps the deal's."""
        row, current = item.row, item.current
        raw_domain = row.customer_domain
        if raw_domain is None and current is not None and row.customer_name == current["customer_name"]:
            item.customer = DealCustomer(
                current["customer_key"], current["customer_domain"], current["customer_domain_root"], ()
            )
            return
        if raw_domain is None:
            raw_domain = current["customer_domain"] if current else ""
        item.customer = deal_customer(row.customer_name, raw_domain) if row.customer_name else None
        if item.customer is None and row.customer_name:
            self._error(item, "customer_domain", f"'{raw_domain}' is not a valid domain name.")

    def _products(self, item: DealItem) -> None:
        if item.row.products is None:
            return
        lookups = self.lookups
        item.products = []
        for name in item.row.products:
            product = lookups.products.get(norm_label(name))
            if product is None and lookups.new_product is not None and name.strip():
                product = lookups.products[norm_label(name)] = lookups.new_product(name)
            if product is None:
                message = f"Unknown product '{name}': add it to the product catalog first."
                self._error(item, "products", message)
            else:
                item.products.append(product)

    def _dates(self, item: DealItem) -> tuple[datetime.datetime, datetime.datetime | None]:
        """When the deal was registered and (won or lost) closed."""
        row, current, stage = item.row, item.current, item.stage
        registered_at = row.registered_at or (current["registered_at"] if current else self.now)
        if row.approved_at is not None and row.approved_at < registered_at:
            message = "Before the registration (registered_at): a deal is approved after it."
            self._error(item, "approved_at", message)
        closed_at: datetime.datetime | None = None
        if stage is not None and stage.outcome != OPEN:
            closed_at = row.closed_at
            if closed_at is None and row.expected_close_date is not None:
                day = row.expected_close_date
                closed_at = datetime.datetime(day.year, day.month, day.day, tzinfo=self.tz)
            if closed_at is None and current is not None:
                closed_at = self._closed_since(item, stage.outcome)
            if closed_at is None:
                column = "close_date" if "close_date" in self.layout.index else "closed_at"
                self._error(item, column, f"Required for a won or lost deal (stage '{row.stage}').")
        elif stage is not None and row.closed_at is not None and self.layout.format == "canonical":
            message = f"Set, but stage '{row.stage or stage.key}' is open: leave it blank for open deals."
            self._error(item, "closed_at", message)
        return registered_at, closed_at

    def _closed_since(self, item: DealItem, outcome: str) -> datetime.datetime | None:
        """A deal's close when the file gives none, as the stage move sets it (deal_move_stage): into the
        outcome it had (won → won, lost → lost) it keeps its close; from an open stage or from the other
        outcome (lost → won) it closes now."""
        current = item.current or {}
        program = self.lookups.program(current["program_id"])
        was = next((s.outcome for s in program.stages if s.id == current["stage_id"]), None)
        if was == outcome and current["closed_at"] is not None:
            return current["closed_at"]
        return self.now if was is not None else current["closed_at"]

    def _plan(
        self,
        item: DealItem,
        source: str,
        approval: str,
        registered_at: datetime.datetime,
        closed_at: datetime.datetime | None,
    ) -> None:
        """The deal as it should be, and whether that creates, updates or leaves it."""
        row, current, stage, customer = item.row, item.current, item.stage, item.customer
        assert stage is not None and customer is not None and item.program_id is not None
        program = self.lookups.programs[item.program_id]
        values = self._values(item, source, approval, registered_at, closed_at)
        # When an imported deal was approved: the file's approved_at, else (open deals) the import, so
        # that its protection window runs from now rather than from a registration long past.
        approved_at = row.approved_at or (registered_at if closed_at else max(registered_at, self.now))
        if current is None:
            values.update(self._approval(approval, registered_at, approved_at, program))
            values["stage_changed_at"] = closed_at or registered_at
            item.action = Action.CREATE
        else:
            if approval != current["approval_status"] or (
                row.approved_at is not None and row.approved_at != current["approved_at"]
            ):
                values.update(_approval_fields(approval, registered_at, approved_at, program))
            if stage.id != current["stage_id"]:
                values["stage_changed_at"] = closed_at or self.now
            item.changed = tuple(k for k, v in values.items() if current.get(k) != v)
            item.products_changed = (
                item.products is not None and [p.name for p in item.products] != current["products"]
            )
            for key in DEAL_FIELDS:
                values.setdefault(key, current[key])
            item.action = Action.UPDATE if item.changed or item.products_changed else Action.UNCHANGED
        item.values = values

    def _values(
        self,
        item: DealItem,
        source: str,
        approval: str,
        registered_at: datetime.datetime,
        closed_at: datetime.datetime | None,
    ) -> dict[str, Any]:
        """The fields the row sets: its cells, else (no such column) the deal's, else the defaults."""
        row, current, stage, customer = item.row, item.current, item.stage, item.customer
        assert stage is not None and customer is not None
        amount = row.amount if row.amount is not None else (current["amount"] if current else Decimal("0.00"))
        if not amount and item.products and not current:
            amount = sum((p.price for p in item.products), Decimal("0.00"))
        if self.layout.has_expected_close_column:
            expected_close = row.expected_close_date
        else:
            expected_close = current["expected_close_date"] if current else None
        lost_reason = _keep(row.lost_reason, current, "lost_reason", "") if stage.outcome == LOST else ""
        properties = (
            row.properties if row.properties is not None else (current["properties"] if current else {})
        )
        return {
            "partner_id": item.partner_id,
            "program_id": item.program_id,
            "external_id": row.external_id,
            "title": _keep(row.title, current, "title", ""),
            "customer_name": row.customer_name,
            "customer_key": customer.key,
            "customer_domain": customer.domain,
            "customer_domain_root": customer.root,
            "contact_name": _keep(row.contact_name, current, "contact_name", ""),
            "contact_email": _keep(row.contact_email, current, "contact_email", ""),
            "amount": amount,
            "currency": row.currency or (current["currency"] if current else self.lookups.currency),
            "expected_close_date": expected_close,
            "source": source,
            "stage_id": stage.id,
            "approval_status": approval,
            "registered_at": registered_at,
            "closed_at": closed_at,
            "lost_reason": lost_reason,
            "properties": properties,
        }

    def _approval(
        self,
        status: str,
        registered_at: datetime.datetime,
        approved_at: datetime.datetime,
        program: DealProgram,
    ) -> dict[str, Any]:
        key = (status, registered_at, approved_at, program.id)
        found = self._approvals.get(key)
        if found is None:
            if len(self._approvals) > 100_000:
                self._approvals.clear()
            found = self._approvals[key] = _approval_fields(status, registered_at, approved_at, program)
        return found


def _keep(value: str | None, current: dict[str, Any] | None, key: str, default: str) -> str:
    """A text cell, or (no such column) the deal's current value, or the default for a new deal."""
    if value is not None:
        return value
    return current[key] if current is not None else default


def _approval_fields(
    status: str, registered_at: datetime.datetime, approved_at: datetime.datetime, program: DealProgram
) -> dict[str, Any]:
    return approval_fields(
        status=status,
        registered_at=registered_at,
        approved_at=approved_at,
        protection_days=program.protection_days,
        sla_days=program.sla_days,
    )
