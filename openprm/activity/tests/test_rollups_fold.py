"""The job worker's fold (``rollups_fold``): many queued batches summed in one go, each event counted once,
the same table as a rebuild; partners whose new events do not pair are not re-paired."""

from __future__ import annotations

import datetime
import json
import threading
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from openprm.activity import pairing
from openprm.activity.models import Event, PairedInterval, RollupDirty, RollupPending
from openprm.activity.rollups import (
    columns,
    event_deltas,
    months,
    rollup_cells,
    rollups_fold,
    rollups_rebuild,
    rollups_refresh_pairs,
    workspace_kinds,
)
from openprm.activity.rollups import fold as fold_module
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db

PAIRED_PREFIXES = ("reply.", "ticket.", "deliverable.")


def months_of(
    cells: dict[tuple[int, datetime.date, str], Decimal],
) -> dict[tuple[int, datetime.date, str], Decimal]:
    """The month cells that day cells add up to, computed here: the columns' metrics (not ``extra``'s)
    summed per partner and calendar month, the gauges' largest value."""
    found: dict[tuple[int, datetime.date, str], Decimal] = {}
    for (partner_id, day, metric), value in cells.items():
        column = columns.COLUMN_OF.get(metric)
        if column is None:
            continue
        key = (partner_id, day.replace(day=1), metric)
        if column in columns.GAUGE_COLUMNS:
            found[key] = max(found.get(key, value), value)
        else:
            found[key] = found.get(key, Decimal(0)) + value
    return {key: value for key, value in found.items() if value}


def assert_months_match_days(workspace_id: int) -> dict[tuple[int, datetime.date, str], Decimal]:
    """``PartnerMonth`` equals its days re-aggregated (in Python, and by the database anew)."""
    stored = months.month_cells(workspace_id=workspace_id)
    assert stored == months_of(rollup_cells(workspace_id=workspace_id))
    with unscoped():
        months.months_rebuild(workspace_id)
    assert months.month_cells(workspace_id=workspace_id) == stored
    return stored


