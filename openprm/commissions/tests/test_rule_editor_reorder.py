"""Reordering in the structured rules editor: a rule's conditions (and groups) and a group's conditions
move up and down with row buttons posted without saving (so it works without JavaScript); the order
the page posts back is the order saved. Any sequence of moves on any document the form shows saves the
same rules with the conditions in the moved order."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openprm.commissions.forms import rule_editor
from openprm.commissions.rules import parse_rules
from openprm.commissions.tests.editor_html import form_values
from openprm.commissions.tests.test_rule_editor import _through_the_page, documents
from openprm.commissions.tests.test_rule_editor_hostile import _render

A = {"field": "amount", "op": "gte", "value": 1000}
B = {"field": "partner.tier", "op": "in", "value": ["Gold", "Platinum"]}
C = {"field": "partner.region", "op": "eq", "value": "EMEA"}
D = {"field": "customer.new", "op": "eq", "value": True}
E = {"field": "metadata.plan_code", "op": "eq", "value": "pro"}
DOC = {
    "rules": [
        {
            "key": "resale",
            "event": ["deal_won"],
            "conditions": {"all": [A, B, {"any": [C, D, E]}]},
            "reward": {"type": "percent", "rate": 10},
        },
        {"key": "bounty", "event": ["deal_won"], "reward": {"type": "flat", "amount": 500}},
    ]
}


def _saved(state: rule_editor.State) -> dict[str, Any]:
    """The document the editor saves after the page is rendered and posted back."""
    doc = rule_editor.doc_of_state(_through_the_page(state))
    assert doc is not None
    return doc


def test_conditions_and_groups_move_and_save_in_their_new_order() -> None:
    state = rule_editor.state_of_doc(DOC)
    assert rule_editor.apply_op(state, "down_item:0:0")  # A below B
    state = _through_the_page(state)
    assert rule_editor.apply_op(state, "up_item:0:2")  # the group above A
    state = _through_the_page(state)
    assert rule_editor.apply_op(state, "up_gcond:0:1:2")  # in the group: E above D
    state = _through_the_page(state)
    assert rule_editor.apply_op(state, "up_gcond:0:1:1")  # … and above C
    assert _saved(state)["rules"][0]["conditions"] == {"all": [B, {"any": [E, C, D]}, A]}
    assert rule_editor.apply_op(state, "down:0")  # rules move as before
    assert [r["key"] for r in _saved(state)["rules"]] == ["bounty", "resale"]


def test_a_move_past_either_end_changes_nothing_and_odd_moves_are_refused() -> None:
    state = rule_editor.state_of_doc(DOC)
    for op in ("up_item:0:0", "down_item:0:2", "up_gcond:0:2:0", "down_gcond:0:2:2", "up:0", "down:1"):
        assert rule_editor.apply_op(state, op), op
    assert _saved(state) == DOC
    for op in (
        "up_item:0:9",  # no such condition
        "up_item:7:0",  # no such rule
        "up_gcond:0:0:0",  # condition 1 is not a group
        "up_gcond:0:2:9",
        "up_gcond:0:2",
        "down_item:0:" + "9" * 5000,
        "up_item:0:-1",
    ):
        assert not rule_editor.apply_op(state, op), op
    assert _saved(state) == DOC


def test_the_page_offers_each_move_it_can_make_named_for_a_person() -> None:
    page = _render(rule_editor.state_of_doc(DOC))
    for label, op in (
        ("Move condition 2 up", "up_item:0:1"),
        ("Move condition 1 down", "down_item:0:0"),
        ("Move condition 2 down", "down_item:0:1"),
        ("Move group 3 up", "up_item:0:2"),
        ("Move condition 3.2 up", "up_gcond:0:2:1"),
        ("Move condition 3.1 down", "down_gcond:0:2:0"),
    ):
        assert f'value="{op}"' in page and f'aria-label="{label}"' in page, label
    for absent in ("up_item:0:0", "down_item:0:2", "up_gcond:0:2:0", "down_gcond:0:2:2", "up_item:1:"):
        assert f'value="{absent}' not in page, absent
    assert "rule-0-c-2-1-field" in form_values(page, "rule-editor")


MOVES = st.lists(
    st.tuples(
        st.sampled_from(["up", "down"]),
        st.integers(min_value=0, max_value=4),
        st.integers(min_value=0, max_value=4),
        st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    ),
    max_size=8,
)


def _expected(doc: dict[str, Any], way: str, i: int, j: int, k: int | None) -> bool:
    """The same move on the document itself (the model the editor must agree with): a swap of
    neighbours in the rule's conditions or in one group's; False when the editor refuses it."""
    rules = doc["rules"]
    if i >= len(rules) or "conditions" not in rules[i]:
        return False
    nodes = next(iter(rules[i]["conditions"].values()))
    if j >= len(nodes):
        return False
    if k is not None:
        if "field" in nodes[j]:
            return False
        nodes = next(iter(nodes[j].values()))
        if k >= len(nodes):
            return False
        j = k
    to = j - 1 if way == "up" else j + 1
    if 0 <= to < len(nodes):
        nodes[j], nodes[to] = nodes[to], nodes[j]
    return True


@settings(max_examples=60, deadline=None)
@given(documents(), MOVES)
def test_any_moves_save_the_same_rules_with_the_conditions_in_the_moved_order(
    doc: dict[str, Any], moves: list[tuple[str, int, int, int | None]]
) -> None:
    state = rule_editor.state_of_doc(doc)
    model = json.loads(json.dumps(doc))
    for way, i, j, k in moves:
        op = f"{way}_item:{i}:{j}" if k is None else f"{way}_gcond:{i}:{j}:{k}"
        assert rule_editor.apply_op(state, op) == _expected(model, way, i, j, k), op
        state = _through_the_page(state)  # each move is a post of the page, as a browser sends it
    saved = rule_editor.doc_of_state(state)
    assert saved is not None, state["errors"]
    assert parse_rules(saved) == parse_rules(model)  # conditions are lists: their order counts


def _focused(state: rule_editor.State) -> list[str]:
    """The aria-labels of the buttons the page focuses (autofocus)."""
    page = _render(state)
    return re.findall(r'aria-label="([^"]+)"[^>]*\bautofocus\b', page)


def test_the_moved_row_keeps_the_focus_on_its_button_and_nothing_else_takes_it() -> None:
    state = rule_editor.state_of_doc(DOC)
    assert _focused(state) == []  # the page as it opens: no focus taken
    rule_editor.apply_op(state, "up_item:0:2")
    assert _focused(state) == ["Move group 2 up"]  # press again to move further
    rule_editor.apply_op(state, "up_item:0:1")
    assert _focused(state) == ["Move group 1 down"]  # at the top: the other way
    rule_editor.apply_op(state, "down_gcond:0:0:0")
    assert _focused(state) == ["Move condition 1.2 down"]
    rule_editor.apply_op(state, "down:0")
    assert _focused(state) == ["Move rule 2 up"]
    rule_editor.apply_op(state, "add_cond:0")
    assert _focused(state) == []  # an added row: the script focuses its input
