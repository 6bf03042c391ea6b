"""The structured rules editor against the JSON: any valid rules document, shown in the form (rendered,
read back as a browser would post it) and saved, is the same rules; what the form can show shows as a
form (no rule falls back to JSON); what it cannot is kept exactly as written; errors name the rule and
the input."""

from __future__ import annotations

import datetime
import string
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from django.template.loader import render_to_string
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from openprm.commissions.forms import rule_editor
from openprm.commissions.forms.plans import EXAMPLE_RULES, DraftForm
from openprm.commissions.rules import EVENTS, OPS, parse_rules
from openprm.commissions.tests.editor_html import form_values

TEXT = st.text(alphabet=string.ascii_letters + string.digits + " .-_%&<>'\"éß€", max_size=20).map(str.strip)
WORD = (
    st.text(alphabet=string.ascii_letters + string.digits + " .-_&<>'é", min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
MONEY = st.decimals(min_value=0, max_value=10**9, places=2).map(
    lambda d: int(d) if d == d.to_integral_value() else float(d)
)
RATE = st.decimals(min_value=0, max_value=100, places=4).map(
    lambda d: int(d) if d == d.to_integral_value() else float(d)
)
PERIOD = st.sampled_from(["month", "quarter", "year"])


@st.composite
def condition(draw: Any) -> dict[str, Any]:
    field = draw(st.sampled_from([*rule_editor.FORM_FIELDS, "metadata.plan_code", "metadata.seats"]))
    op = draw(st.sampled_from(OPS))
    if field in rule_editor.NUMERIC_FIELDS or (
        field.startswith("metadata.") and op in ("gt", "gte", "lt", "lte")
    ):
        scalar: Any = MONEY
    elif field in rule_editor.BOOL_FIELDS:
        scalar = st.booleans()
    else:
        scalar = WORD
    value = draw(st.lists(scalar, max_size=3)) if op in ("in", "not_in") else draw(scalar)
    return {"field": field, "op": op, "value": value}


@st.composite
def conditions(draw: Any) -> dict[str, Any]:
    items = draw(
        st.lists(
            st.one_of(
                condition(),
                st.builds(
                    lambda m, cs: {m: cs},
                    st.sampled_from(["all", "any"]),
                    st.lists(condition(), min_size=1, max_size=3),
                ),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return {draw(st.sampled_from(["all", "any"])): items}


@st.composite
def reward(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["percent", "flat", "tiered", "threshold"]))
    if kind == "percent":
        return {"type": "percent", "rate": draw(RATE)}
    if kind == "flat":
        return {"type": "flat", "amount": draw(MONEY)}
    if kind == "tiered":
        starts = sorted(draw(st.sets(st.integers(min_value=1, max_value=10**7), max_size=4)))
        return {
            "type": "tiered",
            "period": draw(PERIOD),
            "mode": draw(st.sampled_from(["marginal", "retroactive"])),
            "tiers": [{"from": s, "rate": draw(RATE)} for s in [0, *starts]],
        }
    return {
        "type": "threshold",
        "metric": draw(st.sampled_from(["amount", "count"])),
        "threshold": draw(MONEY),
        "period": draw(PERIOD),
        "amount": draw(MONEY),
    }


@st.composite
def rule(draw: Any, n: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)) + f"-{n}",
        "event": draw(st.lists(st.sampled_from(EVENTS), min_size=1, max_size=3, unique=True)),
        "reward": draw(reward()),
    }
    if "custom" in doc["event"]:
        doc["custom_event"] = draw(WORD)
    if label := draw(TEXT):
        doc["label"] = label
    if draw(st.booleans()):
        doc["priority"] = draw(st.integers(min_value=-1000, max_value=1000))
    if draw(st.booleans()):
        doc["conditions"] = draw(conditions())
    recurring = draw(st.sampled_from([None, "months", "lifetime"]))
    if recurring == "months":
        doc["recurring"] = {"months": draw(st.integers(min_value=1, max_value=600))}
    elif recurring == "lifetime":
        doc["recurring"] = {"lifetime": True}
    caps = {k: draw(MONEY) for k in ("per_event", "per_period") if draw(st.booleans())}
    if caps:
        doc["caps"] = {**caps, "period": draw(PERIOD)}
    if draw(st.booleans()):
        start = draw(st.dates(min_value=datetime.date(2024, 1, 1), max_value=datetime.date(2030, 1, 1)))
        doc["valid_from"] = start.isoformat()
        doc["valid_to"] = (start + datetime.timedelta(days=draw(st.integers(0, 400)))).isoformat()
    if draw(st.booleans()):
        doc["bonus"] = True
    return doc


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    count = draw(st.integers(min_value=0, max_value=4))
    doc: dict[str, Any] = {"rules": [draw(rule(n)) for n in range(count)]}
    if draw(st.booleans()):
        doc["overrides"] = {"levels": draw(st.lists(RATE, min_size=1, max_size=5))}
    parse_rules(doc)  # the strategy makes valid documents only
    return doc


def _through_the_page(state: rule_editor.State) -> rule_editor.State:
    """Render the editor and read it back as the browser would post it."""
    request = RequestFactory().get("/commissions/versions/x/")
    html = render_to_string(
        "commissions/_rule_editor.html",
        {
            "editor": rule_editor.rows_for_template(state),
            "draft": DraftForm(initial={"effective_from": datetime.date(2026, 1, 1)}),
            "choices": rule_editor.choices(),
            "plan": {"currency": "USD"},
            "request": request,
        },
    )
    data = QueryDict(mutable=True)
    for name, values in form_values(html, "rule-editor").items():
        data.setlist(name, values)
    return rule_editor.state_of_post(data)


@settings(max_examples=60)
@given(documents())
def test_every_document_the_form_can_show_shows_as_a_form_and_saves_back_the_same(
    doc: dict[str, Any],
) -> None:
    state = rule_editor.state_of_doc(doc)
    assert [r["why_json"] for r in state["rules"] if r["mode"] == "json"] == []
    posted = _through_the_page(state)
    back = rule_editor.doc_of_state(posted)
    assert back is not None, posted["errors"]
    assert parse_rules(back) == parse_rules(doc)
    assert rule_editor.doc_of_state(rule_editor.state_of_doc(back)) == back  # the form's JSON is stable


DEEP = {
    "key": "deep",
    "event": ["deal_won"],
    "conditions": {"all": [{"any": [{"all": [{"field": "amount", "op": "gt", "value": 5}]}]}]},
    "reward": {"type": "percent", "rate": 3},
}
TEXT_NUMBER = {
    "key": "typed",
    "event": ["deal_won"],
    "conditions": {"all": [{"field": "amount", "op": "gt", "value": "5000"}]},
    "reward": {"type": "flat", "amount": 5},
}


@settings(max_examples=30)
@given(documents(), st.sampled_from([DEEP, TEXT_NUMBER]), st.integers(min_value=0, max_value=4))
def test_a_rule_only_json_can_show_is_kept_exactly(doc: dict[str, Any], odd: dict[str, Any], at: int) -> None:
    doc["rules"].insert(min(at, len(doc["rules"])), odd)
    state = rule_editor.state_of_doc(doc)
    kept = [r for r in state["rules"] if r["mode"] == "json"]
    assert [r["key"] for r in kept] == [odd["key"]]
    assert kept[0]["why_json"] in (
        "conditions nested more than one group deep",
        "a value the form would write differently (a number written as text, a list item with a comma, …)",
    )
    back = rule_editor.doc_of_state(_through_the_page(state))
    assert back is not None
    assert back["rules"][doc["rules"].index(odd)] == odd
    assert parse_rules(back) == parse_rules(doc)


def _errors(state: rule_editor.State) -> list[str]:
    assert rule_editor.doc_of_state(state) is None
    return state["errors"]


def test_errors_name_the_rule_the_row_and_the_input() -> None:
    state = rule_editor.state_of_doc(EXAMPLE_RULES)
    tiers = state["rules"][0]["tiers"]
    tiers.append({"j": 2, "from": "50000", "rate": "20", "errors": {}})
    assert _errors(state) == ["Rule 1 (resale), tier 3, from: must be above 50,000 (where tier 2 starts)"]
    assert tiers[2]["errors"] == {"from": ["must be above 50,000 (where tier 2 starts)"]}
    tiers[2]["from"] = "80000"
    state["rules"][1]["items"][0]["value"] = "ten thousand"
    state["rules"][2]["events"] = []
    state["rules"][2]["recurring"] = "months"
    state["rules"][2]["months"] = "0"
    state["overrides"] = "5, x"
    assert _errors(state) == [
        "Rule 2 (big-deal-bounty), condition 1, value: 'ten thousand' is not a number",
        "Rule 3 (saas), events: choose at least one event",
        "Override levels: 'x' is not a number",
        "Rule 3 (saas), months: Input should be greater than or equal to 1",
    ]
    assert state["field_errors"] == {"overrides": ["'x' is not a number"]}


def test_the_row_buttons_add_remove_and_move() -> None:
    state = rule_editor.state_of_doc(EXAMPLE_RULES)
    assert rule_editor.apply_op(state, "add_rule")
    assert [r["key"] for r in state["rules"]] == ["resale", "big-deal-bounty", "saas", "rule-4"]
    assert rule_editor.apply_op(state, "up:3") and rule_editor.apply_op(state, "remove_rule:1")
    assert [r["key"] for r in state["rules"]] == ["resale", "rule-4", "saas"]
    state = _through_the_page(state)  # the order is what the page posts back
    assert [r["key"] for r in state["rules"]] == ["resale", "rule-4", "saas"]
    assert rule_editor.apply_op(state, "add_tier:0") and rule_editor.apply_op(state, "remove_tier:0:0")
    assert [t["from"] for t in state["rules"][0]["tiers"]] == ["50000", ""]
    assert rule_editor.apply_op(state, "add_group:2") and rule_editor.apply_op(state, "add_gcond:2:0")
    assert len(state["rules"][2]["items"][0]["conditions"]) == 2
    assert not rule_editor.apply_op(state, "remove_item:9:0")
    state["rules"][2]["items"][0]["conditions"][0]["value"] = "Gold, Platinum"
    state["rules"][2]["items"][0]["conditions"][1]["value"] = "100"
    state["rules"][0]["tiers"][0]["from"] = "0"
    state["rules"][0]["tiers"] = state["rules"][0]["tiers"][:1]
    state["rules"][0]["tiers"][0]["rate"] = "12.5"
    state["rules"][1]["rate"] = "5"
    doc = rule_editor.doc_of_state(state)
    assert doc is not None, state["errors"]
    assert doc["rules"][2]["conditions"] == {
        "all": [
            {
                "any": [
                    {"field": "partner.tier", "op": "in", "value": ["Gold", "Platinum"]},
                    {"field": "amount", "op": "gte", "value": 100},
                ]
            }
        ]
    }
    assert doc["rules"][0]["reward"]["tiers"] == [{"from": 0, "rate": 12.5}]
    assert parse_rules(doc).rules[0].reward.tiers[0].rate == Decimal("12.5")  # type: ignore[union-attr]


def test_a_json_rule_in_the_form_is_checked_like_the_rest() -> None:
    state = rule_editor.state_of_doc({"rules": [EXAMPLE_RULES["rules"][1], DEEP]})
    state["rules"][1]["json"] = (
        '{"key": "deeper", "event": ["deal_won"], "reward": {"type": "percent", "rate": 300}}'
    )
    assert _errors(state) == [
        "Rule 2 (deeper) (JSON): reward.rate: Input should be less than or equal to 100"
    ]
    state["rules"][1]["json"] = '{"key": "deeper",'
    assert _errors(state)[0].startswith("Rule 2 (deeper) (JSON): not valid JSON: ")
    assert state["rules"][1]["errors"]["json"]
