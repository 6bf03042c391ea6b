"""POST /api/v1/events: per-index errors, idempotency, all-or-nothing, NDJSON, limits, rollups, scoping."""

from __future__ import annotations

import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection

from openprm.activity.models import Event
from openprm.activity.rollups import rollup_cells, rollups_rebuild
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.testing import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def ev(i: int, **extra):  # type: ignore[no-untyped-def]
    return {
        "event_id": f"e-{i}",
        "partner_external_id": "A-1",
        "type": "portal_login",
        "occurred_at": "2026-11-01T10:00:00Z",
        **extra,
    }


def post(api, body, **params):  # type: ignore[no-untyped-def]
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return api.post(URL + query, data=json.dumps(body), content_type="application/json")


def stored() -> int:
    with unscoped():
        return Event.objects.count()


def test_valid_events_are_stored_with_their_fields(world, api_for):
    api = api_for(world.manager)
    body = [
        ev(1),
        ev(2, partner=str(world.partner_b.public_id), partner_external_id=None, type="email_received"),
        ev(
            3,
            type="content_post",
            value=3,
            properties={"reach": 1200, "impressions": 5000, "engagements": 250},
        ),
        ev(
            4,
            type="call",
            direction="outbound",
            actor_email="manager@vendor.test",
            occurred_at="2026-11-02T08:00:00+02:00",
        ),
    ]
    del body[1]["partner_external_id"]
    response = post(api, body)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "received": 4,
        "stored": 4,
        "duplicates": 0,
        "rejected": 0,
        "refused": False,
        "errors": [],
    }
    with unscoped():
        events = {e.event_id: e for e in Event.objects.all()}
    assert events["e-2"].partner_id == world.partner_b.pk and events["e-2"].direction == ""
    assert events["e-3"].value == Decimal("3") and events["e-3"].properties["reach"] == 1200
    call = events["e-4"]
    assert call.actor_user_id == world.manager.pk and call.direction == "outbound" and call.source == "api"
    assert call.occurred_at == datetime.datetime(2026, 11, 2, 6, tzinfo=datetime.UTC)
    assert call.received_at >= call.occurred_at


def test_bad_events_get_errors_with_their_index_and_the_good_ones_are_stored(world, api_for):
    body = [
        ev(0),
        ev(1, type="teleportation"),
        ev(2, occurred_at="2099-01-01T00:00:00Z"),
        ev(3, event_id="bad\x00id"),
        ev(4, properties={"blob": "x" * 20_000}),
        ev(5, value="12"),
        ev(6, properties=["not", "an", "object"]),
        "not an object",
        ev(8, partner_external_id="NOPE"),
        ev(9, occurred_at="yesterday"),
        ev(10, direction="sideways"),
        ev(11, type="email_sent", direction="inbound"),
        ev(12, colour="blue"),
        ev(13, properties={"note": "nul \x00 inside"}),
        ev(14, value=float("inf")) | {"value": 1e300},
        {"type": "portal_login"},
        ev(16),
        ev(17, partner_external_id="A-\x001"),
        ev(18, actor_email="x\x00@acme.example"),
    ]
    response = post(api_for(world.admin), body)
    assert response.status_code == 200
    data = response.json()
    assert (data["stored"], data["rejected"]) == (2, 17)
    errors = {e["index"]: (e["field"], e["code"]) for e in data["errors"]}
    assert errors == {
        1: ("type", "unknown_type"),
        2: ("occurred_at", "in_future"),
        3: ("event_id", "invalid"),
        4: ("properties", "too_large"),
        5: ("value", "invalid_type"),
        6: ("properties", "invalid_type"),
        7: ("", "invalid_type"),
        8: ("partner_external_id", "not_found"),
        9: ("occurred_at", "invalid"),
        10: ("direction", "invalid"),
        11: ("direction", "invalid"),
        12: ("colour", "unknown_field"),
        13: ("properties", "invalid"),
        14: ("value", "invalid"),
        15: ("event_id", "required"),
        17: ("partner_external_id", "not_found"),
        18: ("actor_email", "not_found"),
    }
    assert "Known:" in next(e["message"] for e in data["errors"] if e["index"] == 1)
    assert stored() == 2


def test_resent_events_are_never_stored_twice(world, api_for, django_capture_on_commit_callbacks):
    api = api_for(world.manager)
    body = [ev(i) for i in range(50)]
    with django_capture_on_commit_callbacks(execute=True):  # the rollup job runs inline in tests
        assert post(api, body).json()["stored"] == 50
        again = post(api, [*body, ev(50)]).json()
        repeated = post(api, [ev(60), ev(60), ev(61)]).json()
    assert (again["stored"], again["duplicates"]) == (1, 50)
    assert (repeated["stored"], repeated["duplicates"]) == (2, 1)
    assert stored() == 53
    cells = rollup_cells(workspace_id=world.workspace.pk)
    day = datetime.date(2026, 11, 1)
    assert cells[(world.partner_a.pk, day, "events.portal_login")] == 53  # rollups counted each once


