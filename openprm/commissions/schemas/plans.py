"""Input and output schemas of the plans API: plans, versions (rules JSON validated by ``rules.py``, a 422
naming the JSON path, e.g. ``rules.rules[0].reward.rate``), publishing, assignments, the what-if and the
payout forecast."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from openprm.commissions.models import Plan, PlanAssignment, PlanVersion
from openprm.commissions.selectors.words import rules_words
from openprm.core.schemas import Input, Patch, Text

Currency = Text(3, 3)


class PlanCreate(Input):
    name: Text(120, 1)  # type: ignore[valid-type]
    description: Text(2000) = ""  # type: ignore[valid-type]
    program_id: uuid.UUID | None = Field(None, description="The program the plan is for (optional)")
    currency: Currency = Field("USD", description="ISO 4217: every commission of the plan is paid in it")  # type: ignore[valid-type]
    hold_days: int = Field(30, ge=0, le=365, description="Days an entry stays pending (the refund window)")
    min_payout: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2)
    selection: Literal["highest", "priority", "stack"] = Field(
        "highest",
        description="Which rule pays when several match: the highest, the first by priority, or all",
    )


class PlanPatch(Patch):
    NULLABLE = frozenset({"program_id"})
    name: Text(120, 1) | None = None  # type: ignore[valid-type]
    description: Text(2000) | None = None  # type: ignore[valid-type]
    program_id: uuid.UUID | None = None
    hold_days: int | None = Field(None, ge=0, le=365)
    min_payout: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    selection: Literal["highest", "priority", "stack"] | None = None


class RuleWords(Schema):
    key: str
    label: str
    priority: int
    bonus: bool
    words: str = Field(description="The rule in words")


class VersionOut(Schema):
    id: uuid.UUID
    plan_id: uuid.UUID
    number: int
    status: str
    effective_from: datetime.date
    note: str
    rules: dict[str, Any]
    described: list[RuleWords] = Field(description="Each rule in words")
    overrides: list[str] = Field(description="Sub-partner overrides in words")
    created_at: datetime.datetime
    published_at: datetime.datetime | None


def version_out(version: PlanVersion, currency: str) -> dict[str, Any]:
    described, overrides, _ = rules_words(version.rules, currency)
    return {
        "id": version.public_id,
        "plan_id": version.plan.public_id,
        "number": version.number,
        "status": version.status,
        "effective_from": version.effective_from,
        "note": version.note,
        "rules": version.rules,
        "described": described,
        "overrides": overrides,
        "created_at": version.created_at,
        "published_at": version.published_at,
    }


class AssignmentOut(Schema):
    id: uuid.UUID
    level: str = Field(description="partner > tag > tier > program: the first level that matches wins")
    target_id: uuid.UUID
    target_name: str
    starts_on: datetime.date
    ends_on: datetime.date | None


def assignment_target(assignment: PlanAssignment) -> Any:
    return getattr(assignment, assignment.level)


def assignment_out(assignment: PlanAssignment) -> dict[str, Any]:
    target = assignment_target(assignment)
    name = target.name
    if assignment.level == "tier":
        name = f"{target.program.name} · {target.name}"
    return {
        "id": assignment.public_id,
        "level": assignment.level,
        "target_id": target.public_id,
        "target_name": name,
        "starts_on": assignment.starts_on,
        "ends_on": assignment.ends_on,
    }


class PlanOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    program_id: uuid.UUID | None
    program_name: str
    currency: str
    hold_days: int
    min_payout: Decimal
    selection: str
    negative_balance_rule: str
    archived_at: datetime.datetime | None
    created_at: datetime.datetime
    versions: list[VersionOut] | None = Field(None, description="On the single-plan answer")
    assignments: list[AssignmentOut] | None = Field(None, description="On the single-plan answer")


NEGATIVE_BALANCE_RULE = (
    "A negative approved balance (after a clawback) carries forward and is netted against later "
    "earnings; a partner is never charged."
)


def plan_out(
    plan: Plan,
    versions: list[PlanVersion] | None = None,
    assignments: list[PlanAssignment] | None = None,
) -> dict[str, Any]:
    return {
        "id": plan.public_id,
        "name": plan.name,
        "description": plan.description,
        "program_id": plan.program.public_id if plan.program else None,
        "program_name": plan.program.name if plan.program else "",
        "currency": plan.currency,
        "hold_days": plan.hold_days,
        "min_payout": plan.min_payout,
        "selection": plan.selection,
        "negative_balance_rule": NEGATIVE_BALANCE_RULE,
        "archived_at": plan.archived_at,
        "created_at": plan.created_at,
        "versions": None if versions is None else [version_out(v, plan.currency) for v in versions],
        "assignments": None if assignments is None else [assignment_out(a) for a in assignments],
    }


class PlanPage(Schema):
    items: list[PlanOut]
    count: int


class VersionCreate(Input):
    rules: dict[str, Any] = Field(
        description='{"rules": [{"key", "event", "conditions", "reward", ...}], "overrides": {...}}'
    )
    effective_from: datetime.date = Field(description="On or after the latest published version's date")
    note: Text(300) = ""  # type: ignore[valid-type]


class VersionPatch(Patch):
    rules: dict[str, Any] | None = None
    effective_from: datetime.date | None = None
    note: Text(300) | None = None  # type: ignore[valid-type]


class PublishIn(Input):
    effective_from: datetime.date | None = Field(
        None, description="In force from this day (default: the draft's own date)"
    )


class AssignmentCreate(Input):
    level: Literal["partner", "tag", "tier", "program"]
    target_id: uuid.UUID = Field(description="The public id of the partner, tag, tier or program")
    starts_on: datetime.date
    ends_on: datetime.date | None = None


class AssignmentEnd(Input):
    ends_on: datetime.date


class SimulateIn(Input):
    months: int = Field(6, ge=1, le=24, description="The last N whole months of real events")


class SimulationRow(Schema):
    partner_id: uuid.UUID
    partner_name: str
    would_pay: Decimal = Field(description="What the draft would have paid")
    actual: Decimal = Field(description="What was accrued or paid for the same events (not rejected)")
    difference: Decimal
    events: int


class SimulationOut(Schema):
    version_id: uuid.UUID
    months: int
    start: datetime.date
    end: datetime.date
    currency: str
    would_pay: Decimal
    actual: Decimal
    difference: Decimal
    partners: list[SimulationRow] = Field(description="Sorted by the size of the difference")


class ForecastQuery(Schema):
    periods: int = Field(3, ge=1, le=12)


class ForecastRowOut(Schema):
    period: datetime.date = Field(description="The first day of the month")
    currency: str
    pending: Decimal = Field(description="Pending entries whose hold ends in the period")
    approved: Decimal = Field(description="Approved balance due at the period's payout")
    pipeline: Decimal = Field(description="Open deals closing in the period × stage probability × plan")
    total: Decimal
