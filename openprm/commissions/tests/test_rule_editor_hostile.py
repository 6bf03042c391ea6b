"""Hostile input to the rules editors and the plans API never answers 500: numbers too large, too small,
not finite or too long to read, nesting too deep, text a database cannot store, very long text, keys
given twice, rows posted without their inputs. The structured editor names the rule and the input, the
JSON editor the problem, the API answers 422 naming the path, also for a body nested thousands of levels
deep (400 for a body it cannot read)."""

from __future__ import annotations

import datetime
import functools
import html
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from openprm.commissions.forms import rule_editor
from openprm.commissions.forms.plans import EXAMPLE_RULES, DraftForm
from openprm.commissions.models import PlanVersion
from openprm.commissions.services import plans as plan_services
from openprm.commissions.tests.editor_html import form_values
from openprm.commissions.tests.test_views_rule_editor import _draft, _stored, _url
from openprm.core.scoping import scope

pytestmark = pytest.mark.django_db

TOO_LARGE = "is too large: at most 14 digits before the decimal point"


def _post_editor(world: Any, change: dict[str, str], drop: tuple[str, ...] = ()) -> tuple[Any, str, Any]:
    """The example draft's structured editor posted with ``change`` (and without ``drop``'s inputs)."""
    version = _draft(world, EXAMPLE_RULES)
    client = client_of(world)
    values = form_values(client.get(_url(version)).content.decode(), "rule-editor")
    values.update({k: [v] for k, v in change.items()})
    for name in drop:
        values.pop(name, None)
    body = urlencode(values, doseq=True)  # as a browser posts the form
    answer = client.post(_url(version), body, content_type="application/x-www-form-urlencoded")
    return answer, html.unescape(answer.content.decode()), version


