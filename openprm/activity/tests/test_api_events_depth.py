"""``POST /api/v1/events`` and bodies nested too deep: the API's usual 422 ``too_deep`` naming the event's
index and field, as every other endpoint (not a bare 400); NDJSON lines each get their own ``too_deep``
error while the other lines are stored; bodies that are not JSON stay 400s, read in linear time."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from config.api import MAX_BODY_DEPTH, TOO_DEEP
from openprm.activity.models import Event
from openprm.core.scoping import unscoped
from openprm.testing.speed import c_speed_bound

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def ev(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"deep-{i}",
        "partner_external_id": "A-1",
        "type": "portal_login",
        "occurred_at": "2026-11-01T10:00:00Z",
        **extra,
    }


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def deep_event(i: int, levels: int = 3_000) -> str:
    return json.dumps(ev(i, properties={"a": "X"})).replace('"X"', nested(levels))


def stored() -> int:
    with unscoped():
        return Event.objects.count()


def too_deep(field: str) -> dict[str, Any]:
    return {
        "code": "validation_error",
        "message": f"{field}: {TOO_DEEP}",
        "field": field,
        "errors": [{"field": field, "code": "too_deep", "message": TOO_DEEP}],
    }


def test_a_json_array_nested_too_deep_is_the_apis_422_naming_the_event_and_field(
    world: Any, api_for: Any
) -> None:
    body = "[" + ",".join([*(json.dumps(ev(i)) for i in range(3)), deep_event(3)]) + "]"
    answer = api_for(world.manager).post(URL, data=body, content_type="application/json")
    assert answer.status_code == 422, answer.content[:300]
    assert answer.json() == too_deep("[3].properties.a")
    assert stored() == 0  # the body is not read: nothing of it is stored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (nested(1_000), "[0]"),  # the first event is a list of lists
        ("[" + json.dumps(ev(0)) + "," + nested(500) + "]", "[1]"),
        (
            "[" + json.dumps(ev(0, properties={"b": {"c": "X"}})).replace('"X"', nested(200)) + "]",
            "[0].properties.b.c",
        ),
        ('{"events": ' + nested(200) + "}", "events"),  # not an array, but the depth is what is refused
    ],
)
def test_the_field_is_where_the_nesting_starts(world: Any, api_for: Any, body: str, field: str) -> None:
    answer = api_for(world.manager).post(URL, data=body, content_type="application/json")
    assert answer.status_code == 422, answer.content[:300]
    assert answer.json() == too_deep(field)


def test_an_array_nested_to_the_limit_is_read_and_one_level_more_is_not(world: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    # the array, the event, its properties: 3 levels, then the nested lists
    ok = "[" + deep_event(0, MAX_BODY_DEPTH - 3) + "]"
    answer = api.post(URL, data=ok, content_type="application/json")
    assert answer.status_code == 200, answer.content[:300]
    assert answer.json()["stored"] == 1
    over = "[" + deep_event(1, MAX_BODY_DEPTH - 2) + "]"
    answer = api.post(URL, data=over, content_type="application/json")
    assert answer.status_code == 422 and answer.json() == too_deep("[0].properties.a")
    assert stored() == 1


def test_an_ndjson_line_nested_too_deep_is_its_indexs_too_deep_error(world: Any, api_for: Any) -> None:
    lines = [json.dumps(ev(0)), json.dumps(ev(1)), json.dumps(ev(2)), deep_event(3), json.dumps(ev(4))]
    answer = api_for(world.manager).post(URL, data="\n".join(lines), content_type="application/x-ndjson")
    assert answer.status_code == 200, answer.content[:300]
    body = answer.json()
    assert (body["received"], body["stored"], body["rejected"]) == (5, 4, 1)
    assert body["errors"] == [
        {"index": 3, "field": "properties.a", "code": "too_deep", "message": f"properties.a: {TOO_DEEP}"}
    ]
    assert stored() == 4


def test_an_atomic_ndjson_batch_with_a_line_too_deep_is_refused(world: Any, api_for: Any) -> None:
    text = json.dumps(ev(0)) + "\n" + nested(2_000) + "\n"
    answer = api_for(world.manager).post(URL + "?atomic=true", data=text, content_type="application/x-ndjson")
    assert answer.status_code == 422, answer.content[:300]
    body = answer.json()
    assert body["refused"] is True
    assert body["errors"] == [
        {"index": 1, "field": "", "code": "too_deep", "message": f"The event is {TOO_DEEP}."}
    ]
    assert stored() == 0


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
@pytest.mark.parametrize(
    "body",
    [
        b'"\\' * 500_000,  # a megabyte of unclosed quotes
        b'["' * 300_000,
        b'[{"a": "' + b'x\\"' * 300_000,
        b"[" * 1_000_000,  # a megabyte of unclosed brackets
        b"{" * 1_000_000,
    ],
)
def test_a_megabyte_that_is_not_json_is_read_once(
    world: Any, api_for: Any, body: bytes, content_type: str
) -> None:
    """Linear in the body: a megabyte of unclosed quotes or brackets is refused in milliseconds (the bound
    is a guard against a quadratic read, not a benchmark)."""
    started = time.process_time()
    answer = api_for(world.manager).post(URL, data=body, content_type=content_type)
    assert time.process_time() - started < 5
    if content_type == "application/json":
        assert answer.status_code == 400 and answer.json()["field"] == "body", answer.content[:300]
    else:
        assert answer.status_code == 200 and answer.json()["errors"][0]["code"] == "invalid_json"
    assert stored() == 0


@pytest.mark.parametrize("megabytes", [8, 32])
def test_a_deep_event_after_megabytes_of_small_ones_is_found_at_c_speed(
    world: Any, api_for: Any, megabytes: int
) -> None:
    """Where the nesting is, is found without reading the body token by token in Python (that took
    ~1 µs a byte: 4-10 s for 8 MB, ~30 s for 32 MB of {"a": 1} before a deep event): the bound is a
    generous guard for a loaded machine, not a benchmark (~0.5 s and ~2 s measured, most of it the
    depth count every body pays)."""
    count = megabytes * 1_000_000 // 8
    body = b"[" + b",".join([b'{"a":1}'] * count) + b"," + deep_event(0).encode() + b"]"
    started = time.process_time()
    answer = api_for(world.manager).post(URL, data=body, content_type="application/json")
    spent = time.process_time() - started
    assert answer.status_code == 422, answer.content[:300]
    assert answer.json() == too_deep(f"[{count}].properties.a")
    assert spent < c_speed_bound(body), spent
    assert stored() == 0
