"""The state of a rule → its JSON, each part traced to the input it came from (``Trace``) and each
value the form refuses named there; blank rows of the form."""

from __future__ import annotations

import datetime
from typing import Any

from openprm.commissions.forms.rule_editor.values import (
    Bad,
    State,
    condition_value,
    json_number,
    parse_number,
)


def blank_tier(j: int, start: str = "") -> State:
    return {"j": j, "from": start, "rate": "", "errors": {}}


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
        "tiers": [blank_tier(0, "0")],  # the first tier starts from 0
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


class Trace:
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


def rule_name(n: int, state: State) -> str:
    key = str(state.get("key") or "")
    return f"Rule {n + 1}" + (f" ({key if len(key) <= 60 else key[:60] + '…'})" if key else "")


def _money(
    trace: Trace, state: State, name: str, where: str, *, required: bool = False
) -> int | float | None:
    text = str(state[name])
    if not text:
        if required:
            trace.fail(state, name, where, "required")
        return None
    try:
        return json_number(parse_number(text))
    except Bad as exc:
        trace.fail(state, name, where, str(exc))
        return None


def _condition_doc(trace: Trace, holder: State, where: str) -> dict[str, Any] | None:
    field, op = holder["field"], holder["op"]
    if not field:
        return None
    if field == "metadata.":
        trace.fail(holder, "field", f"{where}, property", "name the property (metadata key)")
    try:
        value = condition_value(holder["value"], field, op)
    except Bad as exc:
        trace.fail(holder, "value", f"{where}, value", str(exc))
        value = holder["value"]
    return {"field": field, "op": op, "value": value}


def rule_doc(state: State, trace: Trace) -> dict[str, Any]:
    n = len(trace.rules)
    trace.rules.append(state)
    name = rule_name(n, state)
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
