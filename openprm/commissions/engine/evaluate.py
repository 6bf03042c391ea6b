"""Evaluate one event: conditions → candidate rewards → selection → caps → lines and explanation.

Selection among the matching commission rules follows the plan: ``highest`` (the largest amount; ties go
to the lower priority number, then the key), ``priority`` (the lowest priority number, then the key) or
``stack`` (all). Bonus rules (``bonus: true`` and every threshold reward) always stack. Only the chosen
rules advance the running state, so the ledger alone says where each period stands.

Volume tiers split an amount across brackets ``[from_i, from_i+1)`` of the partner's matched volume in the
period: ``marginal`` pays each part at its bracket's rate; ``retroactive`` pays the whole period at the
rate of the bracket the volume reached, so crossing a bracket adds a true-up line for the earlier volume.
With rates rising by bracket, marginal never exceeds retroactive.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openprm.commissions.engine.conditions import show as _show
from openprm.commissions.engine.types import (
    HUNDRED,
    ZERO,
    CompiledRule,
    Facts,
    Line,
    Outcome,
    Plan,
    State,
    cents,
    period_start,
)


def _rate_at(tiers: tuple[tuple[Decimal, Decimal], ...], volume: Decimal) -> Decimal:
    rate = tiers[0][1]
    for start, r in tiers:
        if volume >= start:
            rate = r
    return rate


def _marginal(
    tiers: tuple[tuple[Decimal, Decimal], ...], before: Decimal, amount: Decimal
) -> tuple[Decimal, list[str]]:
    total, parts, after = ZERO, [], before + amount
    for i, (start, rate) in enumerate(tiers):
        end = tiers[i + 1][0] if i + 1 < len(tiers) else None
        lo = max(before, start)
        hi = after if end is None else min(after, end)
        if hi > lo:
            total += (hi - lo) * rate / HUNDRED
            parts.append(f"{_show(hi - lo)} at {_show(rate)}%")
    return total, parts


def _candidate(
    rule: CompiledRule, facts: Facts, state: State, shown: str
) -> tuple[list[tuple[str, Decimal, Decimal | None, str]], dict[str, Any]]:
    """The unrounded reward lines of a matching rule (kind, amount, rate, detail) before caps; ``shown``:
    the event's amount to two decimals."""
    amount = facts.amount
    if rule.reward == "percent":
        assert rule.rate is not None
        return [("accrual", amount * rule.rate / HUNDRED, rule.rate, f"{rule.rate:f}% of {shown}")], {}
    if rule.reward == "flat":
        assert rule.flat is not None
        return [("accrual", rule.flat, None, f"flat {rule.flat:f}")], {}
    key = (facts.partner_id, rule.key, period_start(facts.day, rule.period))
    before = state.volume.get(key, ZERO)
    if rule.reward == "tiered":
        if rule.mode == "marginal":
            value, parts = _marginal(rule.tiers, before, amount)
            single = len(parts) <= 1
            return [
                (
                    "accrual",
                    value,
                    _rate_at(rule.tiers, before + amount) if single else None,
                    "marginal: " + ", ".join(parts),
                )
            ], {"volume_before": f"{before:f}"}
        r_before, r_after = _rate_at(rule.tiers, before), _rate_at(rule.tiers, before + amount)
        lines: list[tuple[str, Decimal, Decimal | None, str]] = [
            ("accrual", amount * r_after / HUNDRED, r_after, f"retroactive: {r_after:f}% of {amount:.2f}")
        ]
        if r_after != r_before and before:
            lines.append(
                (
                    "adjustment",
                    before * (r_after - r_before) / HUNDRED,
                    r_after - r_before,
                    f"true-up: period volume {before:.2f} from {r_before:f}% to {r_after:f}%",
                )
            )
        return lines, {"volume_before": f"{before:f}"}
    # threshold bonus: once per period, on the event that reaches it
    if rule.metric == "count":
        b, a = Decimal(state.count.get(key, 0)), Decimal(state.count.get(key, 0) + 1)
    else:
        b, a = before, before + amount
    if b < rule.threshold <= a:
        reached = f"{rule.metric} reached {_show(rule.threshold)} this {rule.period}"
        return [("bonus", rule.flat or ZERO, None, reached)], {}
    # Not reached (or reached earlier): a zero line records the progress, so the ledger alone says where
    # the period stands.
    progress = f"{rule.metric} {_show(a)} of {_show(rule.threshold)} this {rule.period}"
    return [("bonus", ZERO, None, progress)], {}


