"""What the page does beside reading and writing rules: the row buttons (add, remove, move: posted
without saving, so the editor works without JavaScript), the choices of the selects, and each row's
names and bounds for the template."""

from __future__ import annotations

from typing import Any

from openprm.commissions.forms.rule_editor.build import blank_rule, blank_tier
from openprm.commissions.forms.rule_editor.values import FORM_FIELDS, PERIODS, Bad, State, parse_number
from openprm.commissions.rules import EVENTS, OPS
from openprm.commissions.selectors.words import EVENT_WORDS, FIELD_WORDS, OP_WORDS, number

# --- the row buttons --------------------------------------------------------------------------------


def _new_condition(j: int, field: str, op: str) -> State:
    return {"j": j, "kind": "condition", "field": field, "op": op, "value": "", "errors": {}}


def _next(rows: list[State], key: str) -> int:
    return max((int(r[key]) for r in rows), default=-1) + 1


def _find(rows: list[State], key: str, value: str) -> State | None:
    return next((r for r in rows if str(r[key]) == value), None)


def apply_op(state: State, op: str) -> bool:
    """Perform a row button ("add_rule", "add_tier:3", "remove_item:3:1", "up:2", "down_item:0:1",
    "up_gcond:0:2:1", …) on the state; False for an unknown one. The rules, their conditions and the
    conditions of each group are numbered by their place afterwards: the inputs' names carry the order
    the form posts back. A moved row is marked (``moved``: "up" or "down") for the page to put the focus
    back on its button."""
    for _, row in _rows(state):
        row.pop("moved", None)
    done = _apply(state, op)
    for n, rule in enumerate(state["rules"]):
        rule["i"] = n
        for m, item in enumerate(rule["items"]):
            item["j"] = m
            for k, cond in enumerate(item.get("conditions", [])):
                cond["j"] = k
    return done


def _rows(state: State) -> list[tuple[str, State]]:
    """Every movable row of the state: ("rule" | "item" | "gcond", row)."""
    out: list[tuple[str, State]] = []
    for rule in state["rules"]:
        out.append(("rule", rule))
        for item in rule["items"]:
            out.append(("item", item))
            out.extend(("gcond", cond) for cond in item.get("conditions", []))
    return out


def _move(rows: list[State], row: State, verb: str) -> None:
    """Swap a row with the one before ("up…") or after ("down…"); at the end it stays where it is."""
    at = rows.index(row)
    row["moved"] = "up" if verb.startswith("up") else "down"
    to = at - 1 if verb.startswith("up") else at + 1
    if 0 <= to < len(rows):
        rows[at], rows[to] = rows[to], rows[at]


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
    if verb == "remove_rule":
        rules.remove(rule)
        return True
    if verb in ("up", "down"):
        _move(rules, rule, verb)
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
        rule["tiers"].append(blank_tier(_next(rule["tiers"], "j")))
        return True
    if verb == "remove_tier" and len(args) == 2:
        tier = _find(rule["tiers"], "j", args[1])
        if tier is not None:
            rule["tiers"].remove(tier)
        rule["tiers"] = rule["tiers"] or [blank_tier(0, "0")]
        return True
    item = _find(items, "j", args[1]) if len(args) >= 2 else None
    if item is None:
        return False
    if verb == "remove_item":
        items.remove(item)
        return True
    if verb in ("up_item", "down_item"):
        _move(items, item, verb)
        return True
    if verb in ("up_gcond", "down_gcond") and item["kind"] == "group" and len(args) == 3:
        cond = _find(item["conditions"], "j", args[2])
        if cond is None:
            return False
        _move(item["conditions"], cond, verb)
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


# --- choices the template shows ----------------------------------------------------------------------


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
                tier["upper"] = number(parse_number(upper)) if upper else ""
            except Bad:
                tier["upper"] = upper
        i = rule["i"]
        rule["p"] = f"rule-{i}"
        n = state["rules"].index(rule)
        rule["focus"] = _focus(rule, "up" if n > 0 else "", "down" if n + 1 < len(state["rules"]) else "")
        for tier in tiers:
            tier["name"] = f"rule-{i}-tier-{tier['j']}"
        items = rule["items"]
        for m, item in enumerate(items):
            j = item["j"]
            item["name"] = f"rule-{i}-c-{j}"
            item["remove"] = f"remove_item:{i}:{j}"
            item["n"] = str(m + 1)  # "condition 2", as the problems name it
            item["up"] = f"up_item:{i}:{j}" if m > 0 else ""
            item["down"] = f"down_item:{i}:{j}" if m + 1 < len(items) else ""
            item["focus"] = _focus(item, item["up"], item["down"])
            conds = [item] if item["kind"] == "condition" else item["conditions"]
            for k, cond in enumerate(conds):
                if cond is not item:
                    cond["name"] = f"{item['name']}-{cond['j']}"
                    cond["remove"] = f"remove_gcond:{i}:{j}:{cond['j']}"
                    cond["n"] = f"{m + 1}.{k + 1}"
                    cond["up"] = f"up_gcond:{i}:{j}:{cond['j']}" if k > 0 else ""
                    cond["down"] = f"down_gcond:{i}:{j}:{cond['j']}" if k + 1 < len(conds) else ""
                cond["focus"] = _focus(cond, cond["up"], cond["down"])
                metadata = cond["field"].startswith("metadata.")
                cond["choice"] = "metadata" if metadata else cond["field"]
                cond["meta"] = cond["field"].removeprefix("metadata.") if metadata else ""
    return state


def _focus(row: State, up: str, down: str) -> str:
    """Which of a moved row's buttons gets the focus back (``autofocus``, also without JavaScript): the
    one of the way it moved, else the other once it reached the end; "" for a row that did not move."""
    way = row.get("moved")
    if way is None:
        return ""
    return (up or down) if way == "up" else (down or up)