def client_of(world: Any) -> Any:
    client = Client()
    client.force_login(world.finance, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _json_rule(rule_text: str) -> dict[str, str]:
    return {"rule-0-mode": "json", "rule-0-json": rule_text}


def _rule(**reward: Any) -> str:
    return json.dumps(
        {"key": "resale", "event": ["deal_won"], "reward": reward or {"type": "flat", "amount": 1}}
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"rule-0-c-0-field": "amount", "rule-0-c-0-op": "in", "rule-0-c-0-value": "1e5000, 2"},
            f"Rule 1 (resale), condition 1, value: '1e5000' {TOO_LARGE}",
        ),
        ({"rule-0-tier-1-from": "1e5000"}, f"Rule 1 (resale), tier 2, from: '1e5000' {TOO_LARGE}"),
        (
            {"rule-0-tier-1-from": "9" * 100000},
            f"Rule 1 (resale), tier 2, from: '{'9' * 24}…' {TOO_LARGE}",
        ),
        (
            {"rule-0-tier-0-rate": "1e-999999"},
            "Rule 1 (resale), tier 1, rate: '1e-999999' has too many decimals: at most 6",
        ),
        ({"rule-0-tier-0-rate": "NaN"}, "Rule 1 (resale), tier 1, rate: 'NaN' is not a number"),
        ({"rule-0-tier-1-from": "-Infinity"}, "Rule 1 (resale), tier 2, from: '-Infinity' is not a number"),
        ({"rule-1-amount": "sNaN"}, "Rule 2 (big-deal-bounty), amount: 'sNaN' is not a number"),
        ({"overrides": "1e400"}, f"Override levels: '1e400' {TOO_LARGE}"),
        ({"rule-0-priority": "9" * 5000}, "Rule 1 (resale), priority: a whole number"),
        (
            {"rule-0-priority": "9" * 20},
            "Rule 1 (resale), priority: must have at most 14 digits before the decimal point",
        ),
        ({"rule-2-months": "9" * 5000}, "Rule 3 (saas), months: a whole number of months"),
        ({"rule-0-label": "x" * 100000}, "Rule 1 (resale), label: String should have at most 200 characters"),
        (
            {"rule-0-label": "before\x00after"},
            "Rule 1 (resale), label: contains a character that is not text (U+0000 or an unpaired surrogate)",
        ),
        (
            {"rule-0-key": "k" * 100000},
            f"Rule 1 ({'k' * 60}…), key: String should have at most 60 characters",
        ),
        ({"rule-1-key": "resale"}, "Rule 2 (resale), key: another rule already uses this key"),
        (
            {"rule-1-c-0-field": "product", "rule-1-c-0-value": "x" * 2000, "rule-1-c-0-op": "eq"},
            "Rule 2 (big-deal-bounty), condition 1: must have at most 1,000 characters",
        ),
        (
            _json_rule("[" * 100000 + "]" * 100000),
            "Rule 1 (resale) (JSON): not valid JSON: nested too deeply",
        ),
        (
            _json_rule('{"key": ' + "9" * 5000 + "}"),
            "Rule 1 (resale) (JSON): not valid JSON: a number has too",
        ),
        (
            _json_rule('{"key": "resale", "key": "other"}'),
            'Rule 1 (resale) (JSON): "key" is given twice in one object (only one would be kept)',
        ),
        (
            _json_rule(_rule(type="percent", rate=1).replace('"rate": 1', '"rate": 1e5000')),
            "Rule 1 (resale) (JSON): reward.rate: must be a finite number",
        ),
        (
            _json_rule(_rule(type="flat", amount=1).replace('"amount": 1', '"amount": NaN')),
            "Rule 1 (resale) (JSON): reward.amount: must be a finite number",
        ),
        (
            _json_rule(_rule().replace('"resale"', '"resale", "label": "a\\u0000b"')),
            "Rule 1 (resale) (JSON): label: contains a character that is not text",
        ),
        (
            _json_rule(_rule().replace('"amount": 1', '"amount": 1, "tiers[' + "9" * 990 + ']": "\\u0000"')),
            "Rule 1 (resale) (JSON): reward.tiers: contains a character that is not text",
        ),
        (
            _json_rule(_rule().replace('"resale"', '"resale", "label": "\\ud800"')),
            "Rule 1 (resale) (JSON): label: contains a character that is not text",
        ),
        (
            _json_rule(
                _rule().replace(
                    '"resale"',
                    '"resale", "conditions": '
                    + '{"all": [' * 40
                    + '{"field": "amount", "op": "gt", "value": 1}'
                    + "]}" * 40,
                )
            ),
            "Rule 1 (resale) (JSON): conditions: nested more than 32 levels deep",
        ),
    ],
)
def test_the_structured_editor_names_what_is_wrong(world: Any, change: dict[str, str], message: str) -> None:
    answer, page, version = _post_editor(world, change)
    assert answer.status_code == 200
    assert message in page
    assert _stored(world, version) == EXAMPLE_RULES  # nothing saved


def test_negative_zero_and_unicode_save_as_typed(world: Any) -> None:
    label = "Revendeurs · 10 % → 15 % 🚀 ﷽"
    answer, page, version = _post_editor(world, {"rule-0-tier-0-from": "-0", "rule-0-label": label})
    assert answer.status_code == 302, page[:2000]
    stored = _stored(world, version)["rules"][0]
    assert stored["label"] == label
    assert stored["reward"]["tiers"][0]["from"] == 0


@pytest.mark.parametrize(
    "drop",
    [
        ("rule-0-reward", "rule-0-match", "rule-0-mode", "rule-0-tier-0-rate"),
        ("effective_from", "rule-1-c-0-op", "rule-1-c-0-value"),
        ("rule-0-tier_mode", "rule-0-tiered_period", "rule-2-recurring", "rule-2-cap_unit"),
    ],
)
def test_inputs_left_out_of_the_post_do_not_break_the_editor(world: Any, drop: tuple[str, ...]) -> None:
    answer, page, _version = _post_editor(world, {}, drop)
    assert answer.status_code in (200, 302)
    if answer.status_code == 200:
        assert 'id="rule-editor"' in page


