"""The form's state of a valid rules document (a rule the form cannot show exactly stays JSON, with
the reason) and of the posted inputs."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from openprm.commissions.forms.rule_editor.build import Trace, blank_rule, blank_tier, rule_doc
from openprm.commissions.forms.rule_editor.values import FORM_FIELDS, LIST_OPS, State, num_text, value_text
from openprm.commissions.rules import Condition, Flat, Group, Percent, Rule, Threshold, Tiered, parse_rules


def _condition_state(j: int, node: Condition) -> State:
    return {
        "j": j,
        "kind": "condition",
        "field": node.field,
        "op": node.op,
        "value": value_text(node.value),
        "errors": {},
    }


def _why_not_form(rule: Rule) -> str:
    """Why the form cannot show a rule exactly (the round trip told it differs)."""
    if rule.conditions is not None:
        items = rule.conditions.all if rule.conditions.all is not None else rule.conditions.any or []
        if not items:
            return "an empty condition group"
        for item in items:
            if isinstance(item, Group):
                inner = item.all if item.all is not None else item.any or []
                if not inner:
                    return "an empty condition group"
                if any(isinstance(n, Group) for n in inner):
                    return "conditions nested more than one group deep"
        for cond in _conditions(rule.conditions):
            if cond.field not in FORM_FIELDS and not cond.field.startswith("metadata."):
                return f"a condition on {cond.field}"
            if isinstance(cond.value, dict) or (isinstance(cond.value, list) and cond.op not in LIST_OPS):
                return f"a condition on {cond.field} whose value is not a single value"
    if rule.caps is not None and rule.caps.per_event is None and rule.caps.per_period is None:
        return "an empty caps object"
    return "a value the form would write differently (a number written as text, a list item with a comma, …)"


def _conditions(group: Group) -> list[Condition]:
    out: list[Condition] = []
    for node in (group.all if group.all is not None else group.any) or []:
        if isinstance(node, Condition):
            out.append(node)
        else:
            out.extend(_conditions(node))
    return out


def _rule_state(i: int, rule: Rule) -> State:
    state = blank_rule(i, rule.key)
    state.update(
        label=rule.label,
        priority="" if rule.priority == 100 else str(rule.priority),
        events=list(rule.event),
        custom_event=rule.custom_event or "",
        bonus=rule.bonus,
        valid_from=rule.valid_from.isoformat() if rule.valid_from else "",
        valid_to=rule.valid_to.isoformat() if rule.valid_to else "",
    )
    if rule.conditions is not None:
        group = rule.conditions
        state["match"] = "all" if group.all is not None else "any"
        for j, node in enumerate((group.all if group.all is not None else group.any) or []):
            if isinstance(node, Condition):
                state["items"].append(_condition_state(j, node))
                continue
            inner = node.all if node.all is not None else node.any or []
            state["items"].append(
                {
                    "j": j,
                    "kind": "group",
                    "match": "all" if node.all is not None else "any",
                    "conditions": [
                        _condition_state(k, c) for k, c in enumerate(inner) if isinstance(c, Condition)
                    ],
                    "errors": {},
                }
            )
    reward = rule.reward
    state["reward"] = reward.type
    if isinstance(reward, Percent):
        state["rate"] = num_text(reward.rate)
    elif isinstance(reward, Flat):
        state["amount"] = num_text(reward.amount)
    elif isinstance(reward, Tiered):
        state.update(tiered_period=reward.period, tier_mode=reward.mode)
        state["tiers"] = [
            {"j": j, "from": num_text(t.from_), "rate": num_text(t.rate), "errors": {}}
            for j, t in enumerate(reward.tiers)
        ]
    elif isinstance(reward, Threshold):
        state.update(
            metric=reward.metric,
            threshold=num_text(reward.threshold),
            threshold_period=reward.period,
            threshold_amount=num_text(reward.amount),
        )
    if rule.recurring is not None:
        if rule.recurring.lifetime and rule.recurring.months is None:
            state["recurring"] = "lifetime"
        else:
            state.update(recurring="months", months=str(rule.recurring.months or ""))
    if rule.caps is not None:
        state.update(
            cap_event=num_text(rule.caps.per_event),
            cap_period=num_text(rule.caps.per_period),
            cap_unit=rule.caps.period,
        )
    return state


def _json_rule_state(i: int, raw: Any, why: str) -> State:
    state = blank_rule(i, raw.get("key", "") if isinstance(raw, dict) else "")
    state.update(mode="json", json=json.dumps(raw, indent=2), why_json=why)
    return state


def state_of_doc(doc: dict[str, Any]) -> State:
    """The form's state of a valid rules document (raises ``RulesError`` on an invalid one)."""
    parsed = parse_rules(doc)
    rules: list[State] = []
    for i, (raw, rule) in enumerate(zip(doc.get("rules") or [], parsed.rules, strict=True)):
        state = _rule_state(i, rule)
        trace = Trace()
        built = rule_doc(state, trace)
        try:
            back = None if trace.errors else Rule.model_validate(built)
        except ValueError:
            back = None
        rules.append(state if back == rule else _json_rule_state(i, raw, _why_not_form(rule)))
    overrides = parsed.overrides
    return {
        "rules": rules,
        "overrides": ", ".join(num_text(v) for v in overrides.levels) if overrides else "",
        "errors": [],
    }


