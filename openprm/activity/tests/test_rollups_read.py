"""``rollups.read`` — the one reader of the event rollups — against an independent computation (pandas)
from the raw events, clicks and conversions, on whichever database the suite runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime
import json
import random
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.activity.catalog import BUILTIN_TYPES
from openprm.activity.models import Event, PairedInterval, PartnerMonth
from openprm.activity.rollups import columns, read, rollups_fold, rollups_rebuild, rollups_refresh_pairs
from openprm.core.scoping import AccessScope, ScopeError, scope, unscoped

pytestmark = pytest.mark.django_db

TYPES = [
    "portal_login",
    "resource_download",
    "meeting",
    "call",
    "email_sent",
    "email_received",
    "certification_earned",
    "certification_expired",
    "survey_response",
    "content_post",
    "support_ticket_opened",
    "support_ticket_resolved",
]
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def random_events(seed: int, n: int) -> list[dict[str, Any]]:
    """Events of both partners over ~5 months, times at any hour and offset (UTC days differ from local)."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        type_key = rng.choice(TYPES)
        at = START + datetime.timedelta(minutes=rng.randrange(150 * 24 * 60))
        offset = datetime.timedelta(hours=rng.choice([-5, 0, 2]))
        event: dict[str, Any] = {
            "event_id": f"r-{i}",
            "partner_external_id": rng.choice(["A-1", "B-1"]),
            "type": type_key,
            "occurred_at": at.astimezone(datetime.timezone(offset)).isoformat(),
        }
        if type_key == "survey_response":
            score = rng.choice([1, 2.5, 0.1, 7, 9, 10, 6, 0, 8.9999, 6.0001, None])
            if score is not None:
                event["value"] = score
        if type_key == "meeting" and rng.random() < 0.5:
            event["direction"] = rng.choice(["inbound", "outbound"])
        if type_key == "content_post":
            event["properties"] = {
                "reach": rng.randrange(100),
                "impressions": rng.randrange(1000) / 4,
                "followers": rng.randrange(500, 900),
            }
        if type_key.startswith("support_ticket"):
            event["properties"] = {"ticket_id": f"T-{rng.randrange(20)}"}
        events.append(event)
    return events