@pytest.mark.parametrize(
    "change",
    [
        {f"rule-{'1' * 5000}-key": "huge-index"},
        {"rule-٣-key": "arabic-digit"},
        {"rule-0-c-99999999999999999999-field": "amount"},
        {"op": "remove_tier:0:" + "9" * 5000},
        {"op": "up:" + "x" * 10000},
        {"op": "add_gcond:0:" + "1" * 5000},
        {"op": "down_item:0:" + "9" * 5000},
        {"op": "up_gcond:0:0:" + "1" * 5000},
        {"op": "up_item:x:y"},
        {"op": "down_gcond:0:0"},
        {"rule-0-reward": "bogus", "rule-0-match": "neither", "rule-0-tier_mode": "sideways"},
        {
            "rule-0-c-0-field": "metadata",
            "rule-0-c-0-meta": "",
            "rule-0-c-0-op": "gt",
            "rule-0-c-0-value": "1",
        },
        {"rule-0-c-0-field": "no.such", "rule-0-c-0-op": "zz", "rule-0-c-0-value": "1"},
        {"rule-0-valid_from": "9999-99-99", "rule-0-valid_to": "0" * 10000},
    ],
)
def test_odd_posts_answer_the_editor_again(world: Any, change: dict[str, str]) -> None:
    answer, page, _version = _post_editor(world, change)
    assert answer.status_code in (200, 302)
    if answer.status_code == 200:
        assert 'id="rule-editor"' in page


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("[" * 100000, "Not valid JSON: nested too deeply to read."),
        ('{"rules": [' + "9" * 5000 + "]}", "Not valid JSON: a number has too many digits to read."),
        ('{"rules": [], "rules": []}', '"rules" is given twice in one object'),
        (
            '{"rules": [], "overrides": {"levels": [Infinity]}}',
            "overrides.levels[0]: must be a finite number",
        ),
        (
            json.dumps({"rules": [json.loads(_rule())]}).replace('"amount": 1', '"amount": 1e400'),
            "rules[0].reward.amount: must be a finite number",
        ),
    ],
)
def test_the_json_editor_names_what_is_wrong(world: Any, rules: str, message: str) -> None:
    version = _draft(world, EXAMPLE_RULES)
    client = client_of(world)
    answer = client.post(_url(version), {"rules": rules, "effective_from": "2026-01-01"})
    assert answer.status_code == 200
    assert message in html.unescape(answer.content.decode())
    assert _stored(world, version) == EXAMPLE_RULES


