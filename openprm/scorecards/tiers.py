"""Tiers: a partner qualifies for a tier when it meets every criterion of the tier; the recommendation is
the highest tier it qualifies for (a tier without criteria counts up to the current tier only; the lowest
tier is the floor), with the gaps to the next tier written out ("€12,000 more won revenue to reach Gold").
Plain functions over plain values (no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from openprm.metrics.catalog import Unit, metric
from openprm.scorecards.scoring import CURRENCY_SIGNS, HUNDRED, lower_is_better, q1


@dataclass(frozen=True)
class CriterionCheck:
    metric: str
    label: str
    minimum: Decimal | None  # None: withheld (a requirement on an internal figure, shown to a partner user)
    grain: str
    period: str  # the period the value is taken over
    value: Any
    met: bool
    gap: Decimal | None  # how much is missing (None when met or there is no value)
    text: str  # e.g. "€12,000 more won revenue"


def label_of(key: str) -> str:
    return "overall score" if key == "overall_score" else metric(key).label


def amount_text(key: str, amount: Decimal, currency: str) -> str:
    if key == "overall_score":
        return f"{q1(amount)} points"
    unit = metric(key).unit
    if unit is Unit.CURRENCY:
        sign = CURRENCY_SIGNS.get(currency)
        whole = f"{amount.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"
        return f"{sign}{whole}" if sign else f"{currency} {whole}"
    if unit is Unit.RATIO:
        return f"{q1(amount * HUNDRED)} percentage points"
    if unit is Unit.COUNT:
        return f"{amount.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"
    return f"{q1(amount)}"


def check_criterion(
    key: str, minimum: Decimal, value: Any, *, grain: str, period: str, currency: str
) -> CriterionCheck:
    """Whether ``value`` meets the criterion (at least ``minimum``; at most, for a lower-is-better metric)
    and, when not, the gap in words."""
    label = label_of(key)
    lower = lower_is_better(key)
    if value is None:
        return CriterionCheck(
            key, label, minimum, grain, period, None, False, None, f"no {label.lower()} yet"
        )
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    met = number <= minimum if lower else number >= minimum
    if met:
        return CriterionCheck(key, label, minimum, grain, period, value, True, None, "")
    gap = number - minimum if lower else minimum - number
    word = "less" if lower else "more"
    if key == "overall_score":
        text = f"{amount_text(key, gap, currency)} more overall score"
    elif metric(key).unit is Unit.COUNT and not lower:
        text = f"{amount_text(key, gap, currency)} more {label.lower()}"
    else:
        text = f"{amount_text(key, gap, currency)} {word} {label.lower()}"
    return CriterionCheck(key, label, minimum, grain, period, value, False, gap, text)


@dataclass(frozen=True)
class TierRule:
    tier_id: int
    name: str
    rank: int
    checks: tuple[CriterionCheck, ...]  # empty: the tier has no criteria

    @property
    def qualifies(self) -> bool:
        return bool(self.checks) and all(c.met for c in self.checks)


@dataclass(frozen=True)
class Recommendation:
    action: str  # promote, keep, demote, assign, none
    current: str | None
    recommended: str | None
    next_tier: str | None
    reasons: tuple[str, ...]
    gaps: tuple[str, ...]  # what is missing for the tier above the current one


def recommend(rules: Sequence[TierRule], current_tier_id: int | None) -> Recommendation:
    """Promote, keep or demote from the program's tiers (lowest first) and their checks. A tier with
    criteria is reached by meeting all of them; a tier without criteria is never recommended above the
    current tier, and never a reason to leave it (nothing to fall short of)."""
    ordered = sorted(rules, key=lambda r: r.rank)
    by_id = {r.tier_id: r for r in ordered}
    current = by_id.get(current_tier_id) if current_tier_id is not None else None
    current_name = current.name if current else None
    if not ordered or not any(r.checks for r in ordered):
        return Recommendation(
            "none", current_name, None, None, ("No tier criteria set for the program.",), ()
        )
    held = current.rank if current else 0
    qualified = [r for r in ordered if r.qualifies or (not r.checks and r.rank <= held)]
    target = qualified[-1] if qualified else ordered[0]
    above = [r for r in ordered if r.rank > held]
    next_rule = above[0] if above else None
    gaps: tuple[str, ...] = ()
    if next_rule is not None and next_rule.checks:
        gaps = tuple(f"{c.text} to reach {next_rule.name}" for c in next_rule.checks if not c.met)
    reasons: list[str] = []
    if qualified and target.checks:
        met = "; ".join(_met_text(c) for c in target.checks)
        reasons.append(f"Meets every criterion of {target.name}: {met}.")
    elif qualified:
        reasons.append(f"{target.name} has no criteria to fall short of.")
    else:
        reasons.append(f"Meets no tier's criteria: {target.name} is the floor.")
    if current is None:
        action = "assign"
    elif target.rank > current.rank:
        action = "promote"
    elif target.rank < current.rank:
        action = "demote"
        if current.checks:
            missed = "; ".join(c.text for c in current.checks if not c.met)
            reasons.append(f"Below {current.name}'s criteria: {missed}.")
    else:
        action = "keep"
    return Recommendation(
        action, current_name, target.name, next_rule.name if next_rule else None, tuple(reasons), gaps
    )


def _met_text(check: CriterionCheck) -> str:
    if check.minimum is None:
        return f"{check.label.lower()} (met)"
    sign = "≤" if lower_is_better(check.metric) else "≥"
    return f"{check.label.lower()} {check.value} {sign} {check.minimum.normalize():f}"
