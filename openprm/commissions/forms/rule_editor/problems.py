"""The rules document of the editor's state, validated as the service stores it; each problem (the
schema's by its JSON path, or the service's) attached to its input and named for a person."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from openprm.commissions.forms.plans import JsonProblem, read_json
from openprm.commissions.forms.rule_editor.build import Trace, rule_doc, rule_name
from openprm.commissions.forms.rule_editor.values import Bad, State, json_number, parse_number
from openprm.commissions.rules import RulesError
from openprm.commissions.selectors.words import number
from openprm.commissions.services.plans import check_rules

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


def _place(trace: Trace, state: State, path: str, message: str) -> None:
    """Attach one pydantic error (by its JSON path) to its input, named for a person."""
    if message.startswith("String should match pattern"):
        message = "lower-case letters, digits, - and _ only (e.g. resale-q1)"
    twice = _TWICE.match(message)
    if twice and path in ("", "(root)"):
        same = [n for n, r in enumerate(trace.rules) if r["key"] == twice.group(1)]
        if same:
            twin = trace.rules[same[-1]]
            trace.fail(twin, "key", f"{rule_name(same[-1], twin)}, key", "another rule already uses this key")
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
    name = rule_name(n, rule)
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


def _place_tiers(trace: Trace, rule: State, n: int, name: str, message: str) -> None:
    """A tiers-table problem (the first tier from 0, starts increasing) named at the offending row."""
    rows = [trace.tiers[(n, m)] for m in range(len(rule["tiers"])) if (n, m) in trace.tiers]
    try:
        starts = [parse_number(t["from"]) for t in rows]
    except Bad:
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
    trace = Trace()
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
                trace.fail(rule, "json", f"{rule_name(len(trace.rules) - 1, rule)} (JSON)", str(exc))
                rules.append({})
            continue
        rules.append(rule_doc(rule, trace))
    doc: dict[str, Any] = {"rules": rules}
    if state["overrides"]:
        try:
            doc["overrides"] = {
                "levels": [json_number(parse_number(p)) for p in state["overrides"].split(",") if p.strip()]
            }
        except Bad as exc:
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


def _distribute(trace: Trace, state: State) -> None:
    for holder, name, where, message in trace.errors:
        state["errors"].append(f"{where}: {message}")
        if holder is state:
            state["field_errors"].setdefault(name, []).append(message)
        elif holder is not None:
            holder["errors"].setdefault(name or "rule", []).append(message)


def add_service_errors(state: State, errors: Mapping[str, list[str]]) -> None:
    """Errors the service raised (keyed ``rules.<path>``, see ``schemas.errors``) placed like the
    schema's: a refused field in a condition, for example."""
    trace = Trace()
    for rule in state["rules"]:
        if rule["mode"] == "form":
            rule_doc(rule, trace)
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