def test_publishing_a_draft_stored_beyond_the_limits_names_the_problem(world: Any, api_for: Any) -> None:
    version = _draft(world, EXAMPLE_RULES)
    rules = json.loads(json.dumps(EXAMPLE_RULES))
    rules["rules"][0]["priority"] = 10**20  # stored before the limits, as a draft
    with scope(world.system.access_scope()):
        PlanVersion.objects.filter(pk=version.pk).update(rules=rules)
    page = client_of(world).post(
        _url(version), {"action": "publish", "effective_from": "2026-01-01", "confirm": "on"}
    )
    assert page.status_code == 200
    assert "rules[0].priority: must have at most 14 digits" in page.content.decode()
    answer = api_for(world.finance).post(
        f"/api/v1/commissions/versions/{version.public_id}/publish",
        data="{}",
        content_type="application/json",
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "rules.rules[0].priority"
    with scope(world.system.access_scope()):
        assert PlanVersion.objects.get(pk=version.pk).status == PlanVersion.Status.DRAFT


def test_a_new_version_page_names_what_is_wrong_too(world: Any) -> None:
    plan = _draft(world, EXAMPLE_RULES).plan
    client = client_of(world)
    url = f"/commissions/plans/{plan.public_id}/versions/new/"
    values = form_values(client.get(url).content.decode(), "rule-editor")
    values.update({"rule-0-tier-1-from": ["1e5000"], "effective_from": ["2026-02-01"]})
    body = urlencode(values, doseq=True)
    answer = client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert f"Rule 1 (resale), tier 2, from: '1e5000' {TOO_LARGE}" in html.unescape(answer.content.decode())
    as_json = client.post(url, {"rules": "[" * 100000, "effective_from": "2026-02-01"})
    assert as_json.status_code == 200
    assert "Not valid JSON: nested too deeply to read." in as_json.content.decode()
    with scope(world.system.access_scope()):
        assert PlanVersion.objects.filter(plan=plan).count() == 1


def test_the_what_if_of_a_draft_stored_invalid_names_the_problem(world: Any, api_for: Any) -> None:
    version = _draft(world, EXAMPLE_RULES)
    rules = json.loads(json.dumps(EXAMPLE_RULES))
    rules["rules"][1]["key"] = "Big deal"  # stored before its rules were checked as they are now
    with scope(world.system.access_scope()):
        PlanVersion.objects.filter(pk=version.pk).update(rules=rules)
    client = client_of(world)
    page = client.get(f"/commissions/versions/{version.public_id}/what-if/", follow=True)
    assert page.status_code == 200
    assert "Fix the rules first: rules[1].key: String should match pattern" in html.unescape(
        page.content.decode()
    )
    answer = api_for(world.finance).post(
        f"/api/v1/commissions/versions/{version.public_id}/simulate",
        data='{"months": 1}',
        content_type="application/json",
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "rules.rules[1].key"


# --- the API ------------------------------------------------------------------------------------------


def _body(rule_json: str) -> str:
    return '{"effective_from": "2026-01-01", "rules": {"rules": [' + rule_json + "]}}"


def _condition(value_json: str, op: str = "eq", field: str = "metadata.plan") -> str:
    return _rule().replace(
        '"resale"',
        f'"resale", "conditions": {{"all": [{{"field": "{field}", "op": "{op}", "value": {value_json}}}]}}',
    )


# deeper than a rules document holds (32 levels), within what a body may (100: see DEEPER below)
DEEP = '{"all": [' * 40 + '{"field": "amount", "op": "gt", "value": 1}' + "]}" * 40


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (_body(_condition("1e5000", "gt", "amount")), "rules.rules[0].conditions.all[0].value", "finite"),
        (_body(_condition("NaN")), "rules.rules[0].conditions.all[0].value", "must be a finite number"),
        (_body(_condition("-Infinity")), "rules.rules[0].conditions.all[0].value", "must be a finite number"),
        (
            _body(_condition("1" + "0" * 20, "gt", "amount")),
            "rules.rules[0].conditions.all[0].value",
            "must have at most 14 digits before the decimal point",
        ),
        (
            _body(_rule().replace('"amount": 1', '"amount": 1e5000')),
            "rules.rules[0].reward.amount",
            "must be a finite number",
        ),
        (
            _body(_rule().replace('"amount": 1', '"amount": 1e-999999')),
            "rules.rules[0].reward.amount",
            "",  # 0.0 in JSON: the schema's own answer, if any; never a 500
        ),
        (_body(_condition('"a\\u0000b"')), "rules.rules[0].conditions.all[0].value", "not text"),
        (_body(_condition('"\\udfff"')), "rules.rules[0].conditions.all[0].value", "not text"),
        (_body(_condition('{"\\u0000": 1}')), "rules.rules[0].conditions.all[0].value", "a key contains"),
        (
            _body(_condition(json.dumps("x" * 5000))),
            "rules.rules[0].conditions.all[0].value",
            "1,000 characters",
        ),
        (
            _body(_rule().replace('"resale"', '"resale", "conditions": ' + DEEP)),
            "rules.rules[0].conditions",
            "nested more than 32 levels deep",
        ),
        (_body(_rule().replace('"resale"', '"resale", "priority": -0.0')), "rules.rules[0].priority", ""),
        (_body(_rule().replace('"resale"', '"' + "k" * 100000 + '"')), "rules.rules[0].key", "60 characters"),
        (_body(_rule() + ", " + _rule()), "rules", "used twice"),
        (_body(_rule().replace('"resale"', '"résumé-🚀"')), "rules.rules[0].key", "String should match"),
    ],
)
def test_the_api_answers_422_naming_the_path(
    world: Any, api_for: Any, body: str, field: str, message: str
) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Hostile", currency="USD")
    client = api_for(world.finance)
    url = f"/api/v1/commissions/plans/{plan.public_id}/versions"
    answer = client.post(url, data=body, content_type="application/json")
    if not message:  # values the schema may accept: stored as given or named, never a 500
        assert answer.status_code in (201, 422), answer.content[:500]
        if answer.status_code == 422:
            assert field in {e["field"] for e in answer.json()["errors"]}
        return
    assert answer.status_code == 422, answer.content[:500]
    fields = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert message in fields[field], fields
    with scope(world.system.access_scope()):
        assert not PlanVersion.objects.filter(plan_id=plan.pk).exists()


