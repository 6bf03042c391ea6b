"""A plan version's rules in words, for the plan page and the API (``description`` of each rule):
"When a deal is won, if the amount is at least 10,000, pay 10% of the amount; at most 1,000 per event."
Reads the validated schema (``rules.parse_rules``); an invalid document (a draft being written) reads as
its errors instead."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openprm.commissions.rules import (
    FLAG_FIELDS,
    Condition,
    Flat,
    Group,
    Percent,
    Rule,
    Rules,
    RulesError,
    Threshold,
    Tiered,
    parse_rules,
)

EVENT_WORDS = {
    "deal_won": "a deal is won",
    "deal_registered": "a deal is registered",
    "deal_approved": "a deal registration is approved",
    "signup": "a referred customer signs up",
    "purchase": "a referred customer purchases",
    "recurring_payment": "a referred customer pays a recurring payment",
    "lead_accepted": "a lead is accepted",
    "target_reached": "a target is reached",
    "custom": "a custom event happens",
}
FIELD_WORDS = {
    "amount": "the amount",
    "currency": "the currency",
    "product": "the product",
    "program": "the program",
    "source": "the source",
    "partner.type": "the partner's type",
    "partner.tier": "the partner's tier",
    "partner.region": "the partner's region",
    "partner.country": "the partner's country",
    "partner.tags": "the partner's tags",
    "partner.tenure_months": "the partner's tenure (months)",
    "partner.lifetime_amount": "the partner's lifetime sales total",
    "customer.new": "the customer is new",
    "customer.months_since_first": "months since the customer's first purchase",
}
# What a field's name alone does not say, added where a condition reads as a sentence (the editor's
# field list keeps the short name). The lifetime amount: the partner's counted sales before the event's
# day — won deals, purchases and recurring payments, net of refunds, each at its own day's rate in the
# plan's currency (services.lifetime).
FIELD_NOTES = {"partner.lifetime_amount": "before that day (net of refunds)"}
OP_WORDS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "contains": "contains",
}
# A flag field's words when it is true and when it is false.
FLAG_WORDS = {"customer.new": ("new", "existing")}
PERIOD_WORDS = {"month": "month", "quarter": "quarter", "year": "year"}


def number(value: Decimal | int | float) -> str:
    """12500 → "12,500"; 12.5 → "12.50"; rates keep their digits (7.5 → "7.5")."""
    amount = Decimal(str(value))
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,.2f}"


def rate(value: Decimal) -> str:
    text = format(Decimal(value).normalize(), "f")
    return f"{text}%"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, int | float | Decimal):
        return number(value)
    return str(value)


MONEY_FIELDS = ("amount", "partner.lifetime_amount")


def _flag_words(node: Condition) -> str:
    """A condition on a flag by the flag values it accepts: ``ne true`` and ``in [false]`` read "the
    customer is existing", ``in [true, false]`` "the customer is new or existing"."""
    listed = node.value if isinstance(node.value, list) else [node.value]
    given = {v for v in listed if isinstance(v, bool)}
    accepted = {True, False} - given if node.op in ("ne", "not_in") else given
    yes, no = FLAG_WORDS.get(node.field, ("true", "false"))
    subject = (
        "the customer" if node.field.startswith("customer.") else FIELD_WORDS.get(node.field, node.field)
    )
    said = [word for flag, word in ((True, yes), (False, no)) if flag in accepted]
    if not said:
        return f"never ({subject} is neither {yes} nor {no})"
    return f"{subject} is {' or '.join(said)}"


def condition_words(node: Condition | Group, currency: str = "") -> str:
    if isinstance(node, Condition):
        field = FIELD_WORDS.get(node.field, node.field.replace("metadata.", "metadata ").replace("_", " "))
        if node.field in FIELD_NOTES:
            field += " " + FIELD_NOTES[node.field]
        if node.field in FLAG_FIELDS and node.op in ("eq", "ne", "in", "not_in"):
            return _flag_words(node)
        unit = f" {currency}" if currency and node.field in MONEY_FIELDS else ""
        return f"{field} {OP_WORDS[node.op]} {_value(node.value)}{unit}"
    items = node.all if node.all is not None else node.any or []
    joiner = " and " if node.all is not None else " or "
    parts = [
        condition_words(n, currency) if isinstance(n, Condition) else f"({condition_words(n, currency)})"
        for n in items
    ]
    return joiner.join(parts) if parts else "always"


