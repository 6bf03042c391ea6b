"""CSV imports. Every record is validated by ``partner_clean``, the partner service's own validation.

An import reads the file twice, streaming it both times:

1. *check*: every record is parsed, validated and classified (create / update / unchanged / rejected)
   against the database in batches; nothing is written. This alone is the preview / --dry-run.
2. *apply* (only when the check found no bad row, or ``skip_invalid``): the file is read again, checked
   again, and the valid records are written in batches (``bulk.py``: what partner_create/partner_update
   write, audit entries included) inside one transaction, so an error part-way leaves nothing behind.

Memory stays bounded by the batch size, except for the map of external ids seen so far (needed to report a
duplicate id naming its first line) and the first ``MAX_KEPT_ERRORS`` errors kept for display.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from openprm.core.actors import Actor
from openprm.core.bulk import analyze_tables
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.integrations.formats.partners import (
    CsvRecord,
    CsvSource,
    PartnerHeader,
    PartnerRow,
    RowError,
    column_for_field,
    parse_partner_row,
)
from openprm.partners.models import Partner, PartnerProgram, StatusChange
from openprm.partners.services import (
    PartnerLookups,
    partner_clean,
)
from openprm.partners.services.bulk import PartnerBulkWriter

BATCH_SIZE = 500
MAX_KEPT_ERRORS = 1000
PREVIEW_ROWS = 20
PROGRESS_EVERY = 200

ProgressCallback = Callable[[str, int], None]  # (stage: "check" | "import", bytes read so far)
RejectCallback = Callable[[list[str], CsvRecord, list[RowError]], None]  # (file header, record, errors)


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REJECT = "reject"


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
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rows: int = 0
    dry_run: bool = False
    refused: bool = False  # bad rows found and skip_invalid not set: nothing was written
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    preview: list[PreviewRow] = field(default_factory=list)  # the first PREVIEW_ROWS records
    error_count: int = 0  # all errors, kept or not

    @property
    def errors_not_kept(self) -> int:
        return self.error_count - len(self.errors)

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        return (
            f"{verb}created {self.created}, {verb}updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


@dataclass
class _Checked:
    row: PartnerRow
    record: CsvRecord
    action: Action
    current: _Current | None = None  # the partner as it is (updates)
    values: dict[str, Any] | None = None  # partner_clean's output; for updates only what changes


@dataclass
class _Current:
    """An existing partner with its tag names and enrolments (program id → tier id)."""

    partner: Partner
    tags: list[str] = field(default_factory=list)
    enrolments: dict[int, int | None] = field(default_factory=dict)


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


class _PartnerImport:
    """One pass over a partners file (see the module docstring)."""

    def __init__(self, *, actor: Actor, lookups: PartnerLookups) -> None:
        self.actor = actor
        self.lookups = lookups
        self.seen: dict[str, int] = {}  # external id → first line

    def batches(
        self, source: CsvSource, on_progress: Callable[[int], None] | None
    ) -> Iterator[list[_Checked]]:
        header = PartnerHeader.parse(source.read_header(), list(self.lookups.custom_fields))
        batch: list[tuple[CsvRecord, PartnerRow]] = []
        for count, record in enumerate(source.records(), start=1):
            row = parse_partner_row(header, record)
            self._check_duplicate(row)
            batch.append((record, row))
            if len(batch) >= BATCH_SIZE:
                yield self._classify(batch)
                batch = []
            if on_progress is not None and count % PROGRESS_EVERY == 0:
                on_progress(source.bytes_read)
        if batch:
            yield self._classify(batch)
        if on_progress is not None:
            on_progress(source.bytes_read)

    def _check_duplicate(self, row: PartnerRow) -> None:
        if not row.external_id:
            return
        first = self.seen.get(row.external_id)
        if first is None:
            self.seen[row.external_id] = row.line
        else:
            row.errors.append(
                RowError(
                    row.line,
                    "external_id",
                    f"Duplicate external_id '{row.external_id}': already used on line {first}.",
                )
            )

    def _classify(self, batch: list[tuple[CsvRecord, PartnerRow]]) -> list[_Checked]:
        ids = {row.external_id for _, row in batch if row.external_id}
        existing = _load_existing(ids)
        hidden: set[str] = set()
        if self.actor.access_scope().owner_id is not None or self.actor.partner_id is not None:
            missing = ids - existing.keys()
            if missing:
                with unscoped():  # external ids are unique per workspace, whoever may see the partner
                    clashes = Partner.objects.filter(
                        workspace_id=self.actor.workspace_id, external_id__in=missing
                    )
                    hidden = {ext for ext in clashes.values_list("external_id", flat=True) if ext}
        return [self._check_row(record, row, existing.get(row.external_id), hidden) for record, row in batch]

    def _check_row(
        self, record: CsvRecord, row: PartnerRow, current: _Current | None, hidden: set[str]
    ) -> _Checked:
        if row.unreadable:
            return _Checked(row, record, Action.REJECT)
        if row.external_id in hidden:
            row.errors.append(
                RowError(row.line, "external_id", "A partner you may not change already has this id.")
            )
            return _Checked(row, record, Action.REJECT)
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
            return _Checked(row, record, Action.REJECT)
        if current is None:
            return _Checked(row, record, Action.CREATE, values=values)
        changed = _changed_inputs(current, values)
        if not changed:
            return _Checked(row, record, Action.UNCHANGED, current)
        values = {key: value for key, value in values.items() if _INPUT_KEY.get(key, key) in changed}
        return _Checked(row, record, Action.UPDATE, current, values)

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


def _preview(checked: _Checked) -> PreviewRow:
    data = checked.row.data
    return PreviewRow(
        line=checked.row.line,
        action=checked.action,
        external_id=checked.row.external_id,
        name=str(data.get("name", "")),
        type=str(data.get("type", "")),
        tier=checked.row.tier or "",
        status=str(data.get("status", "")),
        country=str(data.get("country", "")),
        errors=list(checked.row.errors),
    )


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
    for every bad record, in file order, during the check.
    """
    actor.require(Perm.PARTNER_IMPORT)
    actor.require(Perm.PARTNER_EDIT)
    lookups = PartnerLookups.load(actor)
    result = _check(actor, lookups, stream, on_progress, on_reject)
    result.dry_run = dry_run
    if dry_run:
        return result
    if result.rejected and not skip_invalid:
        result.refused = True
        result.created = result.updated = result.unchanged = 0  # nothing was written
        return result
    if result.created or result.updated:
        try:
            _apply(actor, lookups, stream, on_progress, result, skip_invalid)
            written = (Partner, Partner.tags.through, PartnerProgram, StatusChange, AuditEntry)
            analyze_tables(*written, rows=result.created + result.updated)
        except _ChangedMeanwhile as exc:
            result.refused = True
            result.created = result.updated = result.unchanged = 0
            result.errors = exc.errors[:MAX_KEPT_ERRORS]
            result.error_count = len(exc.errors)
            result.rejected = len({e.line for e in exc.errors})
    return result