def store(api: Any, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 200):
        body = events[start : start + 200]
        response = api.post("/api/v1/events", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200 and response.json()["stored"] == len(body), response.content


def raw_frame(workspace_id: int) -> pd.DataFrame:
    """The stored events as a frame: partner, type, UTC day, direction (or the type's own), value, props."""
    with unscoped():
        rows = list(
            Event.objects.filter(workspace_id=workspace_id).values_list(
                "partner_id", "type", "occurred_at", "direction", "value", "properties"
            )
        )
    frame = pd.DataFrame(rows, columns=["partner", "type", "at", "direction", "value", "props"])
    frame["day"] = pd.to_datetime(frame["at"], utc=True).dt.date
    implied = {k: kind.direction for k, kind in BUILTIN_TYPES.items()}
    frame["direction"] = [
        d or implied.get(t, "") for d, t in zip(frame["direction"], frame["type"], strict=True)
    ]
    frame["contact"] = frame["type"].map(lambda t: bool(BUILTIN_TYPES[t].contact))
    frame["month"] = frame["day"].map(lambda d: d.replace(day=1))
    for name in ("reach", "impressions", "followers"):
        frame[name] = frame["props"].map(lambda p, name=name: Decimal(str(p[name])) if name in p else None)
    return frame


@pytest.fixture
def filled(world: Any, api_for: Any) -> tuple[Any, pd.DataFrame]:
    store(api_for(world.manager), random_events(7, 1_500))
    workspace_id = world.workspace.pk
    rollups_fold(workspace_id=workspace_id)
    rollups_refresh_pairs(workspace_id=workspace_id)
    return world, raw_frame(workspace_id)


def expected(
    frame: pd.DataFrame, group: list[str], start: datetime.date, end: datetime.date
) -> dict[Any, dict[str, Decimal]]:
    """The read API's figures computed from the raw frame by pandas."""
    inside = frame[(frame["day"] >= start) & (frame["day"] <= end)]
    found: dict[Any, dict[str, Decimal]] = {}

    def put(series: pd.Series, name: str) -> None:
        for key, value in series.items():
            if value:
                found.setdefault(key, {})[name] = Decimal(str(value))

    for type_key, rows in inside.groupby("type"):
        put(rows.groupby(group).size(), f"events.{type_key}")
        values = rows.dropna(subset=["value"])
        if len(values):
            put(values.groupby(group)["value"].apply(lambda s: sum(s, Decimal(0))), f"value.{type_key}")
    put(inside.groupby(group).size(), "events.*")
    contact = inside[inside["contact"]]
    put(contact.groupby(group).size(), "contact")
    for direction in ("inbound", "outbound"):
        put(contact[contact["direction"] == direction].groupby(group).size(), f"contact.{direction}")
    for name in ("reach", "impressions"):
        posts = inside.dropna(subset=[name])
        put(posts.groupby(group)[name].apply(lambda s: sum(s, Decimal(0))), f"content.{name}")
    scored = inside[(inside["type"] == "survey_response") & inside["value"].notna()]
    put(scored.groupby(group).size(), "survey.responses")
    put(scored.groupby(group)["value"].apply(lambda s: sum(s, Decimal(0))), "survey.score")
    put(scored[scored["value"] >= 9].groupby(group).size(), "survey.promoters")
    put(scored[scored["value"] <= 6].groupby(group).size(), "survey.detractors")
    return found


METRICS = [f"events.{t}" for t in TYPES] + [
    "value.survey_response",
    "events.*",
    "contact",
    "contact.inbound",
    "contact.outbound",
    "content.reach",
    "content.impressions",
    "survey.responses",
    "survey.score",
    "survey.promoters",
    "survey.detractors",
]


@pytest.mark.parametrize(
    ("by", "group"),
    [
        ("partner", ["partner"]),
        ("month", ["month"]),
        ("partner_month", ["partner", "month"]),
        ("day", ["day"]),
    ],
)
def test_sums_equal_pandas_over_the_raw_events(filled: Any, by: Any, group: list[str]) -> None:
    world, frame = filled
    start, end = datetime.date(2026, 2, 10), datetime.date(2026, 4, 20)
    found = read.sums(world.workspace.pk, start=start, end=end, metrics=METRICS, by=by)
    want = expected(frame, group, start, end)
    if by == "partner_month":
        want = {(int(p), m): v for (p, m), v in want.items()}
    assert found == want
    assert len(found) > 1


@pytest.mark.parametrize("by", ["partner", "month", "partner_month"])
def test_a_read_of_whole_months_and_edge_days_equals_the_days_read(
    filled: Any, by: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _ = filled
    workspace_id = world.workspace.pk
    every = [m for m in columns.METRIC_OF.values() if m != "events.*"] + ["events.*"]  # gauges too
    ranges = [
        (datetime.date(2026, 1, 17), datetime.date(2026, 4, 9)),  # edges on both sides
        (datetime.date(2026, 2, 1), datetime.date(2026, 3, 31)),  # whole months only
        (datetime.date(2026, 1, 31), datetime.date(2026, 3, 1)),  # one edge day each side
        (datetime.date(2025, 12, 1), datetime.date(2026, 12, 31)),  # the year, beyond the data
        (datetime.date(2026, 2, 2), datetime.date(2026, 2, 27)),  # no whole month: days only
        (datetime.date(2026, 1, 5), datetime.date.max),  # open ends (all-time totals)
        (datetime.date.min, datetime.date(2026, 3, 10)),
    ]
    month_table = PartnerMonth._meta.db_table
    found = {}
    for start, end in ranges:
        with CaptureQueriesContext(connection) as queries:
            found[start, end] = read.sums(workspace_id, start=start, end=end, metrics=every, by=by)
        whole = start.day == 1 or start.month != end.month
        assert any(month_table in q["sql"] for q in queries.captured_queries) == whole
    with unscoped():
        assert PartnerMonth.objects.filter(workspace_id=workspace_id).exists()
    monkeypatch.setattr(read, "_whole_months", lambda start, end: None)  # the days only
    for (start, end), months_read in found.items():
        days_read = read.sums(workspace_id, start=start, end=end, metrics=every, by=by)
        assert months_read == days_read, (start, end)
        assert days_read
    assert any("content.followers" in cells for cells in found[ranges[0]].values())


def test_sums_of_some_partners_and_their_scope(filled: Any) -> None:
    world, frame = filled
    a, b = world.partner_a.pk, world.partner_b.pk
    start, end = datetime.date(2026, 1, 1), datetime.date(2026, 5, 31)
    want = expected(frame[frame["partner"] == a], ["partner"], start, end)
    assert read.sums(world.workspace.pk, start=start, end=end, metrics=METRICS, partner_ids=[a]) == want
    assert read.sums(world.workspace.pk, start=start, end=end, metrics=METRICS, partner_ids=[]) == {}
    # a partner user's scope reads its own partner only, whatever the caller asks for
    with scope(AccessScope(workspace_id=world.workspace.pk, partner_id=a)):
        assert (
            read.sums(world.workspace.pk, start=start, end=end, metrics=METRICS, partner_ids=[a, b]) == want
        )
        assert read.last_days(world.workspace.pk, metrics=["contact"], on_or_before=end).keys() == {a}
        with pytest.raises(ScopeError):
            read.sums(world.workspace.pk + 1, start=start, end=end, metrics=METRICS)


def test_stock_and_last_days(filled: Any) -> None:
    world, frame = filled
    on = datetime.date(2026, 3, 15)
    upto = frame[frame["day"] <= on]
    names = ["events.certification_earned", "events.certification_expired"]
    want: dict[int, dict[str, Decimal]] = {}
    for (partner, type_key), rows in upto[upto["type"].isin([n[7:] for n in names])].groupby(
        ["partner", "type"]
    ):
        want.setdefault(int(partner), {})[f"events.{type_key}"] = Decimal(len(rows))
    assert read.stock(world.workspace.pk, metrics=names, on_or_before=on) == want

    since = datetime.date(2026, 2, 1)
    contact = upto[upto["contact"] & (upto["day"] >= since)]
    want_days = {int(p): d for p, d in contact.groupby("partner")["day"].max().items()}
    assert read.last_days(world.workspace.pk, metrics=["contact"], on_or_before=on, since=since) == want_days


def test_gauge_ends_follow_the_audience_definition(filled: Any) -> None:
    world, frame = filled
    start, end = datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)
    daily = frame.dropna(subset=["followers"]).groupby(["partner", "day"])["followers"].max()
    want, within = {}, {}
    for partner, series in daily.groupby(level=0):
        days = {d: v for (_, d), v in series.items()}
        before = [v for d, v in sorted(days.items()) if d < start]
        inside = [v for d, v in sorted(days.items()) if start <= d <= end]
        if before or inside:
            want[int(partner)] = (before[-1] if before else inside[0], (before + inside)[-1])
        if inside:
            within[int(partner)] = (inside[0], inside[-1])
    assert read.gauge_ends(world.workspace.pk, metric="content.followers", start=start, end=end) == want
    assert (
        read.gauge_ends(world.workspace.pk, metric="content.followers", start=start, end=end, carry_in=False)
        == within
    )
    assert within != want


def test_interval_medians_are_exact(filled: Any) -> None:
    world, _ = filled
    start, end = datetime.date(2026, 2, 1), datetime.date(2026, 4, 30)
    with unscoped():
        rows = list(PairedInterval.objects.values_list("partner_id", "kind", "day", "seconds"))
    intervals = pd.DataFrame(rows, columns=["partner", "kind", "day", "seconds"])
    tickets = intervals[(intervals["kind"] == "ticket.resolved") & intervals["day"].between(start, end)]
    assert len(tickets) > 3
    want = {int(p): float(s) for p, s in tickets.groupby("partner")["seconds"].median().items()}
    want[0] = float(tickets["seconds"].median())
    found = read.interval_medians(world.workspace.pk, kind="ticket.resolved", start=start, end=end)
    assert found == want
    a = world.partner_a.pk
    only_a = read.interval_medians(
        world.workspace.pk, kind="ticket.resolved", start=start, end=end, partner_ids=[a]
    )
    assert only_a == {a: want[a], 0: want[a]}


def test_a_rebuild_reads_the_same(filled: Any) -> None:
    world, _ = filled
    start, end = datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)
    before = read.sums(world.workspace.pk, start=start, end=end, metrics=METRICS, by="partner_month")
    rollups_rebuild(workspace_id=world.workspace.pk)
    assert read.sums(world.workspace.pk, start=start, end=end, metrics=METRICS, by="partner_month") == before


