"""Writes for the pipeline: each program's stages (created with the defaults the first time they are
needed), stage settings, and moving a deal from stage to stage. Keyword-only, atomic, audited."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.audit import audited_change
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text
from openprm.deals.models import (
    DEFAULT_STALL_DAYS,
    ApprovalStatus,
    Deal,
    DealStageChange,
    Outcome,
    PipelineStage,
)
from openprm.deals.rollups import deals_tracked
from openprm.partners.models import Program

DEFAULT_STAGES: list[tuple[str, str, Decimal, str, int | None]] = [
    ("registered", "Registered", Decimal("0.1"), Outcome.OPEN, DEFAULT_STALL_DAYS["registered"]),
    ("qualified", "Qualified", Decimal("0.25"), Outcome.OPEN, DEFAULT_STALL_DAYS["qualified"]),
    ("proposal_sent", "Proposal sent", Decimal("0.5"), Outcome.OPEN, DEFAULT_STALL_DAYS["proposal_sent"]),
    ("negotiating", "Negotiating", Decimal("0.75"), Outcome.OPEN, DEFAULT_STALL_DAYS["negotiating"]),
    ("closed_won", "Closed won", Decimal("1"), Outcome.WON, None),
    ("closed_lost", "Closed lost", Decimal("0"), Outcome.LOST, None),
]


def program_stages(*, program: Program) -> list[PipelineStage]:
    """The program's stages in order, creating the default pipeline the first time it is needed."""
    with unscoped():
        stages = list(PipelineStage.objects.filter(program=program).order_by("order"))
        if not stages:
            stages = [
                PipelineStage.objects.create(
                    workspace_id=program.workspace_id,
                    program=program,
                    key=key,
                    name=name,
                    order=order,
                    win_probability=probability,
                    outcome=outcome,
                    stall_days=stall,
                )
                for order, (key, name, probability, outcome, stall) in enumerate(DEFAULT_STAGES, start=1)
            ]
    return stages


def add_business_days(start: datetime.datetime, days: int) -> datetime.datetime:
    """``start`` moved forward by ``days`` working days (Monday–Friday)."""
    current = start
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def _require_move(actor: Actor, deal: Deal) -> None:
    """Partners move only their own approved deals; staff need the edit permission."""
    if actor.is_partner_user:
        if deal.partner_id != actor.partner_id:
            raise PermissionDenied("Not your deal")
        if deal.approval_status != ApprovalStatus.APPROVED:
            raise ValidationError({"stage": "The registration must be approved before it moves on."})
    else:
        actor.require(Perm.PARTNER_EDIT)


def _target_stage(deal: Deal, stage_key: str, lost_reason: str) -> PipelineStage:
    """The stage of the deal's program named ``stage_key``; a lost stage needs a reason."""
    stages = {s.key: s for s in program_stages(program=deal.program)}
    stage = stages.get((stage_key or "").strip())
    if stage is None:
        raise ValidationError({"stage": f"Unknown stage '{stage_key}'. Known: {', '.join(stages)}."})
    if stage.outcome == Outcome.LOST and not lost_reason:
        raise ValidationError({"lost_reason": "Say why the deal was lost."})
    if "\x00" in lost_reason:
        raise ValidationError({"lost_reason": "Contains a NUL character."})
    return stage


@transaction.atomic
def deal_move_stage(*, actor: Actor, deal: Deal, stage_key: str, lost_reason: str = "") -> Deal:
    """Move a deal to another stage of its program; lost needs a reason. A move into a closing stage from
    an open one or from the other outcome (lost → won) closes the deal now (``closed_at``); a move
    between two stages of the same outcome (won → won: "Won, contract signed") keeps its close, which
    dates the win (its commission, its month); an open stage clears it."""
    _require_move(actor, deal)
    lost_reason = (lost_reason or "").strip()[:300]
    stage = _target_stage(deal, stage_key, lost_reason)
    if stage.pk == deal.stage_id:
        return deal
    now = timezone.now()
    previous = deal.stage
    with deals_tracked(deal.workspace_id, [deal.pk]):  # pipeline stocks, won/lost flows
        with audited_change(actor=actor, instance=deal, partner_id=deal.partner_id):
            deal.stage = stage
            deal.stage_changed_at = now
            if stage.outcome == Outcome.OPEN:
                deal.closed_at = None
            elif previous.outcome != stage.outcome or deal.closed_at is None:
                deal.closed_at = now
            deal.lost_reason = lost_reason if stage.outcome == Outcome.LOST else ""
            deal.save()
        DealStageChange.objects.create(
            workspace_id=deal.workspace_id,
            deal=deal,
            from_stage=previous,
            to_stage=stage,
            changed_at=now,
            actor_label=actor.label,
            lost_reason=deal.lost_reason,
        )
    return deal


def _clean_probability(errors: dict[str, str], value: Any) -> Decimal | None:
    """A win probability typed as a fraction (0.25) or a percentage (25, 25 %)."""
    try:
        probability = Decimal(str(value).strip().rstrip("%"))
        if probability > 1:  # typed as a percentage
            probability = probability / 100
        if not probability.is_finite() or not 0 <= probability <= 1:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["win_probability"] = "A probability between 0 and 1 (or 0–100 %)."
        return None
    return probability


def _clean_stall_days(errors: dict[str, str], value: Any) -> int | None:
    """Days in a stage before a deal counts as stalled; empty: never."""
    if value in (None, ""):
        return None
    try:
        stall = int(str(value))
        if not 1 <= stall <= 3650:
            raise ValueError
    except ValueError:
        errors["stall_days"] = "A whole number of days between 1 and 3650, or empty for never."
        return None
    return stall


@transaction.atomic
def stage_update(
    *, actor: Actor, stage: PipelineStage, name: str, win_probability: Any, stall_days: Any
) -> PipelineStage:
    """Rename a stage, set its win probability (open stages) and its stalled-deal threshold."""
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, 80, required=True)
    probability = stage.win_probability
    if stage.outcome == Outcome.OPEN:
        cleaned = _clean_probability(errors, win_probability)
        probability = probability if cleaned is None else cleaned
    stall = _clean_stall_days(errors, stall_days)
    if errors:
        raise ValidationError(errors)
    with audited_change(actor=actor, instance=stage):
        stage.name = name
        stage.win_probability = probability.quantize(Decimal("0.0001"))
        stage.stall_days = stall if stage.outcome == Outcome.OPEN else None
        stage.save()
    return stage
