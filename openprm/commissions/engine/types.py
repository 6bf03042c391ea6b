"""The engine's plain data: compiled plans, an event's facts, the running state, lines and outcomes."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from openprm.commissions.engine.conditions import Check, Cond, compile_condition
from openprm.commissions.rules import Group, Rules

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    """An entry's amount: quantised to cents, half up (the one rounding of the ledger)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def period_start(day: datetime.date, period: str) -> datetime.date:
    if period == "year":
        return datetime.date(day.year, 1, 1)
    if period == "quarter":
        return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return datetime.date(day.year, day.month, 1)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    key: str
    label: str
    priority: int
    events: frozenset[str]  # "purchase", "custom:webinar", ...
    condition: Cond | None  # the tree, as tuples: ("all"|"any", (children...)) or ("cond", field, op, value)
    reward: str  # percent | flat | tiered | threshold
    rate: Decimal | None = None
    flat: Decimal | None = None
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()  # (from, rate) ascending
    mode: str = "marginal"
    period: str = "month"  # tiers' and threshold's period
    metric: str = "amount"  # threshold on amount or count
    threshold: Decimal = ZERO
    recurring_months: int | None = None  # None: every recurring payment
    cap_event: Decimal | None = None
    cap_period: Decimal | None = None
    cap_period_kind: str = "month"
    valid_from: datetime.date | None = None
    valid_to: datetime.date | None = None
    bonus: bool = False
    check: Check | None = field(default=None, compare=False, repr=False)  # ``condition``, compiled


@dataclass(frozen=True, slots=True)
class Plan:
    selection: str  # highest | priority | stack
    rules: tuple[CompiledRule, ...]
    override_levels: tuple[Decimal, ...] = ()
    by_event: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)

    def rules_for(self, event: str) -> tuple[CompiledRule, ...]:
        found = self.by_event.get(event)
        if found is None:
            found = tuple(r for r in self.rules if event in r.events)
            self.by_event[event] = found
        return found


def _compile_group(group: Group | None) -> Cond | None:
    if group is None:
        return None
    kind = "all" if group.all is not None else "any"
    children: list[Cond] = []
    for node in group.all if group.all is not None else group.any or []:
        if isinstance(node, Group):
            compiled = _compile_group(node)
            if compiled is not None:
                children.append(compiled)
        else:
            value = node.value
            if node.op in ("gt", "gte", "lt", "lte") and isinstance(value, int | float | str):
                with contextlib.suppress(ArithmeticError):
                    value = Decimal(str(value))  # compared as decimals, converted once
            children.append(("cond", node.field, node.op, value))
    return (kind, tuple(children))


def compile_rules(rules: Rules, *, selection: str) -> Plan:
    """Compile a validated rules document once per version (plain tuples for the hot loop)."""
    compiled: list[CompiledRule] = []
    for rule in rules.rules:
        events = frozenset(f"custom:{rule.custom_event}" if e == "custom" else e for e in rule.event)
        reward: dict[str, Any] = {"reward": rule.reward.type}
        r = rule.reward
        if r.type == "percent":
            reward["rate"] = r.rate
        elif r.type == "flat":
            reward["flat"] = r.amount
        elif r.type == "tiered":
            reward.update(tiers=tuple((t.from_, t.rate) for t in r.tiers), mode=r.mode, period=r.period)
        else:
            reward.update(metric=r.metric, threshold=r.threshold, period=r.period, flat=r.amount)
        caps = rule.caps
        condition = _compile_group(rule.conditions)
        compiled.append(
            CompiledRule(
                key=rule.key,
                label=rule.label,
                priority=rule.priority,
                events=events,
                condition=condition,
                check=compile_condition(condition) if condition is not None else None,
                recurring_months=(
                    rule.recurring.months if rule.recurring and not rule.recurring.lifetime else None
                ),
                cap_event=caps.per_event if caps else None,
                cap_period=caps.per_period if caps else None,
                cap_period_kind=caps.period if caps else "month",
                valid_from=rule.valid_from,
                valid_to=rule.valid_to,
                bonus=rule.bonus or r.type == "threshold",
                **reward,
            )
        )
    levels = tuple(rules.overrides.levels) if rules.overrides else ()
    return Plan(selection=selection, rules=tuple(compiled), override_levels=levels)


@dataclass(frozen=True, slots=True)
class Facts:
    """One source event as the engine sees it. ``amount`` is in the plan's currency (base × FX, not
    rounded); ``fields`` answers the conditions (``rules.FIELDS``, ``metadata.<key>``)."""

    event: str
    partner_id: int
    day: datetime.date
    amount: Decimal
    fields: Mapping[str, Any] = field(default_factory=dict)
    customer_months: int | None = None  # months since the customer's first purchase (recurring rules)


@dataclass(slots=True)
class State:
    """Running totals the engine reads and advances, keyed by (partner, rule key, period start): the
    matched volume and count (tiers, thresholds) and the amount earned (period caps). The accrual loads
    it from the ledger for the periods a batch touches, so a batch continues where the ledger stands."""

    volume: dict[tuple[int, str, datetime.date], Decimal] = field(default_factory=dict)
    count: dict[tuple[int, str, datetime.date], int] = field(default_factory=dict)
    earned: dict[tuple[int, str, datetime.date], Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    """One ledger line an event earns: kind accrual, bonus, or adjustment (a retroactive tier's
    true-up of the period's earlier volume)."""

    rule_key: str
    kind: str
    amount: Decimal
    rate: Decimal | None
    caps: tuple[dict[str, str], ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    lines: tuple[Line, ...]
    explanation: dict[str, Any]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)