DEEPER = {  # nested far beyond what Python's JSON reader reads (about 1,000 levels)
    "lists": "[" * 5000 + "]" * 5000,
    "groups": '{"all": [' * 5000 + '{"field": "amount", "op": "gt", "value": 1}' + "]}" * 5000,
    "mixed": '{"any": [{"all": [' * 2500 + "]}]}" * 2500,
    "many lists": "[" * 100000 + "]" * 100000,
}


@pytest.mark.parametrize("nesting", sorted(DEEPER))
def test_the_api_answers_422_to_conditions_nested_thousands_deep(
    world: Any, api_for: Any, nesting: str
) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Deep", currency="USD")
    version = _draft(world, EXAMPLE_RULES)
    client = api_for(world.finance)
    rule = _rule().replace('"resale"', '"resale", "conditions": ' + DEEPER[nesting])
    for method, url, body in (
        ("post", f"/api/v1/commissions/plans/{plan.public_id}/versions", _body(rule)),
        (
            "patch",
            f"/api/v1/commissions/versions/{version.public_id}",
            '{"rules": {"rules": [' + rule + "]}}",
        ),
    ):
        answer = getattr(client, method)(url, data=body, content_type="application/json")
        assert answer.status_code == 422, answer.content[:500]
        assert answer.json()["code"] == "validation_error"
        assert answer.json()["field"] == "rules.rules[0].conditions"
        assert answer.json()["errors"] == [
            {
                "field": "rules.rules[0].conditions",
                "code": "too_deep",
                "message": "nested more than 100 levels deep",
            }
        ]
    with scope(world.system.access_scope()):
        assert not PlanVersion.objects.filter(plan_id=plan.pk).exists()
    assert _stored(world, version) == EXAMPLE_RULES


