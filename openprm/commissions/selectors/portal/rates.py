"""The rate that applies to the partner now and what raises it: the plan version in force in words (the
values of internal fields redacted), each volume tier's rate reached this period and the next one ("Earn
15% after 50,000.00 USD this quarter — 12,400.00 USD to go"), each threshold bonus's progress.

The volume and count shown are the ones the engine continues from for the partner's next event (the
ledger's running state, ``selectors.running``): refunds, closed evaluations (a deal no longer won, a
rejected or moved sale, a deleted event) and rules no longer chosen for an event are out of them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openprm.commissions import engine
from openprm.commissions.engine import period_start
from openprm.commissions.models import Plan, PlanVersion
from openprm.commissions.rules import Condition, Group, RulesError, Threshold, Tiered, parse_rules
from openprm.commissions.selectors import plans as plan_selectors
from openprm.commissions.selectors.portal.words import HIDDEN_FIELDS, money, percent
from openprm.commissions.selectors.running import ledger_state
from openprm.commissions.selectors.words import rate as rate_words
from openprm.commissions.selectors.words import rule_words
from openprm.core.actors import Actor

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RuleNow:
    key: str
    label: str
    words: str
    current: str = ""  # "10%" — the tier rate the partner's volume reached this period
    next_step: str = ""  # "Earn 15% after 50,000.00 USD this quarter — 12,400.00 USD to go."
    percent: int = 0  # progress to the next step, 0–99


@dataclass(frozen=True)
class RatesNow:
    plan: str
    version: int | None
    effective_from: datetime.date | None
    currency: str
    hold_days: int
    rules: list[RuleNow]
    overrides: list[str]


PERIOD_WORDS = {"month": "this month", "quarter": "this quarter", "year": "this year"}


def _redacted(node: Any) -> Any:
    """A condition tree with the values of internal fields (the partner's tags) replaced by words."""
    if isinstance(node, Condition):
        if node.field in HIDDEN_FIELDS:
            return node.model_copy(
                update={"field": "metadata.partner_group", "op": "eq", "value": "set by us"}
            )
        return node
    if isinstance(node, Group):
        if node.all is not None:
            return node.model_copy(update={"all": [_redacted(n) for n in node.all]})
        return node.model_copy(update={"any": [_redacted(n) for n in node.any or []]})
    return node


def _period_state(
    *, workspace_id: int, partner_id: int, rules: list[Any], today: datetime.date
) -> engine.State:
    """The partner's running state of today's periods for the plan's tiered and threshold rules: what
    the engine continues from for the partner's next event (``selectors.running.ledger_state``, read as
    the accrual reads it: net of refunds, of closed evaluations and of rules no longer chosen)."""
    periods: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for rule in rules:
        if isinstance(rule.reward, Tiered | Threshold):
            periods[rule.key].add((rule.reward.period, rule.caps.period if rule.caps else "month"))
    if not periods:
        return engine.State()
    return ledger_state(
        workspace_id=workspace_id,
        partners=[partner_id],
        periods=periods,
        # the volume of today's periods: entries before their start (and the corrections linked to
        # those, which keep their moment) count toward no key shown here
        earliest=min(period_start(today, tier) for found in periods.values() for tier, _ in found),
    )


def _tier_progress(rule: Any, volume: Decimal, currency: str) -> tuple[str, str, int]:
    tiers = rule.reward.tiers
    current = tiers[0]
    following = None
    for i, tier in enumerate(tiers):
        if volume >= tier.from_:
            current = tier
            following = tiers[i + 1] if i + 1 < len(tiers) else None
    when = PERIOD_WORDS.get(rule.reward.period, "this period")
    if following is None:
        return percent(current.rate), f"Top rate reached {when} ({money(volume, currency)}).", 0
    to_go = following.from_ - volume
    share = int(volume * 100 / following.from_) if following.from_ else 0
    text = (
        f"Earn {percent(following.rate)} after {money(following.from_, currency)} {when}"
        f" — {money(to_go, currency)} to go."
    )
    return percent(current.rate), text, max(0, min(99, share))


def _threshold_progress(rule: Any, volume: Decimal, count: int, currency: str) -> tuple[str, int]:
    reward = rule.reward
    when = PERIOD_WORDS.get(reward.period, "this period")
    reached = Decimal(count) if reward.metric == "count" else volume
    if reached >= reward.threshold:
        return f"Bonus of {money(reward.amount, currency)} reached {when}.", 0
    left = reward.threshold - reached
    if reward.metric == "count":
        goal, left_text = f"{int(reward.threshold)} events", f"{int(left)} more"
    else:
        goal, left_text = money(reward.threshold, currency), money(left, currency)
    share = int(reached * 100 / reward.threshold) if reward.threshold else 0
    text = f"Bonus of {money(reward.amount, currency)} at {goal} {when} — {left_text} to go."
    return text, max(0, min(99, share))


def rates_now(
    *, actor: Actor, partner_id: int, today: datetime.date, in_force: tuple[Plan, PlanVersion] | None
) -> RatesNow | None:
    """The plan version in force for the partner today (``in_force``, from ``selectors.plans``) in
    words, with each volume tier's and bonus threshold's progress this period."""
    if in_force is None:
        return None
    plan, version = in_force
    try:
        parsed = parse_rules(version.rules, stored=True)
    except RulesError:
        return None
    state = _period_state(
        workspace_id=actor.workspace_id, partner_id=partner_id, rules=parsed.rules, today=today
    )
    rules = []
    for rule in parsed.rules:
        shown = rule.model_copy(update={"conditions": _redacted(rule.conditions)})
        words = rule_words(shown, plan.currency).replace(
            "metadata partner group is set by us", "you are in a partner group we set"
        )
        current, step, share = "", "", 0
        reward = rule.reward
        if isinstance(reward, Tiered | Threshold):
            key = (partner_id, rule.key, period_start(today, reward.period))
            volume, count = state.volume.get(key, ZERO), state.count.get(key, 0)
            if isinstance(reward, Tiered):
                current, step, share = _tier_progress(rule, volume, plan.currency)
            else:
                step, share = _threshold_progress(rule, volume, count, plan.currency)
        rules.append(
            RuleNow(
                key=rule.key, label=rule.label, words=words, current=current, next_step=step, percent=share
            )
        )
    overrides = []
    if parsed.overrides is not None:
        for level, value in enumerate(parsed.overrides.levels, start=1):
            who = "partners you recruited" if level == 1 else f"their sub-partners (level {level})"
            overrides.append(f"You earn {rate_words(value)} of the commissions of {who}.")
    return RatesNow(
        plan=plan.name,
        version=version.number,
        effective_from=version.effective_from,
        currency=plan.currency,
        hold_days=plan.hold_days,
        rules=rules,
        overrides=overrides,
    )


def plan_in_force(*, actor: Actor, partner_id: int, today: datetime.date) -> tuple[Plan, PlanVersion] | None:
    """The plan and version in force for the partner today."""
    return plan_selectors.plan_for_partner(actor=actor, partner_id=partner_id, day=today)
