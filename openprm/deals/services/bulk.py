"""The deals bulk service: a validated batch of deals written (created and updated) with what the single-deal
services write for each, in a handful of statements per batch (COPY on PostgreSQL, ``executemany`` on
SQLite) instead of a dozen queries per deal. CSV imports call it; any later bulk path should too.

Per created deal, as ``deal_register``: the deal, its stage history, its line items, its customer's
blocking keys in the conflict index, one ``create`` audit entry (the same ``changes`` as the service's:
every field of the deal that is set, by field name, related objects by name). Per updated deal, as
``deal_update`` and ``deal_move_stage``: the changed fields, a stage change when the stage moved, the
line items when they changed, the new customer's keys, one ``update`` audit entry with the changed
fields. ``tests/test_bulk.py`` compares both paths on the same deal; extend it when the services gain a
side effect. A new deal may also carry its owner, who registered it, a description, a decision note and
its public id (``DealCreate.extra``, ``public_id``: demo data, backfills); updates set ``DEAL_FIELDS``.

Conflict detection, batched (``conflicts.conflicts_detect_batch``; the writer reads the workspace's
candidates once, at its first check, and keeps them current with what it writes): a written deal is
checked when it is in play — in an open stage, neither rejected nor expired — and is new, or its
customer changed, or it just came into play or to await a decision. Its rivals are other partners' deals
in play, as for a registration. A pair is stored only when at least one of its two deals
awaits a decision (submitted, more information asked): an import of CRM history carries many approved
deals of several partners for one customer ("Unknown account", a key account), and a conflict between
two decided deals informs no decision. A re-written pair refreshes its row (status kept), never adds one.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.bulk import FastTable, uuid4_hex
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.deals.models import (
    ApprovalStatus,
    CustomerKey,
    Deal,
    DealConflict,
    DealLineItem,
    DealStageChange,
    Outcome,
)
from openprm.deals.rollups import ROLLUP_MODELS, deals_tracked
from openprm.deals.services import add_business_days
from openprm.deals.services.bulk_audit import COMPACT, CreateEntry, DealNames, StageName, audit_value
from openprm.deals.services.conflicts import (
    OUT_OF_PLAY,
    PENDING,
    CandidateCache,
    ConflictCandidate,
    ConflictSubject,
    DealCustomer,
    conflicts_detect_batch,
    customer_index,
    deal_customer,
)

# The deal fields a bulk write sets (attnames); the others keep their defaults (description, owner...).
DEAL_FIELDS: tuple[str, ...] = (
    "partner_id",
    "program_id",
    "external_id",
    "title",
    "customer_name",
    "customer_key",
    "customer_domain",
    "customer_domain_root",
    "contact_name",
    "contact_email",
    "amount",
    "currency",
    "expected_close_date",
    "source",
    "stage_id",
    "stage_changed_at",
    "approval_status",
    "approval_due_at",
    "decided_at",
    "protection_expires_at",
    "registered_at",
    "approved_at",
    "closed_at",
    "lost_reason",
    "properties",
)
# Deal fields a new deal may set too (``DealCreate.extra``), and their defaults.
OPTIONAL_FIELDS: dict[str, Any] = {
    "owner_id": None,
    "registered_by_id": None,
    "description": "",
    "decision_note": "",
}
WERE_APPROVED = frozenset({ApprovalStatus.APPROVED, ApprovalStatus.EXPIRED})  # have an approval time
QUANTITY_ONE = Decimal("1.00")

Line = tuple[int | None, str, Decimal, Decimal]  # (product id, product name, quantity, unit price)
StageStep = tuple[int | None, int, datetime.datetime, str]  # (from stage, to stage, changed at, lost reason)


@dataclass(slots=True)
class DealCreate:
    """A new deal: ``values`` holds every ``DEAL_FIELDS`` key, validated (customer fields as
    ``deal_customer`` gives them, approval fields as ``approval_fields``)."""

    values: dict[str, Any]
    lines: Sequence[Line] = ()
    # The stage history; None: the program's first stage at registered_at, then (another stage) a move
    # to the deal's stage at stage_changed_at.
    history: Sequence[StageStep] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # any of OPTIONAL_FIELDS (demo data, backfills)
    public_id: uuid.UUID | str | None = None  # None: a new random one


@dataclass(slots=True)
class DealChange:
    """An existing deal: ``current`` as stored (``id``, ``public_id`` and every ``DEAL_FIELDS`` key),
    ``values`` as it should be (every key), ``changed`` the keys that differ."""

    current: dict[str, Any]
    values: dict[str, Any]
    changed: tuple[str, ...]
    lines: Sequence[Line] | None = None  # the new line items; None: unchanged
    products_before: list[str] = field(default_factory=list)  # product names of the old line items


def approval_fields(
    *,
    status: str,
    registered_at: datetime.datetime,
    approved_at: datetime.datetime,
    protection_days: int,
    sla_days: int,
) -> dict[str, Any]:
    """The approval fields of a deal with this status, approved (if it was) at ``approved_at``: the
    protection window runs from the approval, a pending registration is due ``sla_days`` working days
    after it was registered, a rejected one was decided when registered."""
    approved = status in WERE_APPROVED
    pending = status in PENDING
    decided_at = approved_at if approved else registered_at if status == ApprovalStatus.REJECTED else None
    return {
        "approved_at": approved_at if approved else None,
        "decided_at": decided_at,
        "protection_expires_at": approved_at + datetime.timedelta(days=protection_days) if approved else None,
        "approval_due_at": add_business_days(registered_at, sla_days) if pending else None,
    }


_STAGE_CHANGE_FIELDS = (
    "workspace_id",
    "deal_id",
    "from_stage_id",
    "to_stage_id",
    "changed_at",
    "actor_label",
    "lost_reason",
)
_LINE_FIELDS = ("workspace_id", "deal_id", "product_id", "product_name", "quantity", "unit_price")
_INSERT_FIELDS = ("public_id", "created_at", "updated_at", "workspace_id", *DEAL_FIELDS, *OPTIONAL_FIELDS)
_AUDIT_FIELDS = (
    "workspace_id",
    "partner_id",
    "actor_id",
    "actor_label",
    "at",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
)


def _object_repr(values: dict[str, Any]) -> str:
    """``str(deal)``."""
    return (values["title"] or f"{values['customer_name']} ({values['partner_id']})")[:300]


def _customer(values: dict[str, Any]) -> DealCustomer:
    customer = deal_customer(values["customer_name"], values["customer_domain"])
    assert customer is not None  # a stored domain is valid
    return customer


def _in_play(stage: StageName, approval_status: str) -> bool:
    return stage.outcome == Outcome.OPEN and approval_status not in OUT_OF_PLAY


class DealBulkWriter:
    """Writes batches of validated deals for one actor (see the module docstring); runs inside the
    caller's transaction, which makes a whole import all or nothing. Counts what it wrote."""

    def __init__(self, *, actor: Actor) -> None:
        actor.require(Perm.PARTNER_EDIT)
        self.actor = actor
        self.workspace_id = actor.workspace_id
        self.label = actor.label[:254]
        self.names = DealNames(actor.workspace_id)
        self.create_entry = CreateEntry(self.names, {**dict.fromkeys(DEAL_FIELDS), **OPTIONAL_FIELDS})
        self.deals = FastTable(Deal, _INSERT_FIELDS, with_ids=True)
        self.changes = FastTable(DealStageChange, _STAGE_CHANGE_FIELDS)
        self.lines = FastTable(DealLineItem, _LINE_FIELDS)
        self.audits = FastTable(AuditEntry, _AUDIT_FIELDS)
        changes_at = _AUDIT_FIELDS.index("changes")  # JSON text, encoded here: no conversion
        self.audits.convert = [(at, fn) for at, fn in self.audits.convert if at != changes_at]
        self.indexed: set[tuple[str, str]] = set()  # (customer key, domain) this writer has indexed
        self.candidates = CandidateCache(actor.workspace_id)  # what its conflict checks have read
        self.stage_changes = 0  # stage history rows written
        self.audit_entries = 0
        self.conflicts = 0  # conflict rows stored or refreshed
        self.wrote_lines = False
        self.field_names = {f.attname: f.name for f in Deal._meta.concrete_fields}

    @property
    def tables(self) -> list[type[models.Model]]:
        """The tables written so far whose statistics matter (to ANALYZE after a large write): not the
        audit trail, only ever read by object or partner on its indexes."""
        written: list[type[models.Model]] = [Deal, DealStageChange, CustomerKey, *ROLLUP_MODELS]
        return (
            written
            + ([DealLineItem] if self.wrote_lines else [])
            + ([DealConflict] if self.conflicts else [])
        )

    def write(self, *, creates: Sequence[DealCreate] = (), updates: Sequence[DealChange] = ()) -> None:
        """Write one batch: the new deals, the changes, then the conflict check of both."""
        if not creates and not updates:
            return
        now = timezone.now()
        for values in [*(c.values for c in creates), *(u.values for u in updates)]:
            self.names.load(values)
        batch = _Batch(self, now)
        with transaction.atomic():
            # The rollups follow the batch: what its deals add after it minus what they added before.
            with deals_tracked(self.workspace_id, [u.current["id"] for u in updates]) as tracked:
                subjects = batch.create(creates)
                if updates:
                    subjects += batch.update(updates)
                batch.flush()
                tracked.update(batch.created)
            found = conflicts_detect_batch(
                workspace_id=self.workspace_id, subjects=subjects, decided_pairs=False, cache=self.candidates
            )
        self.candidates.trim()
        self.conflicts += len(found)


