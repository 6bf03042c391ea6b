"""The rebuild's pairing in SQL (PostgreSQL, ``rollups.pairs_sql``) gives exactly the intervals of
``pairing.pair`` over the events as Python reads them, and the same rollups as the increments (which pair
in Python): random conversations in and out of threads, silences around the 4- and 7-day limits, given
and implied directions, ties in time, tickets reopened and resolved twice, deliverables early and late;
partners with an explicit reply or a ref the database cannot tell are paired by Python."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.activity import pairing
from openprm.activity.models import Event, EventType, PairedInterval
from openprm.activity.rollups import (
    columns,
    pairs,
    pairs_sql,
    rollup_cells,
    rollups_fold,
    rollups_rebuild,
    rollups_refresh_pairs,
    workspace_kinds,
)
from openprm.activity.rollups.deltas import day_of
from openprm.activity.rollups.rebuild import PAIRED_TABLE, paired_table
from openprm.activity.tests.test_rollups_fold import add_custom_types, ev, post
from openprm.core.scoping import unscoped
from openprm.testing import make_partner

pytestmark = pytest.mark.django_db

START = datetime.datetime(2019, 9, 1, 9, 0, tzinfo=datetime.UTC)  # 80 steps of a month stay in the past
SECOND, DAY = datetime.timedelta(seconds=1), datetime.timedelta(days=1)
MICRO = datetime.timedelta(microseconds=1)
STEPS = [  # the time from one event of a partner to its next: ties, and both sides of every limit
    datetime.timedelta(0),
    datetime.timedelta(0),
    MICRO,
    SECOND,
    datetime.timedelta(minutes=37, microseconds=500_000),
    datetime.timedelta(hours=5),
    DAY,
    3 * DAY,
    *[pairing.CONVERSATION_GAP - MICRO, pairing.CONVERSATION_GAP, pairing.CONVERSATION_GAP + MICRO] * 2,
    pairing.REPLY_WINDOW - pairing.CONVERSATION_GAP,  # two steps of these: the reply window's end
    pairing.REPLY_WINDOW - pairing.CONVERSATION_GAP + MICRO,
    pairing.REPLY_WINDOW - SECOND,
    pairing.MAX_REPLY_GAP,
    pairing.MAX_REPLY_GAP + SECOND,
]
MESSAGES = ["email_sent", "email_received", "call", "meeting", "partner_chat"]
IMPLIED = {"email_sent": "outbound", "email_received": "inbound"}
TICKETS = ["support_ticket_opened", "support_ticket_opened", "support_ticket_resolved"]
DELIVERABLES = ["campaign_deliverable_due", "campaign_deliverable_submitted"]


@st.composite
def event(draw: Any) -> dict[str, Any]:
    """One event of a partner, without its time and id: a message (thread or none, direction given,
    implied or missing), a ticket or deliverable item (a ref, none, or one only Python reads), or noise."""
    family = draw(st.sampled_from(["message"] * 5 + ["ticket"] * 2 + ["deliverable", "other"]))
    step = draw(st.sampled_from(STEPS))
    if family == "message":
        properties: dict[str, Any] = {}
        thread = draw(st.sampled_from([None, None, None, None, "", "t1", "T1", "é"]))
        if thread is not None:
            properties["thread_id"] = thread
        type_key = draw(st.sampled_from(MESSAGES))
        implied = IMPLIED.get(type_key)  # the API refuses the other direction for these
        direction = draw(st.sampled_from(["", implied] if implied else ["", "", "inbound", "outbound"]))
        return {"step": step, "type": type_key, "direction": direction, "properties": properties}
    if family == "other":
        return {"step": step, "type": "portal_login", "direction": "", "properties": {}}
    key = "ticket_id" if family == "ticket" else "deliverable_id"
    ref = draw(st.sampled_from(["R1", "R1", "r1", "R2", None, 7]))  # 7: a number, read by Python
    return {
        "step": step,
        "type": draw(st.sampled_from(TICKETS if family == "ticket" else DELIVERABLES)),
        "direction": draw(st.sampled_from(["", "", "inbound"])),
        "properties": {} if ref is None else {key: ref},
    }


PARTNERS = ["A-1", "B-1", "C-1"]
HISTORY = st.lists(st.tuples(st.sampled_from(PARTNERS), event()), max_size=80)


def _intervals(workspace_id: int) -> Counter[tuple[int, str, datetime.date, int]]:
    with unscoped():
        return Counter(
            PairedInterval.objects.filter(workspace_id=workspace_id).values_list(
                "partner_id", "kind", "day", "seconds"
            )
        )


def _python_intervals(workspace_id: int) -> Counter[tuple[int, str, datetime.date, int]]:
    """``pairing.pair`` over the events as Python reads them (``pairs._items``), per partner."""
    items: dict[int, list[pairing.Item]] = {}
    for partner_id, item in pairs._items(workspace_id, workspace_kinds(workspace_id), None):
        items.setdefault(partner_id, []).append(item)
    return Counter(
        (partner_id, i.kind, day_of(i.end), i.seconds)
        for partner_id, found in items.items()
        for i in pairing.pair(found)
    )


def _break_days(workspace_id: int, partner_id: int) -> None:
    """``PartnerDay`` rows the rebuild must put right: one changed in a column, one in ``extra``, one
    deleted, one that should not be there."""
    table = connection.ops.quote_name(columns.TABLE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT partner_id, day FROM {table} WHERE workspace_id = %s ORDER BY partner_id, day",
            [workspace_id],
        )
        keys = cursor.fetchall()
        changes = [
            "UPDATE {table} SET events_total = COALESCE(events_total, 0) + 1",
            "UPDATE {table} SET extra = '{{\"events.webinar\": 2}}'",
            "DELETE FROM {table}",
        ]
        for (partner, day), change in zip(keys[::3], changes, strict=False):
            cursor.execute(
                change.format(table=table) + " WHERE workspace_id = %s AND partner_id = %s AND day = %s",
                [workspace_id, partner, day],
            )
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, partner_id, day, events_total, reply_vendor_count) "
            "VALUES (%s, %s, %s, 1, 1)",
            [workspace_id, partner_id, datetime.date(2019, 1, 2)],
        )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=HISTORY, replies=st.lists(st.integers(0, 79), max_size=3), name=st.sampled_from(["e", "E", "_"])
)
def test_the_sql_rebuild_pairs_as_python_and_equals_the_increments(
    world: Any, api_for: Any, history: list[tuple[str, dict[str, Any]]], replies: list[int], name: str
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite pairs in Python, the reference: nothing to compare here")
    workspace_id = world.workspace.pk
    with unscoped():
        if not EventType.objects.filter(workspace_id=workspace_id, key="partner_chat").exists():
            add_custom_types(api_for(world.admin))
            make_partner(world.system, "Initech", external_id="C-1")
        Event.objects.filter(workspace_id=workspace_id).delete()
    rollups_rebuild(workspace_id=workspace_id)  # nothing left of the previous example

    at = dict.fromkeys(PARTNERS, START)
    body: list[dict[str, Any]] = []
    for n, (partner, drawn) in enumerate(history):
        at[partner] += drawn["step"]
        properties = dict(drawn["properties"])
        if (
            n in replies and drawn["type"] in MESSAGES and body
        ):  # an explicit reply: Python pairs this partner
            properties["in_reply_to"] = body[-1]["event_id"]
        body.append(
            ev(
                n,
                drawn["type"],
                at=at[partner].isoformat(),
                partner_external_id=partner,
                direction=drawn["direction"],
                properties=properties,
                event_id=f"{name}{n % 7}-{n}",  # ties in time are broken by the id, compared by code point
            )
        )
    if body:
        post(api_for(world.manager), body)
    rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)  # the increments: paired in Python
    incremental, incremental_intervals = rollup_cells(workspace_id=workspace_id), _intervals(workspace_id)

    with unscoped():
        stored = list(Event.objects.filter(workspace_id=workspace_id).values_list("partner_id", "properties"))
    python_only = {
        partner_id
        for partner_id, properties in stored
        if properties.get("in_reply_to")
        or 7 in (properties.get("ticket_id"), properties.get("deliverable_id"))
    }
    # the SQL pairs every other partner
    with transaction.atomic():
        with connection.cursor() as cursor:
            paired_table(cursor)
        left = pairs_sql.insert_pairs(workspace_id, workspace_kinds(workspace_id), into=PAIRED_TABLE)
        transaction.set_rollback(True)
    assert set(left) == python_only

    with unscoped():  # rows the rebuild must take away or put back (it rewrites only what differs)
        stored_intervals = list(PairedInterval.objects.filter(workspace_id=workspace_id).order_by("id"))
        if stored_intervals:
            stored_intervals[0].delete()
            last = stored_intervals[-1]
            PairedInterval.objects.create(  # one too many of an interval that is right
                workspace_id=workspace_id,
                partner_id=last.partner_id,
                kind=last.kind,
                day=last.day,
                seconds=last.seconds,
            )
        for _ in range(2):
            PairedInterval.objects.create(
                workspace_id=workspace_id,
                partner_id=world.partner_a.pk,
                kind="reply.vendor",
                day=datetime.date(2019, 1, 1),
                seconds=5,
            )
    _break_days(workspace_id, world.partner_a.pk)
    rollups_rebuild(workspace_id=workspace_id)
    assert _intervals(workspace_id) == _python_intervals(workspace_id) == incremental_intervals
    assert rollup_cells(workspace_id=workspace_id) == incremental
