"""``rollups.read.active_at`` — the partners active at each period's end, from the months lying wholly
inside a window and the edge days — against the raw events (windows crossing month boundaries, partners
active only on edge days, type filters, amounts and the workspace's own types read from the days), on
whichever database the suite runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import calendar
import datetime
import json
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.activity.models import PartnerMonth
from openprm.activity.rollups import read, rollups_fold
from openprm.activity.tests.test_rollups_read import random_events, raw_frame, store
from openprm.core.scoping import AccessScope, scope, unscoped

pytestmark = pytest.mark.django_db

D = datetime.date


def month_ends(first: datetime.date, count: int) -> list[datetime.date]:
    out, year, month = [], first.year, first.month
    for _ in range(count):
        out.append(D(year, month, calendar.monthrange(year, month)[1]))
        year, month = year + month // 12, month % 12 + 1
    return out


def qualifying(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The (partner, day) pairs on which ``metric`` is above 0, from the raw events."""
    kind, _, name = metric.partition(".")
    if metric == "contact":
        rows = frame[frame["contact"]]
    elif metric == "events.*":
        rows = frame
    elif kind == "events":
        rows = frame[frame["type"] == name]
    else:  # value.<type>: the day's sum of the values
        typed = frame[frame["type"] == name].dropna(subset=["value"])
        sums = typed.groupby(["partner", "day"])["value"].agg(lambda v: sum(Decimal(str(x)) for x in v))
        return sums[sums > 0].reset_index()[["partner", "day"]]
    return rows[["partner", "day"]]


def expected(
    frame: pd.DataFrame, metrics: list[str], ends: list[datetime.date], window: int, partners: Any = None
) -> dict[datetime.date, set[int]]:
    days = pd.concat([qualifying(frame, m) for m in metrics])
    if partners is not None:
        days = days[days["partner"].isin(list(partners))]
    found = {}
    for end in ends:
        since = end - datetime.timedelta(days=window)
        found[end] = {int(p) for p in days[(days["day"] > since) & (days["day"] <= end)]["partner"]}
    return found