# --- post → state -----------------------------------------------------------------------------------


# row indices as the form writes them (ASCII digits, a few of them: a posted name is anything)
_RULE = re.compile(r"^rule-([0-9]{1,6})-key$")
_ITEM = re.compile(r"^rule-([0-9]{1,6})-c-([0-9]{1,6})-(field|match)$")
_GCOND = re.compile(r"^rule-([0-9]{1,6})-c-([0-9]{1,6})-([0-9]{1,6})-field$")
_TIER = re.compile(r"^rule-([0-9]{1,6})-tier-([0-9]{1,6})-from$")


def _indices(data: Mapping[str, Any], pattern: re.Pattern[str], *prefix: int) -> list[int]:
    found: set[int] = set()
    for name in data:
        m = pattern.match(name)
        if m and tuple(int(g) for g in m.groups()[: len(prefix)]) == prefix:
            found.add(int(m.group(len(prefix) + 1)))
    return sorted(found)


def _field_of(get: Any, prefix: str) -> str:
    """The condition's field: a known one, or ``metadata.<key>`` (the select's "metadata" + the key)."""
    field = str(get(prefix + "field"))
    if field == "metadata":
        return "metadata." + str(get(prefix + "meta")).strip()
    return field


def state_of_post(data: Any) -> State:
    """The form's state of the posted inputs (a QueryDict): rows in their index order."""

    def get(name: str, default: str = "") -> str:
        value = data.get(name, default)
        return str(value) if value is not None else default

    rules: list[State] = []
    for i in _indices(data, _RULE):
        p = f"rule-{i}-"
        state = blank_rule(i, get(p + "key").strip())
        if get(p + "mode") == "json":
            state.update(mode="json", json=get(p + "json"), why_json=get(p + "why_json"))
            rules.append(state)
            continue
        state.update(
            label=get(p + "label"),
            priority=get(p + "priority").strip(),
            events=[e for e in data.getlist(p + "event") if e],
            custom_event=get(p + "custom_event").strip(),
            bonus=bool(get(p + "bonus")),
            valid_from=get(p + "valid_from").strip(),
            valid_to=get(p + "valid_to").strip(),
            match=get(p + "match", "all"),
            reward=get(p + "reward", "percent"),
            rate=get(p + "rate").strip(),
            amount=get(p + "amount").strip(),
            tiered_period=get(p + "tiered_period", "month"),
            tier_mode=get(p + "tier_mode", "marginal"),
            metric=get(p + "metric", "amount"),
            threshold=get(p + "threshold").strip(),
            threshold_period=get(p + "threshold_period", "month"),
            threshold_amount=get(p + "threshold_amount").strip(),
            recurring=get(p + "recurring"),
            months=get(p + "months").strip(),
            cap_event=get(p + "cap_event").strip(),
            cap_period=get(p + "cap_period").strip(),
            cap_unit=get(p + "cap_unit", "month"),
        )
        items: list[State] = []
        for j in _indices(data, _ITEM, i):
            q = f"{p}c-{j}-"
            if q + "match" in data:
                conditions = [
                    {
                        "j": k,
                        "kind": "condition",
                        "field": _field_of(get, f"{q}{k}-"),
                        "op": get(f"{q}{k}-op", "eq"),
                        "value": get(f"{q}{k}-value"),
                        "errors": {},
                    }
                    for k in _indices(data, _GCOND, i, j)
                ]
                items.append(
                    {"j": j, "kind": "group", "match": get(q + "match", "all"), "conditions": conditions}
                )
                items[-1]["errors"] = {}
            else:
                items.append(
                    {
                        "j": j,
                        "kind": "condition",
                        "field": _field_of(get, q),
                        "op": get(q + "op", "eq"),
                        "value": get(q + "value"),
                        "errors": {},
                    }
                )
        state["items"] = items
        tiers = [
            {
                "j": j,
                "from": get(f"{p}tier-{j}-from").strip(),
                "rate": get(f"{p}tier-{j}-rate").strip(),
                "errors": {},
            }
            for j in _indices(data, _TIER, i)
        ]
        state["tiers"] = tiers or [blank_tier(0, "0")]
        rules.append(state)
    return {"rules": rules, "overrides": get("overrides").strip(), "errors": []}
