"""The structured editor of a draft version's rules: the same document as the JSON editor, as a form.

The editor's *state* is plain data of strings (what the inputs show); three functions move between it
and the rules document:

- :func:`state_of_doc` — a valid document → the state the form shows. A rule the form cannot show exactly
  (conditions nested deeper than one group, a value typed unlike its field, …) stays a JSON block inside
  the form, with the reason, and is kept exactly as written.
- :func:`state_of_post` — the posted inputs → the state (indices may have gaps: rows removed in the page).
- :func:`doc_of_state` — the state → the document, validated by the same pydantic models as the JSON
  editor (``rules.parse_rules``); each problem is attached to its input and named for a person:
  "Rule 2 (resale), tier 3, from: must be above 50,000 (where tier 2 starts)".

:func:`apply_op` performs the row buttons (add a rule, a condition, a group, a tier; remove; move), which
post the form without saving, so the editor works without JavaScript.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from openprm.commissions.forms.plans import JsonProblem, read_json
from openprm.commissions.rules import (
    EVENTS,
    FIELDS,
    OPS,
    Condition,
    Flat,
    Group,
    Percent,
    Rule,
    RulesError,
    Threshold,
    Tiered,
    parse_rules,
)
from openprm.commissions.selectors.words import EVENT_WORDS, FIELD_WORDS, OP_WORDS, number
from openprm.commissions.services.plans import MAX_DIGITS, UNFILLED_FIELDS, check_rules

NUMERIC_FIELDS = ("amount", "partner.tenure_months", "partner.lifetime_amount", "customer.months_since_first")
BOOL_FIELDS = ("customer.new",)
LIST_OPS = ("in", "not_in")
REWARDS = ("percent", "flat", "tiered", "threshold")
PERIODS = ("month", "quarter", "year")
FORM_FIELDS = tuple(f for f in FIELDS if f not in UNFILLED_FIELDS)

State = dict[str, Any]


# --- values -----------------------------------------------------------------------------------------


def _num_text(value: Any) -> str:
    """A number as typed: 50000 → "50000", 7.5 → "7.5" (no exponent, no thousands separator)."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    text = format(amount.normalize(), "f") if amount else "0"
    return text


def _json_number(amount: Decimal) -> int | float:
    """A Decimal as the JSON number a person would write (integral → int)."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return _num_text(value)
    return str(value)


def value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_scalar_text(v) for v in value)
    return _scalar_text(value)


class _Bad(ValueError):
    pass


MAX_DECIMALS = 6  # rates keep six decimals, money two


def _shown(text: str) -> str:
    """A typed text quoted in a message, cut when long (the page repeats it beside the input)."""
    text = text.strip()
    return repr(text if len(text) <= 24 else text[:24] + "…")


def _parse_number(text: str) -> Decimal:
    """A typed number ("50,000", "7.5", "1e3"); ``_Bad`` when it is not one, or has more digits than
    any amount or rate: at most ``MAX_DIGITS`` before the decimal point and ``MAX_DECIMALS`` after."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise _Bad(f"{_shown(text)} is not a number") from None
    if not amount.is_finite():
        raise _Bad(f"{_shown(text)} is not a number")
    if not amount:
        return Decimal(0)  # "-0", "0e5000": zero as typed plainly
    if amount.adjusted() >= MAX_DIGITS:
        raise _Bad(f"{_shown(text)} is too large: at most {MAX_DIGITS} digits before the decimal point")
    _, digits, exponent = amount.as_tuple()
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))  # 7.50 has one decimal
    if isinstance(exponent, int) and -(exponent + zeros) > MAX_DECIMALS:
        raise _Bad(f"{_shown(text)} has too many decimals: at most {MAX_DECIMALS}")
    return amount


