"""``POST /api/v1/events`` with NDJSON: a line ends at "\\n" (after an optional "\\r") and nowhere else —
an event whose text holds U+2028, U+2029 or U+0085 raw (valid JSON) is one event at its own index, not
cut in two by ``str.splitlines()``; a line holding another character that splits lines (a raw form feed,
not valid in a JSON string) is that one index's error, and the indexes after it stay right."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openprm.activity.models import Event
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def line(i: int, note: str) -> str:
    event = {
        "event_id": f"nd-{i}",
        "partner_external_id": "A-1",
        "type": "portal_login",
        "occurred_at": "2026-11-01T10:00:00Z",
        "properties": {"note": note},
    }
    return json.dumps(event, ensure_ascii=False)  # the characters raw, not \u escapes


def notes() -> dict[str, str]:
    with unscoped():
        return {e.event_id: e.properties["note"] for e in Event.objects.all()}


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_events_holding_unicode_line_separators_are_one_event_each(
    world: Any, api_for: Any, ending: str
) -> None:
    texts = ["a\u2028b", "c\u2029d", "e\u0085f", "g\u2028\u2029\u0085h"]
    body = ending.join(line(i, text) for i, text in enumerate(texts)) + ending
    answer = api_for(world.manager).post(URL, data=body.encode(), content_type="application/x-ndjson")
    assert answer.status_code == 200, answer.content[:300]
    result = answer.json()
    assert (result["received"], result["stored"], result["rejected"]) == (4, 4, 0), result
    assert notes() == {f"nd-{i}": text for i, text in enumerate(texts)}


def test_a_line_with_a_raw_form_feed_is_its_own_indexs_error(world: Any, api_for: Any) -> None:
    raw = line(1, "FEED").replace("FEED", "x\x0cy")  # json.dumps would write it "\\f"
    lines = [line(0, "ok"), raw, line(2, "a\u2028b"), "", line(3, "last")]
    answer = api_for(world.manager).post(
        URL, data="\n".join(lines).encode(), content_type="application/x-ndjson"
    )
    assert answer.status_code == 200, answer.content[:300]
    result = answer.json()
    assert (result["received"], result["stored"], result["rejected"]) == (4, 3, 1), result
    assert [(e["index"], e["code"]) for e in result["errors"]] == [(1, "invalid_json")]
    assert notes() == {"nd-0": "ok", "nd-2": "a\u2028b", "nd-3": "last"}


def test_an_atomic_batch_with_unicode_separators_is_stored_whole(world: Any, api_for: Any) -> None:
    body = "\r\n".join(line(i, f"{i}\u2028{i}") for i in range(3))
    answer = api_for(world.manager).post(
        URL + "?atomic=true", data=body.encode(), content_type="application/x-ndjson"
    )
    assert answer.status_code == 200, answer.content[:300]
    assert answer.json()["stored"] == 3
    assert notes() == {f"nd-{i}": f"{i}\u2028{i}" for i in range(3)}