def ev(i: int, type: str = "portal_login", at: str = "2026-11-01T10:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"event_id": f"f-{i}", "partner_external_id": "A-1", "type": type, "occurred_at": at, **extra}


def post(api: Any, body: list[dict[str, Any]]) -> None:
    """Store a batch; without its commit callback it stays queued, as when the worker lags behind."""
    response = api.post("/api/v1/events", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200 and response.json()["stored"] == len(body), response.content


def queued() -> int:
    with unscoped():
        return RollupPending.objects.count()


def mixed_events() -> list[dict[str, Any]]:
    """Every kind of delta: counts, values, contact, gauges, content sums (and properties that must not
    count), tickets, deliverables, replies, a custom type, two partners, times near midnight UTC."""
    events = [
        ev(0, at="2026-11-01T23:30:00-05:00"),  # 2026-11-02 in UTC
        ev(1, at="2026-11-02T00:30:00+02:00"),  # 2026-11-01 in UTC
        ev(2, "survey_response", value=7.5),
        ev(3, "survey_response", value=0.1, partner_external_id="B-1"),
        ev(4, "survey_response", value=0.2, partner_external_id="B-1"),
        ev(5, "content_post", properties={"reach": 10, "followers": 500, "impressions": 2.5}),
        ev(6, "content_post", properties={"reach": 5, "followers": 520, "engagements": "7"}),
        ev(7, "content_post", at="2026-11-01T18:00:00Z", properties={"followers": 480, "reach": True}),
        ev(8, "email_sent", at="2026-10-01T09:00:00Z"),
        ev(9, "email_received", at="2026-10-01T15:00:00Z"),
        ev(10, "meeting", at="2026-10-02T09:00:00Z", direction="inbound"),
        ev(11, "call", at="2026-10-02T10:00:00Z"),  # contact without a direction
        ev(12, "support_ticket_opened", at="2026-10-03T08:00:00Z", properties={"ticket_id": "T-1"}),
        ev(13, "support_ticket_resolved", at="2026-10-04T08:00:00Z", properties={"ticket_id": "T-1"}),
        ev(14, "campaign_deliverable_due", at="2026-10-05T12:00:00Z", properties={"deliverable_id": 9}),
        ev(15, "campaign_deliverable_submitted", at="2026-10-05T11:00:00Z", properties={"deliverable_id": 9}),
        ev(16, "webinar_attended", value=3),
        ev(17, "partner_chat", at="2026-10-06T10:00:00Z", direction="outbound"),
        ev(18, "partner_chat", at="2026-10-06T12:00:00Z", direction="inbound"),
        ev(19, "note"),
        # survey scores (0–10): promoters from 9, detractors up to 6, a response without a score counts
        # in events.survey_response only, a lone 0 leaves a response and a detractor but no score
        ev(20, "survey_response", value=9),
        ev(21, "survey_response", value=10),
        ev(22, "survey_response", value=6),
        ev(23, "survey_response", value=0),
        ev(24, "survey_response", value=8.9999),
        ev(25, "survey_response"),
        ev(26, "survey_response", at="2026-10-07T10:00:00Z", value=0),
        ev(27, "survey_response", at="2026-10-07T23:59:59+00:00", value=6.0001, partner_external_id="B-1"),
    ]
    events += [
        ev(100 + i, at=f"2026-10-{1 + i % 28:02d}T12:00:00Z", partner_external_id="B-1") for i in range(40)
    ]
    return events


def add_custom_types(api: Any) -> None:
    for body in (
        {"key": "webinar_attended", "label": "Webinar attended"},
        {"key": "partner_chat", "label": "Chat", "contact": True},
    ):
        response = api.post("/api/v1/event-types", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content


def test_many_queued_batches_fold_in_one_go_to_the_same_table_as_a_rebuild(world: Any, api_for: Any) -> None:
    add_custom_types(api_for(world.admin))
    api = api_for(world.manager)
    events = mixed_events()
    for start in range(0, len(events), 3):
        post(api, events[start : start + 3])
    batches = queued()
    assert batches == 23
    workspace_id = world.workspace.pk

    assert rollups_fold(workspace_id=workspace_id) == batches
    assert queued() == 0
    rollups_refresh_pairs(workspace_id=workspace_id)
    incremental = rollup_cells(workspace_id=workspace_id)
    a, b = world.partner_a.pk, world.partner_b.pk
    nov1, nov2 = datetime.date(2026, 11, 1), datetime.date(2026, 11, 2)
    assert incremental[(a, nov2, "events.portal_login")] == 1
    assert incremental[(a, nov1, "content.followers")] == 520  # a gauge: the day's largest
    assert incremental[(a, nov1, "content.reach")] == 15  # True is not a number
    assert incremental[(a, nov1, "content.impressions")] == Decimal("2.5")
    assert (a, nov1, "content.engagements") not in incremental  # "7" is not a number
    assert incremental[(b, nov1, "value.survey_response")] == Decimal("0.3")
    assert incremental[(a, nov1, "value.webinar_attended")] == 3
    assert incremental[(a, datetime.date(2026, 10, 2), "contact")] == 2
    assert incremental[(a, datetime.date(2026, 10, 1), "reply.partner.seconds")] == 6 * 3600
    assert incremental[(a, datetime.date(2026, 10, 4), "ticket.resolved.count")] == 1
    assert incremental[(a, datetime.date(2026, 10, 5), "deliverable.on_time")] == 1
    # the chat on 10-06 opens a new conversation (4 days after the last message): it answers nothing,
    # and the partner's answer 2 h later is the reply
    assert (a, datetime.date(2026, 10, 6), "reply.vendor.count") not in incremental
    assert incremental[(a, datetime.date(2026, 10, 6), "reply.partner.seconds")] == 2 * 3600
    assert sum(v for (p, _, m), v in incremental.items() if p == b and m == "events.portal_login") == 40
    # partner A on 11-01: 7.5, 9, 10, 6, 0, 8.9999 and one without a score; partner B: 0.1 and 0.2
    assert incremental[(a, nov1, "events.survey_response")] == 7
    assert incremental[(a, nov1, "survey.responses")] == 6
    assert incremental[(a, nov1, "survey.score")] == Decimal("41.4999")
    assert incremental[(a, nov1, "survey.promoters")] == 2
    assert incremental[(a, nov1, "survey.detractors")] == 2
    assert incremental[(b, nov1, "survey.detractors")] == 2
    assert (b, nov1, "survey.promoters") not in incremental
    oct7 = datetime.date(2026, 10, 7)
    assert incremental[(a, oct7, "survey.responses")] == incremental[(a, oct7, "survey.detractors")] == 1
    assert (a, oct7, "survey.score") not in incremental
    assert incremental[(b, oct7, "survey.responses")] == 1
    assert (b, oct7, "survey.detractors") not in incremental  # 6.0001 is above 6
    incremental_months = assert_months_match_days(workspace_id)
    assert incremental_months[(a, nov1, "content.followers")] == 520  # a gauge: the month's largest

    rollups_rebuild(workspace_id=workspace_id)
    assert rollup_cells(workspace_id=workspace_id) == incremental
    assert months.month_cells(workspace_id=workspace_id) == incremental_months  # what a rebuild writes


def test_the_fold_counts_stored_events_as_the_orm_reads_them(world: Any, api_for: Any) -> None:
    """The fold reads events with its own query; what it adds equals the deltas of the ORM's rows."""
    add_custom_types(api_for(world.admin))
    api = api_for(world.manager)
    events = mixed_events() + [
        ev(200 + i, "survey_response", value=value, at="2026-09-30T23:59:59.999999Z")
        for i, value in enumerate((1234.5678, -0.0001, 99999999.9999, 3))
    ]
    post(api, events)
    workspace_id = world.workspace.pk
    with unscoped():
        rows = Event.objects.values_list(
            "partner_id", "type", "occurred_at", "direction", "value", "properties"
        )
        sums, gauges, _ = event_deltas(rows, workspace_kinds(workspace_id))
    expected = {cell: value for cell, value in {**sums, **gauges}.items() if value}

    rollups_fold(workspace_id=workspace_id)
    folded = {
        cell: value
        for cell, value in rollup_cells(workspace_id=workspace_id).items()
        if not cell[2].startswith(PAIRED_PREFIXES)
    }
    assert folded == expected
    assert folded[(world.partner_a.pk, datetime.date(2026, 9, 30), "value.survey_response")] == Decimal(
        "100001237.5676"
    )


def test_a_fold_transaction_takes_batches_up_to_its_event_budget(world: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    for start in range(0, 30, 5):
        post(api, [ev(i, at=f"2026-11-{1 + i % 3:02d}T10:00:00Z") for i in range(start, start + 5)])
    with CaptureQueriesContext(connection) as queries:
        assert rollups_fold(workspace_id=world.workspace.pk, events=10) == 6
    deletes = [
        q for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "activity_rolluppending"')
    ]
    assert len(deletes) == 3  # two batches of five events per transaction
    with CaptureQueriesContext(connection) as queries:
        post(api, [ev(i) for i in range(100, 120)])
        assert rollups_fold(workspace_id=world.workspace.pk, events=10) == 1  # a larger batch still goes
    cells = rollup_cells(workspace_id=world.workspace.pk)
    assert sum(v for (_, _, m), v in cells.items() if m == "events.portal_login") == 50
    rollups_rebuild(workspace_id=world.workspace.pk)
    assert rollup_cells(workspace_id=world.workspace.pk) == cells


def test_batches_without_paired_events_leave_the_paired_metrics_alone(world: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    workspace_id = world.workspace.pk
    post(
        api,
        [
            ev(1, "email_sent", at="2026-10-01T09:00:00Z"),
            ev(2, "email_received", at="2026-10-01T15:00:00Z"),
            ev(3, "support_ticket_opened", at="2026-10-02T09:00:00Z", properties={"ticket_id": "T"}),
            ev(4, "support_ticket_resolved", at="2026-10-03T09:00:00Z", properties={"ticket_id": "T"}),
        ],
    )
    rollups_fold(workspace_id=workspace_id)
    assert rollups_refresh_pairs(workspace_id=workspace_id) == 1
    with unscoped():
        intervals = sorted(PairedInterval.objects.values_list("pk", "kind", "seconds"))
    assert [(kind, seconds) for _, kind, seconds in intervals] == [
        ("reply.partner", 6 * 3600),
        ("ticket.resolved", 86_400),
    ]

    post(
        api,
        [
            ev(10, at="2026-09-01T10:00:00Z"),
            ev(11, "content_post", properties={"reach": 3}),
            ev(12, "survey_response", value=4),
            ev(13, "meeting"),  # contact, but without a direction it pairs with nothing
            ev(14, "note"),
        ],
    )
    rollups_fold(workspace_id=workspace_id)
    with unscoped():
        assert not RollupDirty.objects.exists()
    assert rollups_refresh_pairs(workspace_id=workspace_id) == 0
    with unscoped():
        assert sorted(PairedInterval.objects.values_list("pk", "kind", "seconds")) == intervals  # untouched

    post(api, [ev(20, "email_sent", at="2026-10-01T16:00:00Z")])
    rollups_fold(workspace_id=workspace_id)
    with unscoped():
        assert list(RollupDirty.objects.values_list("partner_id", "since")) == [
            (world.partner_a.pk, datetime.date(2026, 10, 1))
        ]
    assert rollups_refresh_pairs(workspace_id=workspace_id) == 1
    cells = rollup_cells(workspace_id=workspace_id)
    month_cells = assert_months_match_days(workspace_id)  # the re-paired month too
    rollups_rebuild(workspace_id=workspace_id)
    assert rollup_cells(workspace_id=workspace_id) == cells
    assert months.month_cells(workspace_id=workspace_id) == month_cells


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_folds_count_each_event_once(world: Any, api_for: Any, monkeypatch: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database cannot be written from several threads")
    # the fold job is never enqueued: the batches stay queued for the threads below
    monkeypatch.setattr(fold_module, "enqueue_after_commit", lambda name, workspace_id: None)
    api = api_for(world.manager)
    batches = 40
    for n in range(batches):  # every batch touches the same cells: the folds contend for the same rows
        post(
            api,
            [
                ev(
                    n * 10 + i,
                    at=f"2026-11-{1 + i % 3:02d}T10:00:00Z",
                    partner_external_id=("A-1", "B-1")[i % 2],
                )
                for i in range(10)
            ],
        )
    applied: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def fold() -> None:
        try:
            start.wait()
            applied.append(rollups_fold(workspace_id=world.workspace.pk, events=20))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=fold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sum(applied) == batches and queued() == 0
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_, _, metric), value in rollup_cells(workspace_id=world.workspace.pk).items():
        totals[metric] += value
    assert totals["events.portal_login"] == batches * 10
    # each fold re-aggregated the month after the others' days committed: the months equal their days
    stored = months.month_cells(workspace_id=world.workspace.pk)
    assert stored == months_of(rollup_cells(workspace_id=world.workspace.pk))


ITEMS = st.lists(
    st.builds(
        pairing.Item,
        type=st.sampled_from(
            [
                *("email_sent", "email_received", "meeting", "support_call", "campaign_note"),
                *("support_ticket_opened", "support_ticket_resolved"),
                *("campaign_deliverable_due", "campaign_deliverable_submitted"),
            ]
        ),
        at=st.integers(min_value=0, max_value=90 * 24).map(
            lambda h: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=h)
        ),
        direction=st.sampled_from(["", "inbound", "outbound"]),
        ref=st.sampled_from(["", "1", "2"]),
    ),
    max_size=40,
)


@given(ITEMS)
def test_only_tickets_and_deliverables_pair_by_their_ref(items: list[pairing.Item]) -> None:
    """The pair refresh reads the properties (ticket or deliverable id) of those types only."""
    blanked = [
        i if i.type.startswith(pairing.REF_PREFIXES) else pairing.Item(i.type, i.at, i.direction)
        for i in items
    ]
    assert pairing.pair(blanked) == pairing.pair(items)
