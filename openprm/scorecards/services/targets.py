"""Writes of targets: set (with the baseline captured), change, remove, and a partner admin's acceptance.

Staff who may edit partners set targets (staff restricted to their own partners: only on those partners,
not on tiers or programs). A target's metric must be one the engine computes; its period a month, quarter
or year; its scope exactly one of a partner, a tier or a program, and a metric has one target per period
and scope. The baseline is the metric's value over the previous period of the same grain when the target
is set: the partner's value, or for a tier or a program the mean of its partners' values. Changing the
value of an accepted target withdraws the acceptance (what was agreed is no longer what is asked). Every
write is audited (the target's history).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.accounts.models import User
from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, audited_delete, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm, Role
from openprm.metrics import figures
from openprm.metrics.periods import Grain, Period, parse_period
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Partner, Program, Tier
from openprm.scorecards import scoring
from openprm.scorecards.models import Target

MAX_VALUE = Decimal("99999999999999")
GRAINS = {Grain.MONTH: "month", Grain.QUARTER: "quarter", Grain.YEAR: "year"}


class TargetInput(TypedDict, total=False):
    metric: str
    period: str
    partner: Partner | None
    tier: Tier | None
    program: Program | None
    value: Decimal | int | str
    owner: User | None
    notes: str


def require_staff_editor(actor: Actor) -> None:
    actor.require(Perm.PARTNER_EDIT)
    if not actor.is_staff:
        raise PermissionDenied("Only staff set targets")


def clean_period(errors: dict[str, str], raw: Any) -> Period | None:
    try:
        period = parse_period(str(raw or ""))
    except ValueError as error:
        errors["period"] = str(error)
        return None
    if period.grain not in GRAINS:
        errors["period"] = "A target's period is a month (YYYY-MM), a quarter (YYYY-Qn) or a year (YYYY)."
        return None
    return period


def clean_value(errors: dict[str, str], raw: Any, name: str = "value") -> Decimal | None:
    try:
        if isinstance(raw, bool) or raw is None or (isinstance(raw, str) and not raw.strip()):
            raise InvalidOperation
        value = Decimal(str(raw).strip().replace(",", ""))
        if not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[name] = f"{raw!r} is not a number (e.g. 50000 or 0.25)."
        return None
    if value < 0 or value > MAX_VALUE:
        errors[name] = f"A number between 0 and {MAX_VALUE:,}."
        return None
    return value.quantize(Decimal("0.0001"))


def target_clean(*, data: TargetInput | dict[str, Any], current: Target | None) -> dict[str, Any]:
    """Model-ready values from caller input, or a ValidationError naming every bad field. On update only
    the value, owner and notes may change."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if current is None:
        key = str(data.get("metric") or "").strip()
        problem = scoring.metric_problem(key) if key else "Choose a metric."
        if problem:
            errors["metric"] = problem
        out["metric"] = key
        period = clean_period(errors, data.get("period"))
        if period is not None:
            out["period"], out["grain"] = period.key, GRAINS[period.grain]
        scopes = [s for s in ("partner", "tier", "program") if data.get(s) is not None]
        if len(scopes) != 1:
            errors["scope"] = "Set the target for exactly one of a partner, a tier or a program."
        for s in ("partner", "tier", "program"):
            out[s] = data.get(s)
        if out.get("partner") is not None and out["partner"].archived_at:
            errors["partner"] = out["partner"].archived_message
    else:
        for fixed in ("metric", "period", "partner", "tier", "program"):
            if fixed in data and data[fixed] != getattr(current, fixed):
                errors[fixed] = "A target's metric, period and scope are fixed: remove it and set another."
    if current is None or "value" in data:
        value = clean_value(errors, data.get("value"))
        if value is not None:
            out["value"] = value
    if "owner" in data:
        out["owner"] = data["owner"]
    if "notes" in data:
        notes = str(data.get("notes") or "")
        if "\x00" in notes:
            errors["notes"] = "Notes must not contain NUL characters."
        elif len(notes) > 5000:
            errors["notes"] = "At most 5,000 characters."
        out["notes"] = notes.strip()
    if errors:
        raise ValidationError(errors)
    return out


