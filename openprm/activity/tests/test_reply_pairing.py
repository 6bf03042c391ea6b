"""Reply times pair messages within a conversation only (``activity.pairing``): by ``in_reply_to``, by
``thread_id``, otherwise by the gap rule — never the next conversation's opening message with the last
one's closing message."""

from __future__ import annotations

import datetime
import json
import statistics
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openprm.activity import pairing
from openprm.activity.models import PairedInterval
from openprm.activity.rollups import rollup_cells, rollups_fold, rollups_rebuild, rollups_refresh_pairs
from openprm.core.scoping import unscoped

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def msg(at: datetime.datetime, direction: str, event_id: str = "", **extra: str) -> pairing.Item:
    type_key = "email_received" if direction == "inbound" else "email_sent"
    return pairing.Item(type_key, at, direction, event_id=event_id, **extra)


def seconds(intervals: list[pairing.Interval], kind: str) -> list[int]:
    return [i.seconds for i in intervals if i.kind == kind]


def alternating_conversations() -> tuple[list[pairing.Item], list[int], list[int]]:
    """Twelve conversations five days apart, opened by either side: an opening message, an answer
    after 1-6 hours, sometimes a closing "thanks" an hour later. Returns the messages and the real
    reply times of the partner and of us."""
    items: list[pairing.Item] = []
    partner: list[int] = []
    vendor: list[int] = []
    for n in range(12):
        start = T0 + n * 5 * DAY
        opener = "outbound" if n % 3 else "inbound"
        answer = "inbound" if opener == "outbound" else "outbound"
        delay = (1 + n % 6) * H
        items += [msg(start, opener), msg(start + delay, answer)]
        (partner if answer == "inbound" else vendor).append(int(delay.total_seconds()))
        if n % 2:  # the opener thanks: a reply too, 1 h after the answer
            items.append(msg(start + delay + H, opener))
            (partner if opener == "inbound" else vendor).append(3600)
    return items, partner, vendor


def test_conversations_days_apart_give_the_real_in_conversation_reply_times() -> None:
    items, partner, vendor = alternating_conversations()
    found = pairing.pair(items)
    assert sorted(seconds(found, "reply.partner")) == sorted(partner)
    assert sorted(seconds(found, "reply.vendor")) == sorted(vendor)
    assert statistics.median(seconds(found, "reply.partner")) == statistics.median(partner)
    assert max(i.seconds for i in found) <= 6 * 3600  # no opening message answers the last conversation


def test_a_follow_up_keeps_the_conversation_open_but_the_wait_is_bounded() -> None:
    nudged = [msg(T0, "outbound"), msg(T0 + 3 * DAY, "outbound"), msg(T0 + 5 * DAY, "inbound")]
    assert [(i.kind, i.seconds) for i in pairing.pair(nudged)] == [("reply.partner", 5 * 86400)]
    too_late = [
        msg(T0, "outbound"),
        *(msg(T0 + d * DAY, "outbound") for d in (3, 6)),
        msg(T0 + 8 * DAY, "inbound"),
    ]
    assert pairing.pair(too_late) == []  # 8 days after the first unanswered message: not a reply
    silence = [msg(T0, "outbound"), msg(T0 + 4 * DAY + H, "inbound")]
    assert pairing.pair(silence) == []  # more than 4 days of silence: a new conversation


def test_messages_of_a_thread_pair_with_each_other_only() -> None:
    items = [
        msg(T0, "outbound", thread="A"),
        msg(T0 + H / 2, "outbound", thread="B"),
        msg(T0 + H, "inbound", thread="B"),  # answers B after 30 min, not A after 1 h
        msg(T0 + 4 * H, "inbound", thread="A"),
        msg(T0 + 10 * DAY, "outbound", thread="A"),  # a thread is one conversation however slow
    ]
    found = pairing.pair(items)
    assert seconds(found, "reply.partner") == [1800, 4 * 3600]
    assert seconds(found, "reply.vendor") == [int((10 * DAY - 4 * H).total_seconds())]


def test_in_reply_to_names_the_message_answered() -> None:
    items = [
        msg(T0, "outbound", "e1"),
        msg(T0 + H, "outbound", "e2"),
        msg(T0 + 3 * H, "inbound", "e3", reply_to="e2"),  # 2 h, not 3 h from the first unanswered one
        msg(T0 + 6 * DAY, "inbound", "e4", reply_to="e1"),  # explicit: counted however late
        msg(T0 + 6 * DAY + H, "inbound", "e5", reply_to="e1"),  # e1 was answered already
        # names our own message: not an answer to it; the gap rule pairs it with e4 (2 h)
        msg(T0 + 6 * DAY + 2 * H, "outbound", "e6", reply_to="e2"),
    ]
    assert seconds(pairing.pair(items), "reply.partner") == [2 * 3600, 6 * 86400]
    assert seconds(pairing.pair(items), "reply.vendor") == [2 * 3600]


MESSAGES = st.lists(
    st.builds(
        msg,
        at=st.integers(min_value=0, max_value=40 * 24).map(lambda h: T0 + h * H),
        direction=st.sampled_from(["inbound", "outbound"]),
        event_id=st.sampled_from(["", "a", "b", "c", "d"]),
        thread=st.sampled_from(["", "", "x", "y"]),
        reply_to=st.sampled_from(["", "", "a", "b", "c"]),
    ),
    max_size=30,
)


@given(MESSAGES, st.integers(min_value=0, max_value=40 * 24))
def test_an_interval_depends_only_on_the_messages_before_its_end(
    items: list[pairing.Item], hours: int
) -> None:
    """What the incremental re-pairing from a day on relies on: later messages never change an earlier
    interval."""
    cut = T0 + hours * H
    before = [i for i in pairing.pair(items) if i.end < cut]
    assert before == [i for i in pairing.pair([i for i in items if i.at < cut]) if i.end < cut]


def ev(i: int, type: str, at: datetime.datetime, **properties: Any) -> dict[str, Any]:
    return {
        "event_id": f"m-{i}",
        "partner_external_id": "A-1",
        "type": type,
        "occurred_at": at.isoformat(),
        **({"properties": properties} if properties else {}),
    }


@pytest.mark.django_db
def test_threads_and_in_reply_to_are_read_from_stored_events_and_folds_equal_a_rebuild(
    world: Any, api_for: Any
) -> None:
    api = api_for(world.manager)
    body = [
        ev(1, "email_sent", T0, thread_id="A"),
        ev(2, "email_sent", T0 + H / 2, thread_id=7),  # a number is a thread id too
        ev(3, "email_received", T0 + H, thread_id=7),
        ev(4, "email_received", T0 + 4 * H, thread_id="A"),
        ev(5, "email_sent", T0 + 5 * DAY),
        ev(6, "email_received", T0 + 9 * DAY, in_reply_to="m-5"),
        ev(7, "email_sent", T0 + 20 * DAY),  # the next conversation: not a reply to m-6
    ]
    for part in (body[:3], body[3:]):
        response = api.post("/api/v1/events", data=json.dumps(part), content_type="application/json")
        assert response.status_code == 200 and response.json()["stored"] == len(part), response.content
    workspace_id = world.workspace.pk
    rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)
    with unscoped():
        found = sorted(PairedInterval.objects.values_list("kind", "seconds"))
    assert found == [("reply.partner", 1800), ("reply.partner", 4 * 3600), ("reply.partner", 4 * 86400)]
    incremental = rollup_cells(workspace_id=workspace_id)
    rollups_rebuild(workspace_id=workspace_id)
    assert rollup_cells(workspace_id=workspace_id) == incremental