class _Batch:
    """The rows of one batch, gathered then written table by table."""

    def __init__(self, writer: DealBulkWriter, now: datetime.datetime) -> None:
        self.writer = writer
        self.now = now
        self.history: list[list[Any]] = []
        self.lines: list[list[Any]] = []
        self.audits: list[list[Any]] = []
        self.keys: dict[str, tuple[str, ...]] = {}  # customers to index: customer key → blocking keys
        self.relined: list[int] = []
        self.created: list[int] = []  # ids of the new deals

    def _index(self, values: dict[str, Any]) -> None:
        """Add the deal's customer to the conflict index, once per customer and writer."""
        customer = _customer(values)
        if (customer.key, customer.domain) not in self.writer.indexed:
            self.writer.indexed.add((customer.key, customer.domain))
            self.keys[customer.key] = tuple({*self.keys.get(customer.key, ()), *customer.blocking_keys})
            self.writer.candidates.customer_indexed(customer.key, customer.blocking_keys)

    def _note(self, deal_id: int, values: dict[str, Any], was: str | None = None) -> bool:
        """Tell the writer's candidate cache what the deal is now; returns whether it is in play."""
        names = self.writer.names
        in_play = _in_play(names.stages[values["stage_id"]], values["approval_status"])
        candidate = None
        if in_play:
            candidate = ConflictCandidate(
                id=deal_id,
                partner_id=values["partner_id"],
                partner_name=names.partners[values["partner_id"]],
                customer_key=values["customer_key"],
                customer_name=values["customer_name"],
                customer_domain=values["customer_domain"],
                registered_at=values["registered_at"],
                approval_status=values["approval_status"],
            )
        self.writer.candidates.deal_written(deal_id, candidate, was)
        return in_play

    @staticmethod
    def _subject(deal_id: int, values: dict[str, Any]) -> ConflictSubject:
        return ConflictSubject(
            deal_id=deal_id,
            partner_id=values["partner_id"],
            customer_name=values["customer_name"],
            customer_domain=values["customer_domain"],
            blocking_keys=_customer(values).blocking_keys,
            pending=values["approval_status"] in PENDING,
        )

    def _audit(self, action: str, values: dict[str, Any], public_id: Any, changes: str) -> None:
        """One audit entry; ``changes`` as JSON text."""
        writer = self.writer
        self.audits.append(
            [
                writer.workspace_id,
                values["partner_id"],
                writer.actor.user_id,
                writer.label,
                self.now,
                action,
                "deals.deal",
                public_id,
                _object_repr(values),
                changes,
            ]
        )

    def _lines(self, deal_id: int, lines: Sequence[Line]) -> None:
        workspace_id = self.writer.workspace_id
        for product_id, name, quantity, price in lines:
            self.lines.append([workspace_id, deal_id, product_id, name, quantity, price])

    def create(self, creates: Sequence[DealCreate]) -> list[ConflictSubject]:
        writer = self.writer
        # In customer order: the customer indexes are then written page by page.
        creates = sorted(creates, key=lambda c: c.values["customer_key"])
        rows: list[list[Any]] = []
        subjects: list[ConflictSubject] = []
        workspace_id, label, now = writer.workspace_id, writer.label, self.now
        for deal_id, item in zip(writer.deals.ids(len(creates)), creates, strict=True):
            self.created.append(deal_id)
            values = item.values
            public_id = item.public_id or uuid4_hex()
            extra = item.extra
            row = [deal_id, public_id, now, now, workspace_id, *map(values.__getitem__, DEAL_FIELDS)]
            rows.append([*row, *(extra.get(name, default) for name, default in OPTIONAL_FIELDS.items())])
            for from_id, to_id, at, reason in item.history or self._history(values):
                self.history.append([workspace_id, deal_id, from_id, to_id, at, label, reason])
            self._lines(deal_id, item.lines)
            audited = {**values, **extra} if extra else values
            self._audit(AuditEntry.Action.CREATE, values, public_id, writer.create_entry.changes(audited))
            self._index(values)
            if self._note(deal_id, values):
                subjects.append(self._subject(deal_id, values))
        writer.deals.insert(rows)
        return subjects

    def _history(self, values: dict[str, Any]) -> list[StageStep]:
        first = self.writer.names.first_stage[values["program_id"]]
        steps: list[StageStep] = [(None, first, values["registered_at"], "")]
        if values["stage_id"] != first:
            steps.append((first, values["stage_id"], values["stage_changed_at"], values["lost_reason"]))
        return steps

    def update(self, updates: Sequence[DealChange]) -> list[ConflictSubject]:
        writer = self.writer
        columns = [*DEAL_FIELDS, "updated_at"]
        convert = dict(writer.deals.convert)
        positions = {name: i for i, name in enumerate(_INSERT_FIELDS, start=1)}
        params: list[list[Any]] = []
        subjects: list[ConflictSubject] = []
        for item in updates:
            values, current = item.values, item.current
            deal_id = current["id"]
            row: list[Any] = []
            for name in columns:
                value = self.now if name == "updated_at" else values[name]
                fn = convert.get(positions[name])
                row.append(fn(value) if fn is not None and value is not None else value)
            params.append([*row, deal_id])
            if "stage_id" in item.changed:
                self.history.append(
                    [
                        writer.workspace_id,
                        deal_id,
                        current["stage_id"],
                        values["stage_id"],
                        values["stage_changed_at"],
                        writer.label,
                        values["lost_reason"],
                    ]
                )
            if item.lines is not None:
                self.relined.append(deal_id)
                self._lines(deal_id, item.lines)
            changes = json.dumps(self._update_changes(item), separators=COMPACT)
            self._audit(AuditEntry.Action.UPDATE, values, current["public_id"], changes)
            if {"customer_name", "customer_domain"} & set(item.changed):
                self._index(values)
            self._note(deal_id, values, was=current["customer_key"])
            if self._recheck(item):
                subjects.append(self._subject(deal_id, values))
        quote = connection.ops.quote_name
        column_of = {f.attname: f.column for f in Deal._meta.concrete_fields}
        assignments = ", ".join(f"{quote(column_of[name])} = %s" for name in columns)
        with connection.cursor() as cursor:
            query = f"UPDATE {quote(Deal._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
            cursor.executemany(query, params)
        if self.relined:
            with unscoped():
                DealLineItem.objects.filter(deal_id__in=self.relined).delete()
        return subjects

    def _update_changes(self, item: DealChange) -> dict[str, Any]:
        """The audit entry's changes, as ``audited_change`` records them (plus the products replaced)."""
        names, field_names = self.writer.names, self.writer.field_names
        changes: dict[str, Any] = {}
        for attname in item.changed:
            name = field_names[attname]
            before, after = names.of(name, item.current[attname]), names.of(name, item.values[attname])
            if before != after:
                changes[name] = {"before": before, "after": after}
        if item.lines is not None:
            changes["products"] = {"before": item.products_before, "after": [line[1] for line in item.lines]}
        return changes

    def _recheck(self, item: DealChange) -> bool:
        """Whether an updated deal is checked for conflicts (see the module docstring)."""
        stages = self.writer.names.stages
        values, current = item.values, item.current
        now_in_play = _in_play(stages[values["stage_id"]], values["approval_status"])
        was_in_play = _in_play(stages[current["stage_id"]], current["approval_status"])
        customer = {"customer_name", "customer_domain"} & set(item.changed)
        pending = (values["approval_status"] in PENDING) != (current["approval_status"] in PENDING)
        return now_in_play and (bool(customer) or not was_in_play or pending)

    def flush(self) -> None:
        writer = self.writer
        writer.changes.insert(self.history)
        writer.lines.insert(self.lines)
        writer.audits.insert(self.audits)
        customer_index(workspace_id=writer.workspace_id, customers=self.keys.items())
        writer.stage_changes += len(self.history)
        writer.audit_entries += len(self.audits)
        writer.wrote_lines = writer.wrote_lines or bool(self.lines) or bool(self.relined)


__all__ = [
    "DEAL_FIELDS",
    "OPTIONAL_FIELDS",
    "DealBulkWriter",
    "DealChange",
    "DealCreate",
    "Line",
    "StageStep",
    "approval_fields",
    "audit_value",
]
