"""Writes of scorecard configurations and tier criteria (program-wide: unrestricted staff who may edit
partners). Both are audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change, audited_delete, snapshot
from openprm.core.models import AuditEntry
from openprm.partners.models import Program, Tier
from openprm.scorecards import scoring
from openprm.scorecards.models import Grain, ScorecardConfig, TierCriterion
from openprm.scorecards.services.targets import clean_value, require_staff_editor


def _require(actor: Actor) -> None:
    require_staff_editor(actor)
    if actor.owned_only:
        raise PermissionDenied("Program settings are for staff who see every partner")


@transaction.atomic
def scorecard_config_set(
    *, actor: Actor, program: Program, dimensions: Any, cap: Any = 150
) -> ScorecardConfig:
    """Set the program's scorecard (dimensions with weights, their weighted metrics and methods, the cap)."""
    _require(actor)
    config = scoring.parse_config(dimensions, cap)
    stored = ScorecardConfig.objects.filter(program=program).first()
    if stored is None:
        stored = ScorecardConfig(workspace_id=actor.workspace_id, program=program)
        stored.dimensions, stored.cap = config.as_data(), config.cap
        stored.save()
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=stored, after=snapshot(stored))
        return stored
    with audited_change(actor=actor, instance=stored):
        stored.dimensions, stored.cap = config.as_data(), config.cap
        stored.save()
    return stored


@transaction.atomic
def scorecard_config_reset(*, actor: Actor, program: Program) -> None:
    """Back to the default scorecard."""
    _require(actor)
    stored = ScorecardConfig.objects.filter(program=program).first()
    if stored is not None:
        audited_delete(actor=actor, instance=stored)


def _clean_criterion(data: dict[str, Any], current: TierCriterion | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if current is None or "metric" in data:
        key = str(data.get("metric") or "").strip()
        if key != TierCriterion.OVERALL:
            problem = scoring.metric_problem(key) if key else "Choose a metric (or overall_score)."
            if problem:
                errors["metric"] = problem
        out["metric"] = key
    if current is None or "minimum" in data:
        value = clean_value(errors, data.get("minimum"), "minimum")
        if value is not None:
            out["minimum"] = value
            if out.get("metric", getattr(current, "metric", "")) == TierCriterion.OVERALL and value > 100:
                errors["minimum"] = "An overall score is between 0 and 100."
    if current is None or "grain" in data:
        grain = str(data.get("grain") or Grain.YEAR)
        if grain not in Grain.values:
            errors["grain"] = "The grain is month, quarter or year."
        out["grain"] = grain
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def tier_criterion_create(*, actor: Actor, tier: Tier, data: dict[str, Any]) -> TierCriterion:
    _require(actor)
    values = _clean_criterion(data, None)
    if TierCriterion.objects.filter(tier=tier, metric=values["metric"]).exists():
        raise ValidationError(
            {"metric": f"{tier.name} already has a {values['metric']} criterion: change it."}
        )
    criterion = TierCriterion(workspace_id=actor.workspace_id, tier=tier, **values)
    criterion.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=criterion, after=snapshot(criterion))
    return criterion


@transaction.atomic
def tier_criterion_update(*, actor: Actor, criterion: TierCriterion, data: dict[str, Any]) -> TierCriterion:
    _require(actor)
    values = _clean_criterion(data, criterion)
    if (
        "metric" in values
        and values["metric"] != criterion.metric
        and (
            TierCriterion.objects.filter(tier=criterion.tier, metric=values["metric"])
            .exclude(pk=criterion.pk)
            .exists()
        )
    ):
        raise ValidationError(
            {"metric": f"{criterion.tier.name} already has a {values['metric']} criterion."}
        )
    with audited_change(actor=actor, instance=criterion):
        for key, value in values.items():
            setattr(criterion, key, value)
        criterion.save()
    return criterion


@transaction.atomic
def tier_criterion_delete(*, actor: Actor, criterion: TierCriterion) -> None:
    _require(actor)
    audited_delete(actor=actor, instance=criterion)