def _scalar(text: str, field: str, op: str) -> Any:
    text = text.strip()
    if field in NUMERIC_FIELDS or (field.startswith("metadata.") and op in ("gt", "gte", "lt", "lte")):
        return _json_number(_parse_number(text))
    if field in BOOL_FIELDS:
        lowered = text.lower()
        if lowered in ("yes", "true", "1"):
            return True
        if lowered in ("no", "false", "0"):
            return False
        raise _Bad("yes or no")
    return text


def condition_value(text: str, field: str, op: str) -> Any:
    """The typed value of a condition's input: numbers for amounts and months, yes/no for a flag, a list
    (comma-separated) for "is one of"."""
    if op in LIST_OPS:
        return [_scalar(part, field, op) for part in text.split(",") if part.strip()]
    return _scalar(text, field, op)


# --- document → state -------------------------------------------------------------------------------


def _blank_tier(j: int, start: str = "") -> State:
    return {"j": j, "from": start, "rate": "", "errors": {}}


def _condition_state(j: int, node: Condition) -> State:
    return {
        "j": j,
        "kind": "condition",
        "field": node.field,
        "op": node.op,
        "value": value_text(node.value),
        "errors": {},
    }


def blank_rule(i: int, key: str = "") -> State:
    return {
        "i": i,
        "mode": "form",
        "json": "",
        "why_json": "",
        "key": key,
        "label": "",
        "priority": "",
        "events": [],
        "custom_event": "",
        "bonus": False,
        "valid_from": "",
        "valid_to": "",
        "match": "all",
        "items": [],
        "reward": "percent",
        "rate": "",
        "amount": "",
        "tiered_period": "month",
        "tier_mode": "marginal",
        "tiers": [_blank_tier(0, "0")],  # the first tier starts from 0
        "metric": "amount",
        "threshold": "",
        "threshold_period": "month",
        "threshold_amount": "",
        "recurring": "",
        "months": "",
        "cap_event": "",
        "cap_period": "",
        "cap_unit": "month",
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
        state["rate"] = _num_text(reward.rate)
    elif isinstance(reward, Flat):
        state["amount"] = _num_text(reward.amount)
    elif isinstance(reward, Tiered):
        state.update(tiered_period=reward.period, tier_mode=reward.mode)
        state["tiers"] = [
            {"j": j, "from": _num_text(t.from_), "rate": _num_text(t.rate), "errors": {}}
            for j, t in enumerate(reward.tiers)
        ]
    elif isinstance(reward, Threshold):
        state.update(
            metric=reward.metric,
            threshold=_num_text(reward.threshold),
            threshold_period=reward.period,
            threshold_amount=_num_text(reward.amount),
        )
    if rule.recurring is not None:
        if rule.recurring.lifetime and rule.recurring.months is None:
            state["recurring"] = "lifetime"
        else:
            state.update(recurring="months", months=str(rule.recurring.months or ""))
    if rule.caps is not None:
        state.update(
            cap_event=_num_text(rule.caps.per_event),
            cap_period=_num_text(rule.caps.per_period),
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
        trace = _Trace()
        built = _rule_doc(state, trace)
        try:
            back = None if trace.errors else Rule.model_validate(built)
        except ValueError:
            back = None
        rules.append(state if back == rule else _json_rule_state(i, raw, _why_not_form(rule)))
    overrides = parsed.overrides
    return {
        "rules": rules,
        "overrides": ", ".join(_num_text(v) for v in overrides.levels) if overrides else "",
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
        state["tiers"] = tiers or [_blank_tier(0, "0")]
        rules.append(state)
    return {"rules": rules, "overrides": get("overrides").strip(), "errors": []}


# --- state → document -------------------------------------------------------------------------------


class _Trace:
    """Where each part of the built document came from: its input, and how to name it to a person."""

    def __init__(self) -> None:
        self.rules: list[State] = []  # the rule states, in document order
        self.items: dict[tuple[int, int], State] = {}
        self.gconds: dict[tuple[int, int, int], State] = {}
        self.tiers: dict[tuple[int, int], State] = {}
        self.errors: list[tuple[State | None, str, str, str]] = []  # (holder, input, where, message)

    def fail(self, holder: State | None, name: str, where: str, message: str) -> None:
        if any(h is holder and n == name for h, n, _, _ in self.errors):
            return  # one problem per input: the schema's complaint about a value the form refused
        self.errors.append((holder, name, where, message))


def _rule_name(n: int, state: State) -> str:
    key = str(state.get("key") or "")
    return f"Rule {n + 1}" + (f" ({key if len(key) <= 60 else key[:60] + '…'})" if key else "")


def _money(
    trace: _Trace, state: State, name: str, where: str, *, required: bool = False
) -> int | float | None:
    text = str(state[name])
    if not text:
        if required:
            trace.fail(state, name, where, "required")
        return None
    try:
        return _json_number(_parse_number(text))
    except _Bad as exc:
        trace.fail(state, name, where, str(exc))
        return None


def _condition_doc(trace: _Trace, holder: State, where: str) -> dict[str, Any] | None:
    field, op = holder["field"], holder["op"]
    if not field:
        return None
    if field == "metadata.":
        trace.fail(holder, "field", f"{where}, property", "name the property (metadata key)")
    try:
        value = condition_value(holder["value"], field, op)
    except _Bad as exc:
        trace.fail(holder, "value", f"{where}, value", str(exc))
        value = holder["value"]
    return {"field": field, "op": op, "value": value}


def _rule_doc(state: State, trace: _Trace) -> dict[str, Any]:
    n = len(trace.rules)
    trace.rules.append(state)
    name = _rule_name(n, state)
    doc: dict[str, Any] = {"key": state["key"]}
    if state["label"].strip():
        doc["label"] = state["label"].strip()
    if state["priority"]:
        try:
            doc["priority"] = int(state["priority"])
        except ValueError:
            trace.fail(state, "priority", f"{name}, priority", "a whole number")
    doc["event"] = list(state["events"])
    if not doc["event"]:
        trace.fail(state, "events", f"{name}, events", "choose at least one event")
    if state["custom_event"]:
        doc["custom_event"] = state["custom_event"]
    nodes: list[dict[str, Any]] = []
    for pos, item in enumerate(state["items"]):
        where = f"{name}, condition {pos + 1}"
        if item["kind"] == "condition":
            trace.items[(n, len(nodes))] = item
            node = _condition_doc(trace, item, where)
            if node is not None:
                nodes.append(node)
            continue
        inner: list[dict[str, Any]] = []
        index = len(nodes)
        for cpos, cond in enumerate(item["conditions"]):
            trace.gconds[(n, index, len(inner))] = cond
            node = _condition_doc(trace, cond, f"{where}.{cpos + 1}")
            if node is not None:
                inner.append(node)
        if inner:
            trace.items[(n, index)] = item
            nodes.append({item["match"] if item["match"] in ("all", "any") else "all": inner})
    if nodes:
        doc["conditions"] = {state["match"] if state["match"] in ("all", "any") else "all": nodes}
    kind = state["reward"]
    reward: dict[str, Any] = {"type": kind}
    if kind == "percent":
        reward["rate"] = _money(trace, state, "rate", f"{name}, rate", required=True)
    elif kind == "flat":
        reward["amount"] = _money(trace, state, "amount", f"{name}, amount", required=True)
    elif kind == "tiered":
        reward.update(period=state["tiered_period"], mode=state["tier_mode"])
        tiers: list[dict[str, Any]] = []
        for tpos, tier in enumerate(t for t in state["tiers"] if t["from"] or t["rate"]):
            trace.tiers[(n, tpos)] = tier
            where = f"{name}, tier {tpos + 1}"
            tiers.append(
                {
                    "from": _money(trace, tier, "from", f"{where}, from", required=True),
                    "rate": _money(trace, tier, "rate", f"{where}, rate", required=True),
                }
            )
        reward["tiers"] = tiers
    elif kind == "threshold":
        reward.update(
            metric=state["metric"],
            threshold=_money(trace, state, "threshold", f"{name}, threshold", required=True),
            period=state["threshold_period"],
            amount=_money(trace, state, "threshold_amount", f"{name}, bonus amount", required=True),
        )
    doc["reward"] = reward
    if state["recurring"] == "lifetime":
        doc["recurring"] = {"lifetime": True}
    elif state["recurring"] == "months":
        try:
            doc["recurring"] = {"months": int(state["months"])}
        except ValueError:
            trace.fail(state, "months", f"{name}, months", "a whole number of months")
    caps: dict[str, Any] = {}
    for field, key in (("cap_event", "per_event"), ("cap_period", "per_period")):
        value = _money(trace, state, field, f"{name}, cap {key.replace('_', ' ')}")
        if value is not None:
            caps[key] = value
    if caps and state["cap_unit"] != "month":
        caps["period"] = state["cap_unit"]
    if caps:
        doc["caps"] = caps
    for field in ("valid_from", "valid_to"):
        if state[field]:
            try:
                doc[field] = datetime.date.fromisoformat(state[field]).isoformat()
            except ValueError:
                trace.fail(state, field, f"{name}, {field.replace('_', ' ')}", "a date (YYYY-MM-DD)")
    if state["bonus"]:
        doc["bonus"] = True
    return doc


_TWICE = re.compile(r"^rule key '(.+)' is used twice$")
_PATH = re.compile(r"\[([0-9]{1,6})\]|\.?([A-Za-z_]+)")  # a key a person wrote may look like an index

# pydantic's field names → the editor's input names (per reward kind where they differ)
_RULE_INPUTS = {
    "key": "key",
    "label": "label",
    "priority": "priority",
    "event": "events",
    "custom_event": "custom_event",
    "valid_from": "valid_from",
    "valid_to": "valid_to",
    "bonus": "bonus",
    "conditions": "items",
    "recurring": "recurring",
    "caps": "cap_event",
}
_REWARD_INPUTS = {
    ("percent", "rate"): "rate",
    ("flat", "amount"): "amount",
    ("tiered", "tiers"): "tiers",
    ("tiered", "period"): "tiered_period",
    ("tiered", "mode"): "tier_mode",
    ("threshold", "threshold"): "threshold",
    ("threshold", "amount"): "threshold_amount",
    ("threshold", "period"): "threshold_period",
    ("threshold", "metric"): "metric",
}
_WORDS = {
    "events": "events",
    "items": "conditions",
    "cap_event": "caps",
    "tiered_period": "period",
    "tier_mode": "mode",
    "threshold_period": "period",
    "threshold_amount": "bonus amount",
    "custom_event": "custom event",
    "valid_from": "valid from",
    "valid_to": "valid to",
    "cap_period": "cap per period",
    "cap_unit": "cap period",
}


def _place(trace: _Trace, state: State, path: str, message: str) -> None:
    """Attach one pydantic error (by its JSON path) to its input, named for a person."""
    if message.startswith("String should match pattern"):
        message = "lower-case letters, digits, - and _ only (e.g. resale-q1)"
    twice = _TWICE.match(message)
    if twice and path in ("", "(root)"):
        same = [n for n, r in enumerate(trace.rules) if r["key"] == twice.group(1)]
        if same:
            twin = trace.rules[same[-1]]
            trace.fail(
                twin, "key", f"{_rule_name(same[-1], twin)}, key", "another rule already uses this key"
            )
            return
    parts = [m.group(1) or m.group(2) for m in _PATH.finditer(path)]
    if not parts or parts[0] != "rules" or len(parts) < 2 or not parts[1].isdecimal():
        if parts and parts[0] == "overrides":
            trace.fail(state, "overrides", "Override levels", message)
        else:
            trace.fail(state, "", "The rules", message)
        return
    n = int(parts[1])
    rule = trace.rules[n] if n < len(trace.rules) else None
    if rule is None:
        trace.fail(state, "", "The rules", message)
        return
    name = _rule_name(n, rule)
    rest = parts[2:]
    if rule["mode"] == "json":
        trace.fail(rule, "json", f"{name} (JSON)", f"{'.'.join(rest) or 'rule'}: {message}")
        return
    if not rest:
        trace.fail(rule, "rule", name, message)
        return
    head = rest[0]
    if head == "reward":
        kind = rule["reward"]
        if len(rest) >= 3 and rest[1] == "tiers":
            m = int(rest[2])
            tier = trace.tiers.get((n, m))
            if tier is not None:
                field = rest[3] if len(rest) > 3 else "from"
                field = "from" if field in ("from", "from_") else "rate"
                trace.fail(tier, field, f"{name}, tier {m + 1}, {field}", message)
                return
        if len(rest) == 1 and kind == "tiered":
            _place_tiers(trace, rule, n, name, message)
            return
        field = _REWARD_INPUTS.get((kind, rest[1]), "reward") if len(rest) > 1 else "reward"
        trace.fail(rule, field, f"{name}, {_WORDS.get(field, field)}", message)
        return
    if head == "conditions" and len(rest) >= 3:
        j = int(rest[2])
        if len(rest) >= 5 and rest[3] in ("all", "any"):
            cond = trace.gconds.get((n, j, int(rest[4])))
            if cond is not None:
                trace.fail(cond, "value", f"{name}, condition {j + 1}.{int(rest[4]) + 1}", message)
                return
        item = trace.items.get((n, j))
        if item is not None:
            trace.fail(item, "value", f"{name}, condition {j + 1}", message)
            return
    if head == "caps" and len(rest) > 1:
        field = {"per_event": "cap_event", "per_period": "cap_period", "period": "cap_unit"}.get(rest[1])
        if field:
            trace.fail(rule, field, f"{name}, {_WORDS.get(field, field)}", message)
            return
    if head == "recurring" and len(rest) > 1 and rest[1] == "months":
        trace.fail(rule, "months", f"{name}, months", message)
        return
    field = _RULE_INPUTS.get(head, "rule")
    trace.fail(rule, field, f"{name}, {_WORDS.get(field, field)}", message)


def _place_tiers(trace: _Trace, rule: State, n: int, name: str, message: str) -> None:
    """A tiers-table problem (the first tier from 0, starts increasing) named at the offending row."""
    rows = [trace.tiers[(n, m)] for m in range(len(rule["tiers"])) if (n, m) in trace.tiers]
    try:
        starts = [_parse_number(t["from"]) for t in rows]
    except _Bad:
        starts = []
    if starts and starts[0] != 0:
        trace.fail(rows[0], "from", f"{name}, tier 1, from", "the first tier starts from 0")
        return
    for m in range(1, len(starts)):
        if starts[m] <= starts[m - 1]:
            trace.fail(
                rows[m],
                "from",
                f"{name}, tier {m + 1}, from",
                f"must be above {number(starts[m - 1])} (where tier {m} starts)",
            )
            return
    trace.fail(rule, "tiers", f"{name}, tiers", message)


def doc_of_state(state: State) -> dict[str, Any] | None:
    """The rules document of the editor's state, validated; on problems, ``None`` and the state carries
    them (``state["errors"]`` lists "Rule 2, tier 3, from: …"; each input's ``errors`` its own)."""
    trace = _Trace()
    rules: list[Any] = []
    for rule in state["rules"]:
        rule["errors"] = {}
        for item in rule["items"]:
            item["errors"] = {}
            for cond in item.get("conditions", []):
                cond["errors"] = {}
        for tier in rule["tiers"]:
            tier["errors"] = {}
        if rule["mode"] == "json":
            trace.rules.append(rule)
            try:
                raw = read_json(rule["json"])
                if isinstance(raw, dict) and isinstance(raw.get("key"), str):
                    rule["key"] = raw["key"]  # errors name the rule as its JSON now does
                rules.append(raw)
            except JsonProblem as exc:
                trace.fail(rule, "json", f"{_rule_name(len(trace.rules) - 1, rule)} (JSON)", str(exc))
                rules.append({})
            continue
        rules.append(_rule_doc(rule, trace))
    doc: dict[str, Any] = {"rules": rules}
    if state["overrides"]:
        try:
            doc["overrides"] = {
                "levels": [_json_number(_parse_number(p)) for p in state["overrides"].split(",") if p.strip()]
            }
        except _Bad as exc:
            trace.fail(state, "overrides", "Override levels", str(exc))
    try:
        check_rules(doc)  # the schema, and the limits of what is stored
    except RulesError as exc:
        for error in exc.errors:
            _place(trace, state, error["path"], error["message"])
    state["errors"] = []
    state["field_errors"] = {}
    if not trace.errors:
        return doc
    _distribute(trace, state)
    return None


def _distribute(trace: _Trace, state: State) -> None:
    for holder, name, where, message in trace.errors:
        state["errors"].append(f"{where}: {message}")
        if holder is state:
            state["field_errors"].setdefault(name, []).append(message)
        elif holder is not None:
            holder["errors"].setdefault(name or "rule", []).append(message)


def add_service_errors(state: State, errors: Mapping[str, list[str]]) -> None:
    """Errors the service raised (keyed ``rules.<path>``, see ``schemas.errors``) placed like the
    schema's: a refused field in a condition, for example."""
    trace = _Trace()
    for rule in state["rules"]:
        if rule["mode"] == "form":
            _rule_doc(rule, trace)
        else:
            trace.rules.append(rule)
    trace.errors = []  # the document was built without problems before the service saw it
    for key, messages in errors.items():
        path = key.removeprefix("rules.") if key.startswith("rules.") else ""
        for message in messages:
            _place(trace, state, path, message)
    state.setdefault("errors", [])
    state.setdefault("field_errors", {})
    _distribute(trace, state)


# --- the row buttons --------------------------------------------------------------------------------


def _new_condition(j: int, field: str, op: str) -> State:
    return {"j": j, "kind": "condition", "field": field, "op": op, "value": "", "errors": {}}


def _next(rows: list[State], key: str) -> int:
    return max((int(r[key]) for r in rows), default=-1) + 1


def _find(rows: list[State], key: str, value: str) -> State | None:
    return next((r for r in rows if str(r[key]) == value), None)


def apply_op(state: State, op: str) -> bool:
    """Perform a row button ("add_rule", "add_tier:3", "remove_item:3:1", "up:2", …) on the state; False
    for an unknown one. The rules are numbered by their place afterwards: the inputs' names carry the
    order the form posts back."""
    done = _apply(state, op)
    for n, rule in enumerate(state["rules"]):
        rule["i"] = n
    return done


def _apply(state: State, op: str) -> bool:
    verb, _, rest = op.partition(":")
    args = rest.split(":") if rest else []
    rules = state["rules"]
    if verb == "add_rule":
        i = _next(rules, "i")
        keys = {r["key"] for r in rules}
        n = len(rules) + 1
        while f"rule-{n}" in keys:
            n += 1
        new = blank_rule(i, f"rule-{n}")
        new["events"] = ["deal_won"]
        rules.append(new)
        return True
    rule = _find(rules, "i", args[0]) if args else None
    if rule is None:
        return False
    if verb in ("remove_rule", "up", "down"):
        at = rules.index(rule)
        if verb == "remove_rule":
            rules.remove(rule)
        elif verb == "up" and at > 0:
            rules[at - 1], rules[at] = rules[at], rules[at - 1]
        elif verb == "down" and at < len(rules) - 1:
            rules[at + 1], rules[at] = rules[at], rules[at + 1]
        return True
    items: list[State] = rule["items"]
    if verb == "add_cond":
        items.append(
            {"j": _next(items, "j"), "kind": "condition", "field": "amount", "op": "gte", "value": ""}
        )
        items[-1]["errors"] = {}
        return True
    if verb == "add_group":
        items.append(
            {
                "j": _next(items, "j"),
                "kind": "group",
                "match": "any",
                "conditions": [
                    {
                        "j": 0,
                        "kind": "condition",
                        "field": "partner.tier",
                        "op": "in",
                        "value": "",
                        "errors": {},
                    }
                ],
                "errors": {},
            }
        )
        return True
    if verb == "add_tier":
        rule["tiers"].append(_blank_tier(_next(rule["tiers"], "j")))
        return True
    if verb == "remove_tier" and len(args) == 2:
        tier = _find(rule["tiers"], "j", args[1])
        if tier is not None:
            rule["tiers"].remove(tier)
        rule["tiers"] = rule["tiers"] or [_blank_tier(0, "0")]
        return True
    item = _find(items, "j", args[1]) if len(args) >= 2 else None
    if item is None:
        return False
    if verb == "remove_item":
        items.remove(item)
        return True
    if verb == "add_gcond" and item["kind"] == "group":
        conds = item["conditions"]
        conds.append(
            {
                "j": _next(conds, "j"),
                "kind": "condition",
                "field": "amount",
                "op": "gte",
                "value": "",
                "errors": {},
            }
        )
        return True
    if verb == "remove_gcond" and item["kind"] == "group" and len(args) == 3:
        cond = _find(item["conditions"], "j", args[2])
        if cond is not None:
            item["conditions"].remove(cond)
        return True
    return False


# --- choices the template shows -----------------------------------------------------------------------


def choices() -> dict[str, Any]:
    return {
        "events": [(e, EVENT_WORDS.get(e, e)) for e in EVENTS],
        "fields": [(f, FIELD_WORDS.get(f, f)) for f in FORM_FIELDS],
        "ops": [(o, OP_WORDS.get(o, o)) for o in OPS],
        "rewards": [
            ("percent", "% of the amount"),
            ("flat", "a flat amount"),
            ("tiered", "volume tiers"),
            ("threshold", "a bonus at a volume threshold"),
        ],
        "periods": [(p, p) for p in PERIODS],
    }


def rows_for_template(state: State) -> State:
    """The state with what the template needs beside it: each rule's events ordered (its own first, in
    its order, so the posted order is the rule's), each tier's upper bound (the next tier's start)."""
    for rule in state["rules"]:
        own = [e for e in rule["events"] if e in EVENTS]
        rule["event_rows"] = [(e, EVENT_WORDS.get(e, e), True) for e in own] + [
            (e, EVENT_WORDS.get(e, e), False) for e in EVENTS if e not in own
        ]
        tiers = rule["tiers"]
        for m, tier in enumerate(tiers):
            upper = tiers[m + 1]["from"] if m + 1 < len(tiers) else ""
            try:
                tier["upper"] = number(_parse_number(upper)) if upper else ""
            except _Bad:
                tier["upper"] = upper
        i = rule["i"]
        rule["p"] = f"rule-{i}"
        for tier in tiers:
            tier["name"] = f"rule-{i}-tier-{tier['j']}"
        for item in rule["items"]:
            item["name"] = f"rule-{i}-c-{item['j']}"
            item["remove"] = f"remove_item:{i}:{item['j']}"
            conds = [item] if item["kind"] == "condition" else item["conditions"]
            for cond in conds:
                if cond is not item:
                    cond["name"] = f"{item['name']}-{cond['j']}"
                    cond["remove"] = f"remove_gcond:{i}:{item['j']}:{cond['j']}"
                metadata = cond["field"].startswith("metadata.")
                cond["choice"] = "metadata" if metadata else cond["field"]
                cond["meta"] = cond["field"].removeprefix("metadata.") if metadata else ""
    return state
