"""The partners import: the canonical partners CSV through the import runner (``runner.py``).

Every record is validated by ``partner_clean``, the partner service's own validation, classified against
the database a batch at a time (create / update / unchanged / rejected) and written by the partners
app's ``PartnerBulkWriter`` (what partner_create / partner_update write, audit entries included). The
runner makes it one pass in one transaction: all or nothing unless ``skip_invalid``; a dry run is the
preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import models

from openprm.core.actors import Actor
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.formats.partners import (
    PartnerHeader,
    PartnerRow,
    column_for_field,
    parse_partner_row,
)
from openprm.integrations.services.runner import (
    MAX_KEPT_ERRORS,
    PREVIEW_ROWS,
    Action,
    ImportResult,
    ProgressCallback,
    RejectCallback,
    Written,
    import_run,
)
from openprm.partners.models import Partner, PartnerProgram, StatusChange
from openprm.partners.services import PartnerLookups, partner_clean
from openprm.partners.services.bulk import PartnerBulkWriter

# Re-exported: the report and callbacks were defined here before the shared runner.
__all__ = [
    "MAX_KEPT_ERRORS",
    "PREVIEW_ROWS",
    "Action",
    "ImportResult",
    "PartnerImport",
    "PreviewRow",
    "ProgressCallback",
    "RejectCallback",
    "partners_import",
]

BATCH_SIZE = 500


@dataclass
class PreviewRow:
    line: int
    action: Action
    external_id: str
    name: str
    type: str
    tier: str
    status: str
    country: str
    errors: list[RowError] = field(default_factory=list)


@dataclass
class _Current:
    """An existing partner with its tag names and enrolments (program id → tier id)."""

    partner: Partner
    tags: list[str] = field(default_factory=list)
    enrolments: dict[int, int | None] = field(default_factory=dict)


@dataclass
class _Item:
    """A partners record on its way through the runner: parsed, then classified, then written."""

    record: CsvRecord
    row: PartnerRow
    action: Action = Action.REJECT
    current: _Current | None = None  # the partner as it is (updates)
    values: dict[str, Any] | None = None  # partner_clean's output; for updates only what changes

    @property
    def errors(self) -> list[RowError]:
        return self.row.errors

    @property
    def key(self) -> str:
        return self.row.external_id


def _load_existing(external_ids: set[str]) -> dict[str, _Current]:
    """The partners (in scope) with these external ids, in three queries.

    Plain value queries rather than prefetch_related, which builds a queryset per partner.
    """
    partners = Partner.objects.filter(external_id__in=external_ids).select_related("type", "owner")
    current = {p.pk: _Current(p) for p in partners}
    if current:
        links = Partner.tags.through.objects.filter(partner_id__in=current).values_list(
            "partner_id", "tag__name"
        )
        for partner_id, name in links:
            current[partner_id].tags.append(name)
        enrolments = PartnerProgram.objects.filter(partner_id__in=current).values_list(
            "partner_id", "program_id", "tier_id"
        )
        for partner_id, program_id, tier_id in enrolments:
            current[partner_id].enrolments[program_id] = tier_id
    return {c.partner.external_id: c for c in current.values() if c.partner.external_id}


class PartnerImport:
    """The partners format of the runner (``runner.ImportFormat``)."""

    batch_size = BATCH_SIZE
    check_first = True  # a refused file writes nothing; a row changed meanwhile refuses it

    def __init__(self, *, actor: Actor, lookups: PartnerLookups) -> None:
        self.actor = actor
        self.lookups = lookups
        self.writer = PartnerBulkWriter(actor=actor, lookups=lookups)
        self.header: PartnerHeader | None = None

    def read_header(self, header: list[str]) -> None:
        self.header = PartnerHeader.parse(header, list(self.lookups.custom_fields))

    def parse(self, record: CsvRecord) -> _Item:
        assert self.header is not None
        return _Item(record, parse_partner_row(self.header, record))

    def duplicate(self, row: _Item, first_line: int) -> RowError:
        external_id = row.row.external_id
        message = f"Duplicate external_id '{external_id}': already used on line {first_line}."
        return RowError(row.row.line, "external_id", message)

    def validate(self, rows: list[_Item]) -> None:
        ids = {item.row.external_id for item in rows if item.row.external_id}
        existing = _load_existing(ids)
        hidden = self._hidden(ids - existing.keys())
        for item in rows:
            self._check(item, existing.get(item.row.external_id), hidden)

    def write(self, rows: list[_Item], *, dry_run: bool) -> Written:
        if not dry_run:
            self.writer.create([i.values for i in rows if i.action is Action.CREATE and i.values is not None])
            self.writer.update(
                [
                    (i.current.partner, i.current.tags, i.current.enrolments, i.values)
                    for i in rows
                    if i.action is Action.UPDATE and i.current is not None and i.values is not None
                ]
            )
        return Written.of([item.action for item in rows])

    def preview(self, row: _Item) -> PreviewRow:
        data = row.row.data
        return PreviewRow(
            line=row.row.line,
            action=Action.REJECT if row.errors else row.action,
            external_id=row.row.external_id,
            name=str(data.get("name", "")),
            type=str(data.get("type", "")),
            tier=row.row.tier or "",
            status=str(data.get("status", "")),
            country=str(data.get("country", "")),
            errors=list(row.errors),
        )

    def tables(self) -> Sequence[type[models.Model]]:
        return (Partner, Partner.tags.through, PartnerProgram, StatusChange, AuditEntry)

    def _hidden(self, missing: set[str]) -> set[str]:
        """External ids of partners the actor may not see (external ids are unique per workspace)."""
        if not missing or (self.actor.access_scope().owner_id is None and self.actor.partner_id is None):
            return set()
        with unscoped():  # external ids are unique per workspace, whoever may see the partner
            clashes = Partner.objects.filter(workspace_id=self.actor.workspace_id, external_id__in=missing)
            return {ext for ext in clashes.values_list("external_id", flat=True) if ext}

    def _check(self, item: _Item, current: _Current | None, hidden: set[str]) -> None:
        row = item.row
        if row.unreadable:
            return
        if row.external_id in hidden:
            row.errors.append(
                RowError(row.line, "external_id", "A partner you may not change already has this id.")
            )
            return
        partner = current.partner if current else None
        self._complete(row, current)
        try:  # also for rows already known bad, so that every problem of the row is reported at once
            values = partner_clean(data=row.data, lookups=self.lookups, creating=partner is None)
        except ValidationError as exc:
            reported = {e.column for e in row.errors}
            for key, messages in exc.message_dict.items():
                column = column_for_field(key)
                if column not in reported:
                    row.errors.extend(RowError(row.line, column, message) for message in messages)
        if row.errors:
            return
        item.current = current
        if current is None:
            item.action, item.values = Action.CREATE, values
            return
        changed = _changed_inputs(current, values)
        if not changed:
            item.action = Action.UNCHANGED
            return
        item.action = Action.UPDATE
        item.values = {key: value for key, value in values.items() if _INPUT_KEY.get(key, key) in changed}

    def _complete(self, row: PartnerRow, current: _Current | None) -> None:
        """Fill in the parts of the input that depend on the partner as it is now."""
        partner = current.partner if current else None
        data = row.data
        lookups = self.lookups
        if partner is not None and "owner_email" in data:
            # An unchanged owner stays valid even if they are no longer an active staff member.
            owner = partner.owner.email.lower() if partner.owner_id and partner.owner else ""
            if (data["owner_email"] or "").strip().lower() == owner:
                del data["owner_email"]
        if partner is None and self.actor.owned_only and not data.get("owner_email"):
            data.pop("owner_email", None)  # the service makes the importing user the owner
        if row.custom_fields is not None:
            merged: dict[str, Any] = {}
            if partner is not None:
                stored: dict[str, Any] = partner.custom_fields or {}
                merged = {k: v for k, v in stored.items() if k in lookups.custom_fields}
            merged.update(row.custom_fields)
            data["custom_fields"] = merged
        elif partner is None:
            data["custom_fields"] = {}  # so that required custom fields are enforced on create
        self._complete_tier(row, current)

    def _complete_tier(self, row: PartnerRow, current: _Current | None) -> None:
        default = self.lookups.default_program
        program_name = row.program or (default.name if default else None)
        if program_name is None:
            if row.tier:
                row.data["tiers"] = {"": row.tier}  # reported as an unknown program
            return
        if row.tier:
            row.data["tiers"] = {program_name: row.tier}
            return
        # No tier given: enrol in an explicitly named program; otherwise drop a tier only if there is one.
        program = self.lookups.programs.get(program_name.strip().lower())
        if program is None:
            row.data["tiers"] = {program_name: None}
            return
        enrolled = current is not None and program.pk in current.enrolments
        enrol = not enrolled and bool(row.program)
        clear = enrolled and current is not None and current.enrolments[program.pk] is not None
        if enrol or (clear and row.tier is not None):
            row.data["tiers"] = {program_name: None}


# partner_clean output key → the PartnerInput key it comes from
_INPUT_KEY = {"owner_id": "owner_email"}


def _changed_inputs(current: _Current, values: dict[str, Any]) -> set[str]:
    """The input keys whose cleaned ``values`` differ from the partner as it is."""
    partner = current.partner
    changed = set()
    for key, value in values.items():
        if key == "type":
            same = value.pk == partner.type_id
        elif key == "tags":
            same = sorted(t.lower() for t in value) == sorted(t.lower() for t in current.tags)
        elif key == "tiers":
            enrolments = current.enrolments
            same = all(
                program.pk in enrolments and enrolments[program.pk] == (tier.pk if tier else None)
                for program, tier in value
            )
        elif key == "country":
            same = value == (partner.country.code or "")
        elif key == "custom_fields":
            same = value == (partner.custom_fields or {})
        else:
            same = getattr(partner, key) == value
        if not same:
            changed.add(_INPUT_KEY.get(key, key))
    return changed


def partners_import(
    *,
    actor: Actor,
    stream: IO[bytes],
    skip_invalid: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
) -> ImportResult:
    """Import a canonical partners CSV from a seekable binary stream.

    Raises CsvHeaderError when the file cannot be read at all. Otherwise returns counts; ``refused`` is
    set (and nothing written) when a record is bad and ``skip_invalid`` is false. ``on_reject`` is called
    for every bad record, in file order.
    """
    actor.require(Perm.PARTNER_IMPORT)
    actor.require(Perm.PARTNER_EDIT)
    fmt = PartnerImport(actor=actor, lookups=PartnerLookups.load(actor))
    return import_run(
        fmt=fmt,
        stream=stream,
        result=ImportResult(),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        on_progress=on_progress,
        on_reject=on_reject,
    )