def test_atomic_batches_store_nothing_when_one_event_is_bad(world, api_for):
    response = post(api_for(world.manager), [ev(1), ev(2, type="nope"), ev(3)], atomic="true")
    assert response.status_code == 422
    data = response.json()
    assert data["refused"] is True and data["stored"] == 0 and data["errors"][0]["index"] == 1
    assert stored() == 0
    assert post(api_for(world.manager), [ev(1), ev(3)], atomic="true").json()["stored"] == 2


def test_ndjson_bodies_and_unparseable_lines(world, api_for):
    lines = [json.dumps(ev(1)), "{not json", "", json.dumps(ev(2))]
    response = api_for(world.manager).post(URL, data="\n".join(lines), content_type="application/x-ndjson")
    assert response.status_code == 200
    data = response.json()
    assert data["stored"] == 2 and [(e["index"], e["code"]) for e in data["errors"]] == [(1, "invalid_json")]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("[", 400, "bad_request"),
        ('{"event_id": "x"}', 400, "bad_request"),
        (b"\xff\xfe", 400, "bad_request"),
    ],
)
def test_malformed_bodies_are_clear_errors(world, api_for, body, status, code):
    response = api_for(world.manager).post(URL, data=body, content_type="application/json")
    assert response.status_code == status and response.json()["code"] == code


def test_at_most_ten_thousand_events_per_request(world, api_for):
    response = post(api_for(world.manager), [ev(i) for i in range(10_001)])
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert stored() == 0


@pytest.mark.parametrize("who", ["analyst", "finance", "a_admin", "a_rep"])
def test_only_staff_who_may_ingest_can_send_events(world, api_for, who):
    response = post(api_for(getattr(world, who)), [ev(1)])
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert stored() == 0


def test_unauthenticated_requests_are_refused(world, client):
    assert client.post(URL, data="[]", content_type="application/json").status_code == 401