def test_the_workspaces_own_types_are_read_from_extra(world: Any, api_for: Any) -> None:
    """A workspace type has no column: its count and value live in the row's JSON and read the same."""
    response = api_for(world.admin).post(
        "/api/v1/event-types",
        data=json.dumps({"key": "webinar_attended", "label": "Webinar", "contact": True}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    events = [
        {
            "event_id": "w-1",
            "partner_external_id": "A-1",
            "type": "webinar_attended",
            "value": 2.5,
            "occurred_at": "2026-03-01T10:00:00Z",
            "direction": "inbound",
        },
        {
            "event_id": "w-2",
            "partner_external_id": "A-1",
            "type": "webinar_attended",
            "value": 1,
            "occurred_at": "2026-03-01T11:00:00Z",
        },
        {
            "event_id": "w-3",
            "partner_external_id": "A-1",
            "type": "webinar_attended",
            "occurred_at": "2026-03-04T11:00:00Z",
        },
        {
            "event_id": "w-4",
            "partner_external_id": "A-1",
            "type": "portal_login",
            "occurred_at": "2026-03-04T12:00:00Z",
        },
    ]
    store(api_for(world.manager), events)
    workspace_id, a = world.workspace.pk, world.partner_a.pk
    for build in ("increments", "rebuild"):
        if build == "rebuild":
            rollups_rebuild(workspace_id=workspace_id)
        else:
            rollups_fold(workspace_id=workspace_id)
        metrics = [
            "events.webinar_attended",
            "value.webinar_attended",
            "events.*",
            "contact",
            "contact.inbound",
        ]
        found = read.sums(
            workspace_id, start=datetime.date(2026, 3, 1), end=datetime.date(2026, 3, 31), metrics=metrics
        )
        assert found == {
            a: {
                "events.webinar_attended": 3,
                "value.webinar_attended": Decimal("3.5"),
                "events.*": 4,
                "contact": 3,
                "contact.inbound": 1,
            }
        }, build
        by_day = read.sums(
            workspace_id,
            start=datetime.date(2026, 3, 1),
            end=datetime.date(2026, 3, 31),
            metrics=["events.webinar_attended"],
            by="day",
        )
        assert by_day == {
            datetime.date(2026, 3, 1): {"events.webinar_attended": 2},
            datetime.date(2026, 3, 4): {"events.webinar_attended": 1},
        }
        last = read.last_days(
            workspace_id, metrics=["value.webinar_attended"], on_or_before=datetime.date(2026, 3, 31)
        )
        assert last == {a: datetime.date(2026, 3, 1)}  # the event of 03-04 has no value
