"""The API's body parser: a JSON body nested deeper than 100 levels is the usual 422 naming the field
the nesting was written in, whatever the endpoint — never the bare 400 of a reader that ran out of stack,
never a 500; a body nested up to the limit is read as before; a body that is not JSON is still a 400."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from config.api import MAX_BODY_DEPTH, _too_deep_at, body_nesting
from openprm.alerts.models import AlertRule
from openprm.core.scoping import unscoped
from openprm.testing.speed import c_speed_bound

pytestmark = pytest.mark.django_db

RULE = {
    "name": "Win rate below 20%",
    "conditions": {
        "combine": "and",
        "items": [{"kind": "threshold", "metric": "win_rate", "grain": "quarter", "op": "<", "value": "0.2"}],
    },
}


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"", 0),
        (b"42", 0),
        (b'{"a": "[[[{{{"}', 1),  # brackets inside text do not nest
        (b'{"a": "\\"[[", "b": [[]]}', 3),  # nor after an escaped quote
        (b'[{"a": [1, {"b": []}]}]', 5),
        (_nested(5000).encode(), 5000),
        (b"[" * 10, None),  # unpaired: not JSON
        (b"][", None),
    ],
)
def test_the_nesting_of_a_body(body: bytes, depth: int | None) -> None:
    assert body_nesting(body) == depth


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (
            '{"rules": {"rules": [{"conditions": ' + '{"all": [' * 3000 + "]}" * 3000 + "}]}}",
            ["rules", "rules", 0, "conditions"],
        ),
        ('{"a": 1, "b": {"c": [0, 1, ' + _nested(200) + "]}}", ["b", "c", 2]),
        (_nested(200), []),
        ('{"x": ' + '{"any": [{"all": [' * 60 + "]}]}" * 60 + "}", ["x"]),
    ],
)
def test_the_field_named_is_where_the_nesting_starts(body: str, path: list[Any]) -> None:
    assert _too_deep_at(body.encode()) == path


def test_another_apps_endpoint_answers_422_naming_the_field(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    deep = dict(RULE, conditions={"combine": "and", "items": "PLACEHOLDER"})
    body = json.dumps(deep).replace('"PLACEHOLDER"', _nested(5000))
    answer = admin.post("/api/v1/alerts/rules", data=body, content_type="application/json")
    assert answer.status_code == 422, answer.content[:300]
    assert answer.json() == {
        "code": "validation_error",
        "message": f"conditions.items: nested more than {MAX_BODY_DEPTH} levels deep",
        "field": "conditions.items",
        "errors": [
            {
                "field": "conditions.items",
                "code": "too_deep",
                "message": f"nested more than {MAX_BODY_DEPTH} levels deep",
            }
        ],
    }
    created = admin.post("/api/v1/alerts/rules", data=json.dumps(RULE), content_type="application/json")
    assert created.status_code == 201, created.content[:300]
    rule_id = created.json()["id"]
    patched = admin.patch(
        f"/api/v1/alerts/rules/{rule_id}",
        data='{"conditions": {"combine": "or", "items": ' + _nested(3000) + "}}",
        content_type="application/json",
    )
    assert patched.status_code == 422 and patched.json()["field"] == "conditions.items"
    with unscoped():
        assert AlertRule.objects.filter(name=RULE["name"]).count() == 1


def test_a_body_nested_to_the_limit_is_read_and_one_level_more_is_not(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    # the body, conditions, items: 3 levels, then the nested lists
    at_limit = json.dumps(dict(RULE, conditions={"combine": "and", "items": "X"}))
    for levels, too_deep in ((MAX_BODY_DEPTH - 2, False), (MAX_BODY_DEPTH - 1, True)):
        body = at_limit.replace('"X"', _nested(levels))
        assert body_nesting(body.encode()) == levels + 2
        answer = admin.post("/api/v1/alerts/rules", data=body, content_type="application/json")
        assert answer.status_code == 422, answer.content[:300]  # items that are not conditions, or too deep
        codes = {e["code"] for e in answer.json()["errors"]}
        assert ("too_deep" in codes) is too_deep, answer.json()


@pytest.mark.parametrize("body", ["[" * 100_000, '{"name": "x", "conditions": {' * 3, "{not json"])
def test_a_body_that_is_not_json_is_still_a_400(world: Any, api_for: Any, body: str) -> None:
    answer = api_for(world.admin).post("/api/v1/alerts/rules", data=body, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["field"] == "body"


@pytest.mark.parametrize("body", [b'"\\' * 500_000, b'["' * 300_000, b'{"a": "' + b'x\\"' * 300_000])
def test_unclosed_strings_are_read_once_not_once_per_quote(world: Any, api_for: Any, body: bytes) -> None:
    """Each quote starts a string that runs to its closing quote or to the end: a megabyte of unclosed
    quotes is one linear read (a pattern that failed on them tried again from every later quote: 40 KB of
    them held a worker 6 s of CPU, 80 KB 20 s — quadratic). The bound is a guard against that, not a
    benchmark: the linear read takes milliseconds."""
    started = time.process_time()
    answer = api_for(world.admin).post("/api/v1/alerts/rules", data=body, content_type="application/json")
    assert answer.status_code == 400
    assert time.process_time() - started < 5


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-32"])
def test_a_body_not_in_utf8_is_a_400_so_no_bracket_hides_from_the_count(
    world: Any, api_for: Any, encoding: str
) -> None:
    """In UTF-16 a character such as U+2200 holds a quote byte: a count over bytes would end a string
    there and miss the brackets after it, which Python's reader (it guesses the encoding) would nest."""
    text = '{"name": "x\u2200", "conditions": ' + _nested(900) + "}"
    answer = api_for(world.admin).post(
        "/api/v1/alerts/rules", data=text.encode(encoding), content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "body"


def test_a_deep_field_after_megabytes_of_small_items_is_found_at_c_speed(world: Any, api_for: Any) -> None:
    """32 MB of small items inside the body's field before a nested one: where the nesting is, is found in
    C-speed passes over the body (reading it token by token in Python took ~30 s), inside the top-level
    field as well as at the top. The bound is a generous guard, not a benchmark (~2 s measured)."""
    count = 4_000_000
    items = b",".join([b'{"a":1}'] * count) + b', {"b": [0, {"c": ' + _nested(500).encode() + b"}]}"
    body = b'{"name": "x", "conditions": {"combine": "and", "items": [' + items + b"]}}"
    started = time.process_time()
    answer = api_for(world.admin).post("/api/v1/alerts/rules", data=body, content_type="application/json")
    spent = time.process_time() - started
    assert answer.status_code == 422, answer.content[:300]
    assert answer.json()["field"] == f"conditions.items[{count}].b[1].c"
    assert spent < c_speed_bound(body), spent
