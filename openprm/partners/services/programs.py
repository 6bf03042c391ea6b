"""Programs and their ordered tiers, and the defaults every workspace starts with. Admins only; audited."""

from __future__ import annotations

from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction

from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, snapshot
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text
from openprm.partners.models import PartnerProgram, PartnerType, Program, Tier

DEFAULT_PROGRAM = "Partner Program"
DEFAULT_TIERS = ["Bronze", "Silver", "Gold", "Platinum"]


@transaction.atomic
def workspace_bootstrap(*, workspace: Workspace) -> None:
    """Create a workspace's defaults: partner types and a default program with ordered tiers."""
    with unscoped():
        for key, label in PartnerType.DEFAULTS:
            PartnerType.objects.get_or_create(workspace=workspace, key=key, defaults={"label": label})
        if not Program.objects.filter(workspace=workspace).exists():
            program = Program.objects.create(workspace=workspace, name=DEFAULT_PROGRAM, is_default=True)
            for rank, name in enumerate(DEFAULT_TIERS, start=1):
                Tier.objects.create(workspace=workspace, program=program, name=name, rank=rank)


# Sane bounds of a program's windows (days): positive, and no longer than the data anyone keeps.
PROGRAM_WINDOWS: dict[str, tuple[int, int, str]] = {
    "approval_sla_days": (1, 90, "business days"),
    "protection_days": (1, 1095, "days"),
    "attribution_window_days": (1, 365, "days"),
    "active_window_days": (1, 730, "days"),
}
ATTRIBUTION_MODELS = ("first_click", "last_click")


class ProgramInput(TypedDict, total=False):
    name: str
    description: str
    is_default: bool
    approval_sla_days: int
    protection_days: int
    attribution_model: str
    attribution_window_days: int
    active_window_days: int