def _check_scope(actor: Actor, values: dict[str, Any]) -> None:
    if actor.owned_only and values.get("partner") is None:
        raise PermissionDenied("Staff restricted to their own partners set targets on those partners only")


def _check_unique(values: dict[str, Any]) -> None:
    scope = {s: values[s] for s in ("partner", "tier", "program") if values.get(s) is not None}
    if Target.objects.filter(metric=values["metric"], period=values["period"], **scope).exists():
        raise ValidationError(
            {"metric": f"A {values['metric']} target for {values['period']} is already set here: change it."}
        )


def baseline(*, actor: Actor, metric: str, period: Period, scope: dict[str, Any]) -> Decimal | None:
    """The metric's value over the period before ``period`` (same grain): the partner's, or the mean over
    the tier's or program's partners that have one."""
    previous = period.previous()
    partner = scope.get("partner")
    if partner is not None:
        table = figures.metric_table(
            actor=actor, keys=[metric], period=previous, partners=[partner.pk], totals=False
        )
        return _decimal(table.value(partner.pk, metric).value)
    filters = (
        PartnerFilters(tier=str(scope["tier"].public_id))
        if scope.get("tier")
        else PartnerFilters(program=str(scope["program"].public_id))
    )
    table = figures.metric_table(actor=actor, keys=[metric], period=previous, filters=filters, totals=False)
    values = [
        v for v in (_decimal(table.value(pid, metric).value) for pid in table.partner_ids) if v is not None
    ]
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.0001"))


def _decimal(raw: Any) -> Decimal | None:
    if raw is None or isinstance(raw, datetime.date):
        return None
    return Decimal(str(raw)).quantize(Decimal("0.0001"))


def _partner_id(target: Target) -> int | None:
    return target.partner_id


@transaction.atomic
def target_create(*, actor: Actor, data: TargetInput) -> Target:
    require_staff_editor(actor)
    values = target_clean(data=data, current=None)
    _check_scope(actor, values)
    _check_unique(values)
    period = parse_period(values["period"])
    scope = {s: values[s] for s in ("partner", "tier", "program") if values.get(s) is not None}
    target = Target(
        workspace_id=actor.workspace_id,
        created_by_id=actor.user_id,
        baseline=baseline(actor=actor, metric=values["metric"], period=period, scope=scope),
        **values,
    )
    target.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=target,
        after=snapshot(target),
        partner_id=_partner_id(target),
    )
    return target


@transaction.atomic
def target_update(*, actor: Actor, target: Target, data: TargetInput | dict[str, Any]) -> Target:
    require_staff_editor(actor)
    values = target_clean(data=data, current=target)
    _check_scope(actor, {"partner": target.partner})
    if "value" in values and values["value"] != target.value and target.accepted_at is not None:
        values["accepted_by"], values["accepted_at"] = None, None
    with audited_change(actor=actor, instance=target, partner_id=_partner_id(target)):
        apply_values(target, values)
        target.save()
    return target


@transaction.atomic
def target_delete(*, actor: Actor, target: Target) -> None:
    require_staff_editor(actor)
    _check_scope(actor, {"partner": target.partner})
    audited_delete(actor=actor, instance=target, partner_id=_partner_id(target))


@transaction.atomic
def target_accept(*, actor: Actor, target: Target) -> Target:
    """A partner admin agrees to their own partner's target: who accepted it and when are recorded."""
    if actor.role != Role.PARTNER_ADMIN or target.partner_id is None or target.partner_id != actor.partner_id:
        raise PermissionDenied("Only an admin of the target's partner accepts it")
    if target.accepted_at is not None:
        return target
    with audited_change(actor=actor, instance=target, partner_id=_partner_id(target)):
        target.accepted_by_id = actor.user_id
        target.accepted_at = timezone.now()
        target.save(update_fields=["accepted_by", "accepted_at", "updated_at"])
    return target