class _ChangedMeanwhile(Exception):
    """The data changed between the check and the write so that the write would not be all-or-nothing."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors)
        self.errors = errors


def _check(
    actor: Actor,
    lookups: PartnerLookups,
    stream: IO[bytes],
    on_progress: ProgressCallback | None,
    on_reject: RejectCallback | None,
) -> ImportResult:
    result = ImportResult()
    source = CsvSource(stream)
    progress = (lambda done: on_progress("check", done)) if on_progress else None
    try:
        for batch in _PartnerImport(actor=actor, lookups=lookups).batches(source, progress):
            for checked in batch:
                result.rows += 1
                if len(result.preview) < PREVIEW_ROWS:
                    result.preview.append(_preview(checked))
                if checked.action is Action.REJECT:
                    result.rejected += 1
                    result.error_count += len(checked.row.errors)
                    room = MAX_KEPT_ERRORS - len(result.errors)
                    if room > 0:
                        result.errors.extend(checked.row.errors[:room])
                    if on_reject is not None:
                        on_reject(source.header, checked.record, checked.row.errors)
                elif checked.action is Action.CREATE:
                    result.created += 1
                elif checked.action is Action.UPDATE:
                    result.updated += 1
                else:
                    result.unchanged += 1
    finally:
        source.close()
    return result


@transaction.atomic
def _apply(
    actor: Actor,
    lookups: PartnerLookups,
    stream: IO[bytes],
    on_progress: ProgressCallback | None,
    result: ImportResult,
    skip_invalid: bool,
) -> None:
    """Write the valid records; counts are recomputed from what was actually written.

    The records are checked again as they are written. A record that turned bad since the check (someone
    changed the data meanwhile) rolls everything back unless ``skip_invalid``; so does a clash with a
    concurrent write (a unique external id taken meanwhile).
    """
    created = updated = unchanged = rejected = 0
    writer = PartnerBulkWriter(actor=actor, lookups=lookups)
    source = CsvSource(stream)
    progress = (lambda done: on_progress("import", done)) if on_progress else None
    try:
        for batch in _PartnerImport(actor=actor, lookups=lookups).batches(source, progress):
            creates = [c.values for c in batch if c.action is Action.CREATE and c.values is not None]
            updates = [
                (c.current.partner, c.current.tags, c.current.enrolments, c.values)
                for c in batch
                if c.action is Action.UPDATE and c.current is not None and c.values is not None
            ]
            late = [c for c in batch if c.action is Action.REJECT]
            if late and not skip_invalid:
                raise _ChangedMeanwhile([e for c in late for e in c.row.errors])
            try:
                with transaction.atomic():
                    writer.create(creates)
                    writer.update(updates)
            except IntegrityError as exc:
                message = (
                    f"Changed by someone else during the import ({exc}); nothing was imported. Try again."
                )
                raise _ChangedMeanwhile([RowError(batch[0].row.line, "", message)]) from exc
            created += len(creates)
            updated += len(updates)
            unchanged += sum(1 for c in batch if c.action is Action.UNCHANGED)
            rejected += len(late)
    finally:
        source.close()
    result.created, result.updated, result.unchanged = created, updated, unchanged
    result.rejected = max(result.rejected, rejected)
