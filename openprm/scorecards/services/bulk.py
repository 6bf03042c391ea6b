"""Targets set in bulk from the canonical CSV (or the API's list of the same rows): all of them or none.

Canonical header (UTF-8, comma-separated; README "Targets CSV")::

    metric,period,partner_external_id,tier,program,value,owner_email,notes

Exactly one of ``partner_external_id``, ``tier`` and ``program`` per row. A tier is written by its name
when that is unique in the workspace, else as ``Program name / Tier name``. A row matching an existing
target (same metric, period and partner/tier/program) changes its value, owner and notes; importing the
same file twice changes nothing the second time. Every problem is reported with its line number (the
header is line 1) and nothing is written while any remains.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from openprm.accounts.models import Membership, User
from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, snapshot
from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.partners.models import Partner, Program, Tier
from openprm.scorecards.models import Target
from openprm.scorecards.services.targets import (
    require_staff_editor,
    target_clean,
    target_create,
)

COLUMNS = ("metric", "period", "partner_external_id", "tier", "program", "value", "owner_email", "notes")
REQUIRED = ("metric", "period", "value")
MAX_ROWS = 20000


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)  # set: nothing was written


def parse_csv(text: str) -> tuple[list[dict[str, str]], list[RowError]]:
    """The rows of a targets CSV (each with its ``line``), or the problems of its header."""
    if "\x00" in text:
        return [], [RowError(1, "file", "The file contains NUL bytes: save it as UTF-8 text.")]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [h for h in REQUIRED if h not in header]
    errors = [
        RowError(1, h or "header", f"Unknown column {h!r}; the columns are {', '.join(COLUMNS)}.")
        for h in unknown
    ]
    errors += [RowError(1, h, f"The column {h!r} is missing.") for h in missing]
    if errors:
        return [], errors
    reader.fieldnames = header
    rows = []
    for index, row in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            return [], [RowError(index, "file", f"At most {MAX_ROWS:,} rows per file.")]
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        cleaned = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        cleaned["line"] = str(index)
        rows.append(cleaned)
    return rows, []


def _lookups(
    actor: Actor,
) -> tuple[dict[str, Partner], dict[str, list[Tier]], dict[str, Program], dict[str, User]]:
    partners = {
        p.external_id.lower(): p for p in Partner.objects.filter(external_id__isnull=False) if p.external_id
    }
    tiers: dict[str, list[Tier]] = {}
    for tier in Tier.objects.select_related("program"):
        tiers.setdefault(tier.name.lower(), []).append(tier)
        tiers.setdefault(f"{tier.program.name} / {tier.name}".lower(), []).append(tier)
    programs = {p.name.lower(): p for p in Program.objects.all()}
    with unscoped():  # staff users of this workspace, whoever the actor may see
        staff_ids = Membership.objects.filter(
            workspace_id=actor.workspace_id, partner__isnull=True, is_active=True
        ).values_list("user_id", flat=True)
        users = {u.email.lower(): u for u in User.objects.filter(pk__in=list(staff_ids))}
    return partners, tiers, programs, users


def targets_bulk_set(*, actor: Actor, rows: Sequence[Mapping[str, Any]], dry_run: bool = False) -> BulkResult:
    """Create or change the targets of ``rows`` (canonical column names, each with its ``line``)."""
    require_staff_editor(actor)
    partners, tiers, programs, users = _lookups(actor)
    existing = {
        (t.metric, t.period, t.partner_id, t.tier_id, t.program_id): t
        for t in Target.objects.select_related("partner", "tier", "program", "owner")
    }
    result = BulkResult()
    plan: list[tuple[Target | None, dict[str, Any], int]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for index, row in enumerate(rows):
        line = int(row.get("line") or index + 2)
        errors: list[RowError] = []
        data: dict[str, Any] = {
            "metric": row.get("metric", ""),
            "period": row.get("period", ""),
            "value": row.get("value"),
        }
        given = [c for c in ("partner_external_id", "tier", "program") if str(row.get(c) or "").strip()]
        if len(given) != 1:
            errors.append(
                RowError(
                    line, "partner_external_id", "Give exactly one of partner_external_id, tier or program."
                )
            )
        else:
            column, name = given[0], str(row[given[0]]).strip()
            if column == "partner_external_id":
                partner = partners.get(name.lower())
                if partner is None:
                    errors.append(RowError(line, column, f"No partner with external id {name!r}."))
                data["partner"] = partner
            elif column == "tier":
                found = tiers.get(name.lower(), [])
                if len(found) != 1:
                    problem = "is in several programs: write 'Program / Tier'" if found else "is not a tier"
                    errors.append(RowError(line, column, f"{name!r} {problem}."))
                data["tier"] = found[0] if len(found) == 1 else None
            else:
                program = programs.get(name.lower())
                if program is None:
                    errors.append(RowError(line, column, f"No program named {name!r}."))
                data["program"] = program
        email = str(row.get("owner_email") or "").strip().lower()
        if email:
            owner = users.get(email)
            if owner is None:
                errors.append(
                    RowError(line, "owner_email", f"{email!r} is not a staff user of this workspace.")
                )
            data["owner"] = owner
        else:
            data["owner"] = None
        data["notes"] = row.get("notes") or ""
        if actor.owned_only and data.get("partner") is None and not errors:
            errors.append(RowError(line, "partner_external_id", "You set targets on your own partners only."))
        scope_reported = bool(errors) and any(
            e.field in ("partner_external_id", "tier", "program") for e in errors
        )
        try:
            values = target_clean(data=data, current=None)
        except ValidationError as exc:
            errors += [
                RowError(line, f, " ".join(m))
                for f, m in exc.message_dict.items()
                if not (f in ("scope", "partner", "tier", "program") and scope_reported)
            ]
        if errors:
            result.errors += errors
            continue
        key = (
            values["metric"],
            values["period"],
            getattr(values.get("partner"), "pk", None),
            getattr(values.get("tier"), "pk", None),
            getattr(values.get("program"), "pk", None),
        )
        if key in seen:
            result.errors.append(RowError(line, "metric", f"The same target is on line {seen[key]} too."))
            continue
        seen[key] = line
        plan.append((existing.get(key), {**data, **values}, line))
    if result.errors:
        return result
    with transaction.atomic():
        for current, values, _line in plan:
            if current is None:
                result.created += 1
                if not dry_run:
                    target_create(actor=actor, data=values)  # type: ignore[arg-type]
                continue
            change = {"value": values["value"], "owner": values["owner"], "notes": values["notes"]}
            before = snapshot(current)
            if change["value"] != current.value and current.accepted_at is not None:
                change.update(accepted_by=None, accepted_at=None)
            apply_values(current, change)
            if snapshot(current) == before:
                result.unchanged += 1
                continue
            result.updated += 1
            if not dry_run:
                current.save()
                audit_record(
                    actor=actor,
                    action=AuditEntry.Action.UPDATE,
                    instance=current,
                    before=before,
                    after=snapshot(current),
                    partner_id=current.partner_id,
                )
        if dry_run:
            transaction.set_rollback(True)
    return result


def targets_import_csv(*, actor: Actor, text: str, dry_run: bool = False) -> BulkResult:
    """:func:`targets_bulk_set` over a CSV file's text."""
    require_staff_editor(actor)
    rows, errors = parse_csv(text)
    if errors:
        return BulkResult(errors=errors)
    if not rows:
        return BulkResult(errors=[RowError(2, "file", "The file has no rows.")])
    return targets_bulk_set(actor=actor, rows=rows, dry_run=dry_run)


__all__ = ["COLUMNS", "BulkResult", "RowError", "parse_csv", "targets_bulk_set", "targets_import_csv"]