def edge_only(frame: pd.DataFrame, metrics: list[str], end: datetime.date, window: int) -> int:
    """How many partners are active at ``end`` by days of months the window holds only in part."""
    days = pd.concat([qualifying(frame, m) for m in metrics])
    start = end - datetime.timedelta(days=window - 1)
    inside = days[(days["day"] >= start) & (days["day"] <= end)]

    def whole(day: datetime.date) -> bool:
        last = D(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        return start <= day.replace(day=1) and last <= end

    return sum(not any(whole(d) for d in rows["day"]) for _, rows in inside.groupby("partner"))


@pytest.fixture
def sparse(world: Any, api_for: Any) -> tuple[Any, pd.DataFrame]:
    """Few events (a type about every other week per partner): months without a qualifying day."""
    store(api_for(world.manager), random_events(11, 260))
    rollups_fold(workspace_id=world.workspace.pk)
    return world, raw_frame(world.workspace.pk)


METRIC_SETS = [
    ["events.meeting"],
    ["events.call", "events.email_sent", "events.portal_login"],
    ["events.*"],
    ["contact"],
    ["value.survey_response"],  # an amount: month sums could hide a day's, the days are read
]
WINDOWS = [1, 7, 28, 30, 31, 45, 61, 90, 200]
ENDS = [
    *month_ends(D(2025, 11, 1), 9),
    D(2026, 2, 14),  # not a month end: an edge at both sides of the whole months
    D(2026, 3, 1),
    D(2026, 1, 1),
]


def test_active_at_equals_the_raw_events(sparse: Any) -> None:
    world, frame = sparse
    workspace_id = world.workspace.pk
    a, b = world.partner_a.pk, world.partner_b.pk
    by_edges = 0
    for metrics in METRIC_SETS:
        for window in WINDOWS:
            want = expected(frame, metrics, ENDS, window)
            found = read.active_at(workspace_id, metrics=metrics, ends=ENDS, window=window)
            assert found == want, (metrics, window)
            if window > 31:  # windows holding whole months
                by_edges += sum(edge_only(frame, metrics, end, window) for end in ENDS)
            only_a = read.active_at(workspace_id, metrics=metrics, ends=ENDS, window=window, partner_ids=[a])
            assert only_a == expected(frame, metrics, ENDS, window, [a]), (metrics, window)
    assert by_edges > 10  # the data has partners active by edge days only
    nobody = read.active_at(workspace_id, metrics=["events.*"], ends=ENDS, window=90, partner_ids=[])
    assert nobody == {end: set() for end in ENDS}
    assert read.active_at(workspace_id, metrics=["events.*"], ends=ENDS, window=0) == nobody
    assert read.active_at(workspace_id, metrics=["events.*"], ends=[], window=90) == {}
    assert read.active_at(workspace_id, metrics=["events.*"], ends=ENDS, window=90)[D(2026, 3, 31)] == {a, b}


def event(number: int, partner: str, type_key: str, day: datetime.date, hour: int = 12) -> dict[str, Any]:
    at = datetime.datetime(day.year, day.month, day.day, hour, tzinfo=datetime.UTC)
    return {
        "event_id": f"e-{number}",
        "partner_external_id": partner,
        "type": type_key,
        "occurred_at": at.isoformat(),
    }


@pytest.fixture
def edges(world: Any, api_for: Any) -> Any:
    """A: one meeting on 31 January. B: a meeting on 30 January and internal notes (not qualifying) on
    15 February and 10 March."""
    events = [
        event(1, "A-1", "meeting", D(2026, 1, 31), hour=23),
        event(2, "B-1", "meeting", D(2026, 1, 30)),
        event(3, "B-1", "note", D(2026, 2, 15)),
        event(4, "B-1", "note", D(2026, 3, 10)),
    ]
    store(api_for(world.manager), events)
    rollups_fold(workspace_id=world.workspace.pk)
    return world


def test_windows_crossing_month_boundaries_read_the_edge_days(edges: Any) -> None:
    world = edges
    a, b = world.partner_a.pk, world.partner_b.pk
    ends = month_ends(D(2026, 1, 1), 4)
    qualifying_types = ["events.meeting", "events.call"]
    with CaptureQueriesContext(connection) as queries:
        found = read.active_at(world.workspace.pk, metrics=qualifying_types, ends=ends, window=60)
    assert found == {
        D(2026, 1, 31): {a, b},  # 3 Dec – 31 Jan
        D(2026, 2, 28): {a, b},  # 31 Dec – 28 Feb: January is whole
        D(2026, 3, 31): {a},  # 31 Jan – 31 Mar: only A's edge day (B's January day is before it)
        D(2026, 4, 30): set(),  # 1 Mar – 30 Apr
    }
    assert len(queries) == 2  # the months, then the edge days of every end at once
    edge_query = queries.captured_queries[1]["sql"]
    assert PartnerMonth._meta.db_table not in edge_query
    # a window shorter than a month: only edge days
    assert read.active_at(world.workspace.pk, metrics=qualifying_types, ends=ends, window=1) == {
        D(2026, 1, 31): {a},
        D(2026, 2, 28): set(),
        D(2026, 3, 31): set(),
        D(2026, 4, 30): set(),
    }
    # the type filter: notes make B active, A never
    notes = read.active_at(world.workspace.pk, metrics=["events.note"], ends=ends, window=31)
    assert notes == {D(2026, 1, 31): set(), D(2026, 2, 28): {b}, D(2026, 3, 31): {b}, D(2026, 4, 30): set()}
    # everyone whose months are active and no edge to read: one query
    with CaptureQueriesContext(connection) as queries:
        whole = read.active_at(world.workspace.pk, metrics=["events.*"], ends=[D(2026, 3, 31)], window=90)
    assert whole == {D(2026, 3, 31): {a, b}} and len(queries) == 1


def test_active_at_reads_within_the_scope_and_the_workspaces_own_types(edges: Any, api_for: Any) -> None:
    world = edges
    a, b = world.partner_a.pk, world.partner_b.pk
    ends = month_ends(D(2026, 1, 1), 3)
    with scope(AccessScope(workspace_id=world.workspace.pk, partner_id=b)):
        found = read.active_at(world.workspace.pk, metrics=["events.meeting"], ends=ends, window=60)
    assert found == {D(2026, 1, 31): {b}, D(2026, 2, 28): {b}, D(2026, 3, 31): set()}
    response = api_for(world.admin).post(
        "/api/v1/event-types",
        data=json.dumps({"key": "webinar_attended", "label": "Webinar"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    store(api_for(world.manager), [event(9, "A-1", "webinar_attended", D(2026, 2, 2))])
    rollups_fold(workspace_id=world.workspace.pk)
    with unscoped():
        found = read.active_at(
            world.workspace.pk, metrics=["events.webinar_attended", "events.note"], ends=ends, window=30
        )
    assert found == {D(2026, 1, 31): set(), D(2026, 2, 28): {a, b}, D(2026, 3, 31): {b}}