def _cap(
    rule: CompiledRule, facts: Facts, state: State, lines: list[tuple[str, Decimal, Decimal | None, str]]
) -> list[Line]:
    kind_for = "bonus" if rule.bonus else None
    if rule.cap_event is None and rule.cap_period is None:
        return [
            Line(rule.key, kind_for or kind, cents(raw), rate, (), detail)
            for kind, raw, rate, detail in lines
        ]
    out: list[Line] = []
    cap_key = (facts.partner_id, rule.key, period_start(facts.day, rule.cap_period_kind))
    earned = state.earned.get(cap_key, ZERO)
    event_room = rule.cap_event
    for kind, raw, rate, detail in lines:
        value = cents(raw)
        caps: list[dict[str, str]] = []
        if event_room is not None and value > event_room:
            caps.append(
                {"cap": "per_event", "limit": f"{rule.cap_event:f}", "trimmed": f"{value - event_room:.2f}"}
            )
            value = event_room
        if rule.cap_period is not None:
            room = max(rule.cap_period - earned, ZERO)
            if value > room:
                caps.append(
                    {
                        "cap": f"per_{rule.cap_period_kind}",
                        "limit": f"{rule.cap_period:f}",
                        "trimmed": f"{value - room:.2f}",
                    }
                )
                value = room
        if event_room is not None:
            event_room -= value
        earned += value
        out.append(Line(rule.key, kind_for or kind, cents(value), rate, tuple(caps), detail))
    return out


def _advance(rule: CompiledRule, facts: Facts, state: State, lines: list[Line]) -> None:
    key = (facts.partner_id, rule.key, period_start(facts.day, rule.period))
    state.volume[key] = state.volume.get(key, ZERO) + facts.amount
    state.count[key] = state.count.get(key, 0) + 1
    if rule.cap_period_kind != rule.period:
        key = (facts.partner_id, rule.key, period_start(facts.day, rule.cap_period_kind))
    state.earned[key] = state.earned.get(key, ZERO) + sum((line.amount for line in lines), ZERO)


def evaluate(plan: Plan, facts: Facts, state: State) -> Outcome:
    """The lines one event earns under ``plan`` and why (advances ``state`` for the chosen rules)."""
    candidates = plan.rules_for(facts.event)
    shown = f"{facts.amount:.2f}"
    checked: list[dict[str, Any]] = []
    matched: list[tuple[CompiledRule, list[tuple[str, Decimal, Decimal | None, str]]]] = []
    for rule in candidates:
        failed: list[str] = []
        if rule.valid_from and facts.day < rule.valid_from:
            failed.append(f"runs from {rule.valid_from.isoformat()}")
        if rule.valid_to and facts.day > rule.valid_to:
            failed.append(f"ran until {rule.valid_to.isoformat()}")
        if rule.recurring_months is not None and facts.event == "recurring_payment":
            month = (facts.customer_months or 0) + 1
            if month > rule.recurring_months:
                failed.append(
                    f"pays the first {rule.recurring_months} months of a customer: this is month {month}"
                )
        if rule.check is not None:
            rule.check(facts.fields, failed)
        if failed:
            checked.append({"rule": rule.key, "ok": False, "why": failed})
            continue
        lines, extra = _candidate(rule, facts, state, shown)
        checked.append({"rule": rule.key, "ok": True, **extra} if extra else {"rule": rule.key, "ok": True})
        matched.append((rule, lines))
    if len(matched) == 1:
        commissions, bonuses = ([], matched) if matched[0][0].bonus else (matched, [])
    else:
        commissions = [m for m in matched if not m[0].bonus]
        bonuses = [m for m in matched if m[0].bonus]
    if plan.selection == "stack" or len(commissions) <= 1:
        chosen = commissions
    elif plan.selection == "priority":
        chosen = [min(commissions, key=lambda m: (m[0].priority, m[0].key))]
    else:
        chosen = [
            max(
                commissions,
                key=lambda m: (sum(x[1] for x in m[1]), -m[0].priority, [-ord(c) for c in m[0].key]),
            )
        ]
    out: list[Line] = []
    for rule, raw in [*chosen, *bonuses] if bonuses else chosen:
        capped = _cap(rule, facts, state, raw)
        _advance(rule, facts, state, capped)
        out.extend(capped)
    described: list[dict[str, Any]] = []
    for line in out:
        said: dict[str, Any] = {"rule": line.rule_key, "kind": line.kind, "amount": f"{line.amount:.2f}"}
        said["detail"] = line.detail
        if line.caps:
            said["caps"] = list(line.caps)
        described.append(said)
    explanation: dict[str, Any] = {
        "event": facts.event,
        "amount": shown,
        "selection": plan.selection,
        "rules": checked,
        "chosen": [m[0].key for m in chosen] + [m[0].key for m in bonuses],
        "lines": described,
    }
    if not candidates:
        explanation["why"] = f"no rule of the plan pays for {facts.event}"
    return Outcome(tuple(out), explanation)


def override_amounts(levels: tuple[Decimal, ...], amount: Decimal) -> list[tuple[int, Decimal, Decimal]]:
    """Overrides on a sub-partner's commission: (level from 1 = parent, rate %, amount in cents)."""
    return [(i + 1, rate, cents(amount * rate / HUNDRED)) for i, rate in enumerate(levels)]