def reward_words(rule: Rule, currency: str) -> str:
    reward = rule.reward
    if isinstance(reward, Percent):
        text = f"pay {rate(reward.rate)} of the amount"
    elif isinstance(reward, Flat):
        text = f"pay {number(reward.amount)} {currency}"
    elif isinstance(reward, Tiered):
        steps = [
            f"{rate(t.rate)} from {number(t.from_)} {currency}" if t.from_ else f"{rate(t.rate)}"
            for t in reward.tiers
        ]
        how = (
            "each rate on the part of the volume in its tier (marginal)"
            if reward.mode == "marginal"
            else "the reached tier's rate on the whole volume (retroactive)"
        )
        text = f"pay by volume per {PERIOD_WORDS[reward.period]}: {', then '.join(steps)}; {how}"
    elif isinstance(reward, Threshold):
        what = (
            f"{number(reward.threshold)} {currency}"
            if reward.metric == "amount"
            else (f"{number(reward.threshold)} events")
        )
        text = (
            f"pay a bonus of {number(reward.amount)} {currency} once per {PERIOD_WORDS[reward.period]} "
            f"when the partner's matched volume reaches {what}"
        )
    else:  # pragma: no cover - the schema has no other reward
        text = "pay"
    return text


def rule_words(rule: Rule, currency: str) -> str:
    """One rule as a sentence."""
    events = " or ".join(
        f'the custom event "{rule.custom_event}" happens'
        if e == "custom" and rule.custom_event
        else EVENT_WORDS[e]
        for e in rule.event
    )
    parts = [f"When {events}"]
    if rule.conditions is not None:
        parts.append(f"if {condition_words(rule.conditions, currency)}")
    parts.append(reward_words(rule, currency))
    text = ", ".join(parts)
    extra = []
    if rule.recurring is not None:
        extra.append(
            "for the customer's lifetime"
            if rule.recurring.lifetime
            else f"for {rule.recurring.months} months from the first payment"
        )
    if rule.caps is not None:
        if rule.caps.per_event is not None:
            extra.append(f"at most {number(rule.caps.per_event)} {currency} per event")
        if rule.caps.per_period is not None:
            period = PERIOD_WORDS[rule.caps.period]
            extra.append(f"at most {number(rule.caps.per_period)} {currency} per partner and {period}")
    if rule.valid_from or rule.valid_to:
        span = f"from {rule.valid_from}" if rule.valid_from else ""
        span += f"{' ' if span else ''}until {rule.valid_to}" if rule.valid_to else ""
        extra.append(f"only {span}")
    if rule.bonus:
        extra.append("a bonus: paid on top of the selected rule")
    if extra:
        text += "; " + "; ".join(extra)
    return text + "."


def rules_words(data: Any, currency: str) -> tuple[list[dict[str, Any]], list[str], list[dict[str, str]]]:
    """(rules as {key, label, priority, words}, override sentences, validation errors) of a rules document."""
    try:
        parsed: Rules = parse_rules(data)
    except RulesError as exc:
        return [], [], exc.errors
    rows = [
        {
            "key": r.key,
            "label": r.label,
            "priority": r.priority,
            "bonus": r.bonus,
            "words": rule_words(r, currency),
        }
        for r in parsed.rules
    ]
    overrides = []
    if parsed.overrides is not None:
        names = ["parent", "grandparent", "great-grandparent", "4th-level parent", "5th-level parent"]
        for level, value in enumerate(parsed.overrides.levels):
            overrides.append(
                f"A sub-partner's {names[level]} earns {rate(value)} of each of its commissions."
            )
    return rows, overrides, []