def test_staff_restricted_to_owned_partners_cannot_send_for_others(world, api_for):
    owned_only = make_user(world.workspace, "owned@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_a.owner = owned_only
        world.partner_a.save()
    body = [ev(1), ev(2, partner_external_id="B-1"), ev(3, partner=str(world.partner_b.public_id))]
    body[2].pop("partner_external_id")
    data = post(api_for(owned_only), body).json()
    assert data["stored"] == 1
    assert [(e["index"], e["code"]) for e in data["errors"]] == [(1, "not_found"), (2, "not_found")]


def test_another_partners_contact_is_not_an_actor(world, api_for):
    from openprm.partners.models import Contact

    with unscoped():
        Contact.objects.create(
            workspace=world.workspace, partner=world.partner_b, name="Bo", email="bo@globex.example"
        )
    data = post(api_for(world.manager), [ev(1, actor_email="bo@globex.example")]).json()
    assert [(e["field"], e["code"]) for e in data["errors"]] == [("actor_email", "not_found")]


def test_incremental_rollups_equal_a_rebuild(world, api_for, django_capture_on_commit_callbacks):
    api = api_for(world.manager)
    with django_capture_on_commit_callbacks(execute=True) as jobs:  # the rollup job runs inline in tests
        post(api, [ev(i, occurred_at=f"2026-10-{1 + i % 20:02d}T12:00:00Z") for i in range(40)])
        post(
            api,
            [
                ev(100, type="content_post", properties={"reach": 10, "followers": 500}),
                ev(101, type="content_post", properties={"reach": 5, "followers": 520}),
                ev(102, type="email_sent", occurred_at="2026-10-01T09:00:00Z"),
                ev(103, type="email_received", occurred_at="2026-10-01T15:00:00Z"),
                ev(104, type="survey_response", value=9, partner_external_id="B-1"),
            ],
        )
    assert len(jobs) == 2
    incremental = rollup_cells(workspace_id=world.workspace.pk)
    assert incremental[(world.partner_a.pk, datetime.date(2026, 11, 1), "content.followers")] == 520
    assert incremental[(world.partner_a.pk, datetime.date(2026, 11, 1), "content.reach")] == 15
    assert incremental[(world.partner_b.pk, datetime.date(2026, 11, 1), "value.survey_response")] == 9
    assert incremental[(world.partner_a.pk, datetime.date(2026, 10, 1), "reply.partner.seconds")] == 6 * 3600
    rollups_rebuild(workspace_id=world.workspace.pk)
    assert rollup_cells(workspace_id=world.workspace.pk) == incremental


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_batches_with_overlapping_ids_lose_and_duplicate_nothing(world, api_for):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite test databases cannot be written from several threads")
    apis = [api_for(world.manager) for _ in range(4)]
    batches = [[ev(i) for i in range(start, start + 300)] for start in (0, 100, 200, 300)]  # 50-75% overlap
    results: list[dict] = []
    failures: list[BaseException] = []

    def send(api, batch):  # type: ignore[no-untyped-def]
        try:
            response = post(api, batch)
            assert response.status_code == 200, response.content
            results.append(response.json())
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=pair) for pair in zip(apis, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert stored() == 600
    assert sum(r["stored"] for r in results) == 600
    assert sum(r["duplicates"] for r in results) == 1200 - 600
    cells = rollup_cells(workspace_id=world.workspace.pk)
    assert sum(v for (_, _, metric), v in cells.items() if metric == "events.portal_login") == 600


def test_custom_event_types_extend_the_catalog(world, api_for):
    types = api_for(world.analyst).get("/api/v1/event-types").json()
    assert {"portal_login", "content_post", "note"} <= {t["key"] for t in types if t["builtin"]}
    admin = api_for(world.admin)
    created = admin.post(
        "/api/v1/event-types",
        data=json.dumps({"key": "webinar_attended", "label": "Webinar attended", "qualifying": True}),
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["builtin"] is False
    assert post(admin, [ev(1, type="webinar_attended")]).json()["stored"] == 1
    for body, field in (
        ({"key": "webinar_attended", "label": "Again"}, "key"),
        ({"key": "portal_login", "label": "Mine"}, "key"),
        ({"key": "Bad Key!", "label": "x"}, "key"),
        ({"key": "ok_key", "label": ""}, "label"),
    ):
        response = admin.post("/api/v1/event-types", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 422 and response.json()["field"] == field, response.content
    for who in ("manager", "a_admin"):
        response = api_for(getattr(world, who)).post(
            "/api/v1/event-types",
            data=json.dumps({"key": "x_y", "label": "X"}),
            content_type="application/json",
        )
        assert response.status_code == 403
    listed = {t["key"] for t in api_for(world.analyst).get("/api/v1/event-types").json()}
    assert "webinar_attended" in listed


def test_program_active_partner_share_reads_the_rollups(world, api_for, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from openprm.partners.models import Program

    with unscoped():
        program = Program.objects.get(workspace=world.workspace, is_default=True)
    today = timezone.now().replace(microsecond=0)
    old = today - datetime.timedelta(days=program.active_window_days + 10)
    with django_capture_on_commit_callbacks(execute=True):
        post(
            api_for(world.manager),
            [
                ev(1, occurred_at=today.isoformat()),
                ev(2, partner_external_id="B-1", occurred_at=old.isoformat()),
                ev(3, partner_external_id="B-1", type="certification_expired", occurred_at=today.isoformat()),
            ],
        )
    url = f"/api/v1/programs/{program.public_id}/active-partners"
    data = api_for(world.analyst).get(url).json()
    assert (data["active"], data["total"], float(data["share"])) == (1, 2, 0.5)
    assert data["window_days"] == program.active_window_days
    wide = api_for(world.analyst).get(url + f"?window_days={program.active_window_days + 20}").json()
    assert (wide["active"], wide["total"], wide["window_days"]) == (2, 2, program.active_window_days + 20)
    for bad in ("0", "366", "x"):
        assert api_for(world.analyst).get(url + f"?window_days={bad}").status_code == 422
    assert api_for(world.a_admin).get(url).status_code == 404
    assert (
        api_for(world.analyst)
        .get("/api/v1/programs/00000000-0000-0000-0000-000000000000/active-partners")
        .status_code
        == 404
    )


NESTED = "[" * 1_000 + "]" * 1_000


@pytest.mark.parametrize("url", [URL, "/api/v1/partners"])
def test_json_nested_too_deep_is_a_client_error_naming_the_body(world, api_for, url):  # type: ignore[no-untyped-def]
    # every endpoint answers a 422 too_deep naming where the nesting is: the events endpoint (which reads
    # its own body) names the event ([0]: the array's first item), the others the body
    response = api_for(world.admin).post(url, data=NESTED, content_type="application/json")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["field"] == ("[0]" if url == URL else "body"), body
    assert body["errors"][0]["code"] == "too_deep", body
    assert "nested" in body["message"].lower(), body


def test_ndjson_lines_nested_too_deep_are_per_index_errors(world, api_for):  # type: ignore[no-untyped-def]
    text = json.dumps(ev(1)) + "\n" + "[" * 5_000 + "]" * 5_000 + "\n"
    response = api_for(world.manager).post(URL, data=text, content_type="application/x-ndjson")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stored"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["index"] == 1 and "nested" in body["errors"][0]["message"].lower()


@pytest.mark.parametrize("query", ["atomic=maybe", "atomic=", "atomic=%00"])
def test_a_bad_query_answers_as_the_schema_says(world, api_for, query):  # type: ignore[no-untyped-def]
    """422 with the API's error shape (code, message, field) — and the OpenAPI schema documents it."""
    response = api_for(world.manager).post(f"{URL}?{query}", data="[]", content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error" and body["field"] == "atomic", body
    spec = api_for(world.manager).get("/api/v1/openapi.json").json()
    documented = spec["paths"][URL]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    refs = json.dumps(documented)
    assert "ErrorOut" in refs and "IngestOut" in refs