def _commissions_writes() -> list[tuple[str, str]]:
    """(method, path) of every commissions operation that reads a JSON body, from the OpenAPI schema."""
    from config.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return sorted(
        (method, path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/commissions/")
        for method, operation in operations.items()
        if isinstance(operation, dict) and "requestBody" in operation
    )


def test_every_commissions_body_nested_too_deep_is_a_422_naming_the_field(world: Any, api_for: Any) -> None:
    version = _draft(world, EXAMPLE_RULES)
    client = api_for(world.finance)
    writes = _commissions_writes()
    assert {
        ("post", "/api/v1/commissions/plans"),
        ("patch", "/api/v1/commissions/versions/{public_id}"),
    } <= set(writes)
    assert len(writes) >= 10, writes
    for method, path in writes:
        url = re.sub(r"\{[a-z_]+\}", str(version.public_id), path)  # the body is read before any id
        body = '{"note": "x", "extra": {"a": ' + "[" * 3000 + "]" * 3000 + "}}"
        answer = getattr(client, method)(url, data=body, content_type="application/json")
        assert answer.status_code == 422, (method, path, answer.content[:300])
        assert answer.json()["field"] == "extra.a", (method, path)
        assert "nested more than 100 levels deep" in answer.json()["message"]
    assert _stored(world, version) == EXAMPLE_RULES


@pytest.mark.parametrize(
    "body",
    [
        _body(_condition("1" + "0" * 5000)),  # beyond what the JSON reader converts
        '{"effective_from": "2026-01-01", "rules": ' + "{" * 10,
    ],
)
def test_the_api_answers_400_to_a_body_it_cannot_read(world: Any, api_for: Any, body: str) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Unreadable", currency="USD")
    answer = api_for(world.finance).post(
        f"/api/v1/commissions/plans/{plan.public_id}/versions", data=body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "body"


def test_a_draft_is_patched_through_the_api_with_the_same_limits(world: Any, api_for: Any) -> None:
    version = _draft(world, EXAMPLE_RULES)
    client = api_for(world.finance)
    url = f"/api/v1/commissions/versions/{version.public_id}"
    deep = '{"rules": [' + _rule().replace('"resale"', '"resale", "conditions": ' + DEEP) + "]}"
    for rules, field in (
        (deep, "rules.rules[0].conditions"),
        ('{"rules": [], "overrides": {"levels": [NaN]}}', "rules.overrides.levels[0]"),
    ):
        answer = client.patch(url, data='{"rules": ' + rules + "}", content_type="application/json")
        assert answer.status_code == 422, answer.content[:500]
        assert field in {e["field"] for e in answer.json()["errors"]}
    assert _stored(world, version) == EXAMPLE_RULES


# --- any input, anything typed --------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "1e5000",
            "-1e5000",
            "1e-999999",
            "9" * 5000,
            "NaN",
            "-Infinity",
            "sNaN",
            "-0",
            "0e999999999",
            "1_000,5",
            "٣",
            "\x00",
            "\ud800",
            "[" * 3000,
            '{"key": "k", "key": "k"}',
            "x" * 3000,
            "metadata",
            "in",
            "json",
            "tiered",
            "threshold",
            "lifetime",
            "months",
        ]
    ),
    st.text(max_size=30),
)


OPS = [
    "add_rule",
    "add_tier:0",
    "remove_tier:0:1",
    "add_cond:2",
    "add_group:0",
    "add_gcond:1:0",
    "up:1",
    "down_item:1:0",
    "up_item:2:1",
    "up_gcond:1:0:1",
    "down_gcond:1:0:0",
]


@functools.cache
def _example_post() -> dict[str, list[str]]:
    """The example rules' editor as a browser posts it."""
    return form_values(_render(rule_editor.state_of_doc(EXAMPLE_RULES)), "rule-editor")


def _render(state: rule_editor.State) -> str:
    return render_to_string(
        "commissions/_rule_editor.html",
        {
            "editor": rule_editor.rows_for_template(state),
            "draft": DraftForm(initial={"effective_from": datetime.date(2026, 1, 1)}),
            "choices": rule_editor.choices(),
            "plan": {"currency": "USD"},
            "request": RequestFactory().get("/commissions/versions/x/"),
        },
    )


EXTRA = ["rule-0-mode", "rule-0-json", "rule-1-c-0-meta", "rule-0-c-0-field", "rule-0-tier-2-from"]
NAMES = st.deferred(lambda: st.sampled_from(sorted(_example_post()) + EXTRA))  # rendered when drawn


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(NAMES, HOSTILE, max_size=6),
    st.sets(NAMES, max_size=4),
    st.one_of(st.just(""), st.sampled_from(OPS), HOSTILE),
)
def test_whatever_is_posted_the_editor_answers_with_the_rules_or_their_problems(
    changes: dict[str, str], dropped: set[str], op: str
) -> None:
    data = QueryDict(mutable=True)
    for name, values in _example_post().items():
        if name not in dropped:
            data.setlist(name, values)
    for name, value in changes.items():
        data.setlist(name, [value])
    state = rule_editor.state_of_post(data)
    if op:
        rule_editor.apply_op(state, op)
    else:
        doc = rule_editor.doc_of_state(state)
        if doc is None:
            assert state["errors"]
        else:
            plan_services.check_rules(doc)  # what the editor passes, the service stores
            json.dumps(doc, allow_nan=False)
    assert 'id="rule-editor"' in _render(state)