def _program_clean(data: ProgramInput | dict[str, Any], *, current: Program | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if current is None or "name" in data:
        name = clean_text(errors, "name", data.get("name"), 120, required=True)
        if name and "name" not in errors:
            clash = Program.objects.filter(name__iexact=name)
            if current is not None:
                clash = clash.exclude(pk=current.pk)
            if clash.exists():
                errors["name"] = f"A program named '{name}' already exists."
        out["name"] = name
    if "description" in data:
        out["description"] = clean_text(errors, "description", data["description"], 5000)
    if "is_default" in data:
        out["is_default"] = bool(data["is_default"])
    for key, (low, high, unit) in PROGRAM_WINDOWS.items():
        if key not in data:
            continue
        value = data[key]  # type: ignore[literal-required]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[key] = f"A whole number of {unit} between {low} and {high}."
        out[key] = value
    if "attribution_model" in data:
        model = str(data["attribution_model"] or "").strip().lower()
        if model not in ATTRIBUTION_MODELS:
            errors["attribution_model"] = (
                f"Unknown attribution model '{model}'. Known: first_click, last_click."
            )
        out["attribution_model"] = model
    if current is not None and current.is_default and out.get("is_default") is False:
        errors["is_default"] = "Make another program the default instead; one program is always the default."
    if errors:
        raise ValidationError(errors)
    return out


def _make_default(program: Program) -> None:
    Program.objects.filter(is_default=True).exclude(pk=program.pk).update(is_default=False)


@transaction.atomic
def program_create(*, actor: Actor, data: ProgramInput) -> Program:
    """A new program (no tiers yet: add them with tier_create). Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    values = _program_clean(data, current=None)
    if not Program.objects.exists():
        values["is_default"] = True
    program = Program(workspace_id=actor.workspace_id, **values)
    program.save()
    if program.is_default:
        _make_default(program)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=program, after=snapshot(program))
    return program


@transaction.atomic
def program_update(*, actor: Actor, program: Program, data: ProgramInput) -> Program:
    """Rename a program or change its windows, attribution model or default flag. Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    values = _program_clean(data, current=program)
    with audited_change(actor=actor, instance=program):
        apply_values(program, values)
        program.save()
    if program.is_default:
        _make_default(program)
    return program


def _tier_name(errors: dict[str, str], program: Program, raw: Any, exclude: Tier | None) -> str:
    name = clean_text(errors, "name", raw, 60, required=True)
    if name and "name" not in errors:
        clash = Tier.objects.filter(program=program, name__iexact=name)
        if exclude is not None:
            clash = clash.exclude(pk=exclude.pk)
        if clash.exists():
            errors["name"] = f"{program.name} already has a tier named '{name}'."
    return name


def _tier_audit(actor: Actor, tier: Tier, action: str, before: dict[str, Any] | None) -> None:
    after = None if action == AuditEntry.Action.DELETE else snapshot(tier)
    audit_record(actor=actor, action=action, instance=tier, before=before, after=after)


@transaction.atomic
def tier_create(*, actor: Actor, program: Program, name: str) -> Tier:
    """Add a tier above the program's highest one. Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    name = _tier_name(errors, program, name, None)
    if errors:
        raise ValidationError(errors)
    top = Tier.objects.filter(program=program).order_by("-rank").values_list("rank", flat=True).first()
    tier = Tier.objects.create(
        workspace_id=actor.workspace_id, program=program, name=name, rank=(top or 0) + 1
    )
    _tier_audit(actor, tier, AuditEntry.Action.CREATE, None)
    return tier


@transaction.atomic
def tier_rename(*, actor: Actor, tier: Tier, name: str) -> Tier:
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    name = _tier_name(errors, tier.program, name, tier)
    if errors:
        raise ValidationError(errors)
    with audited_change(actor=actor, instance=tier):
        tier.name = name
        tier.save(update_fields=["name", "updated_at"])
    return tier


@transaction.atomic
def tier_move(*, actor: Actor, tier: Tier, direction: str) -> Tier:
    """Swap the tier with its neighbour: "up" to the next higher rank, "down" to the next lower one.
    Ranks stay unique at every step (the swap parks one tier on rank 0, which no tier uses)."""
    actor.require(Perm.WORKSPACE_ADMIN)
    if direction not in ("up", "down"):
        raise ValidationError({"move": "Move a tier 'up' (a higher rank) or 'down' (a lower rank)."})
    tiers = list(Tier.objects.select_for_update().filter(program_id=tier.program_id).order_by("rank"))
    index = next(i for i, t in enumerate(tiers) if t.pk == tier.pk)
    other_index = index + 1 if direction == "up" else index - 1
    if not 0 <= other_index < len(tiers):
        where = "highest" if direction == "up" else "lowest"
        raise ValidationError({"move": f"{tier.name} is already the {where} tier."})
    mine, other = tiers[index], tiers[other_index]
    before = snapshot(mine)
    rank_mine, rank_other = mine.rank, other.rank
    mine.rank = 0
    mine.save(update_fields=["rank"])
    other.rank = rank_mine
    other.save(update_fields=["rank", "updated_at"])
    mine.rank = rank_other
    mine.save(update_fields=["rank", "updated_at"])
    _tier_audit(actor, mine, AuditEntry.Action.UPDATE, before)
    tier.rank = mine.rank
    return mine


@transaction.atomic
def tier_delete(*, actor: Actor, tier: Tier) -> None:
    """Remove a tier no partner holds; the tiers above it move down a rank. Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    with unscoped():
        used = PartnerProgram.objects.filter(workspace_id=tier.workspace_id, tier=tier).count()
    if used:
        raise ValidationError(
            {
                "tier": f"{used} partner{'s' if used != 1 else ''} hold{'' if used != 1 else 's'} the tier "
                f"{tier.name}: move them to another tier first."
            }
        )
    program_id, rank = tier.program_id, tier.rank
    _tier_audit(actor, tier, AuditEntry.Action.DELETE, snapshot(tier))
    tier.delete()
    for above in Tier.objects.filter(program_id=program_id, rank__gt=rank).order_by("rank"):
        above.rank -= 1
        above.save(update_fields=["rank", "updated_at"])
