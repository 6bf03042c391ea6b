"""Logged interactions are events: the service keeps the rollups exact (a rebuild gives the same cells),
the API keeps its paths and shapes, and every id of another partner answers 404."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from openprm.activity.models import Event
from openprm.activity.rollups import rollup_cells, rollups_rebuild, rollups_refresh_pairs
from openprm.activity.services import interactions
from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.partners import services as partner_services
from openprm.testing import make_user

API = "/api/v1"
NOW = timezone.now()


def log(world: Any, partner: Any, **data: Any) -> Event:
    with scope(world.system.access_scope()):
        return interactions.interaction_create(actor=world.system, partner=partner, data=data)


@pytest.fixture
def rows(world: Any) -> dict[str, Any]:
    made: dict[str, Any] = {}
    with scope(world.system.access_scope()):
        for key, partner in (("a", world.partner_a), ("b", world.partner_b)):
            made[f"{key}_contact"] = partner_services.contact_create(
                actor=world.system, partner=partner, data={"name": f"{partner.name} Contact"}
            )
    for key, partner in (("a", world.partner_a), ("b", world.partner_b)):
        made[f"{key}_interaction"] = log(
            world,
            partner,
            kind="call",
            occurred_at=NOW - datetime.timedelta(days=3),
            subject=f"Kick-off with {partner.name}",
        )
    return made


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(API + url, data=body, content_type="application/json")


def patch(client: Client, url: str, body: Any) -> Any:
    return client.patch(API + url, data=body, content_type="application/json")


# --- the service ----------------------------------------------------------------------------------------


def test_an_interaction_is_an_event_with_subject_and_body(world: Any, rows: dict[str, Any]) -> None:
    event = log(
        world,
        world.partner_a,
        kind="email",
        direction="inbound",
        occurred_at=NOW - datetime.timedelta(hours=2),
        subject="Question",
        body="How do I register a deal?",
        contact=rows["a_contact"],
    )
    with unscoped():
        stored = Event.objects.get(pk=event.pk)
    assert (stored.type, stored.direction, stored.source) == ("email_received", "inbound", "ui")
    assert stored.properties == {"subject": "Question", "body": "How do I register a deal?"}
    assert stored.actor_contact_id == rows["a_contact"].pk
    assert stored.event_id == f"ui-{interactions.public_id_of(stored).hex}"  # type: ignore[union-attr]
    note = log(world, world.partner_a, kind="note", direction="internal", occurred_at=NOW, subject="memo")
    assert (note.type, note.direction) == ("note", "")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"kind": "email", "direction": "internal"}, "direction"),
        ({"occurred_at": NOW + datetime.timedelta(days=3)}, "occurred_at"),
        ({"subject": "  "}, "subject"),
    ],
)
def test_bad_interactions_are_refused_naming_the_field(world: Any, data: dict[str, Any], field: str) -> None:
    from django.core.exceptions import ValidationError

    body = {"kind": "call", "occurred_at": NOW, "subject": "x", **data}
    with pytest.raises(ValidationError) as error:
        log(world, world.partner_a, **body)
    assert field in error.value.message_dict


def test_increments_match_a_rebuild_after_create_update_and_delete(
    world: Any, rows: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Messages both ways (reply pairs), a meeting, a note; one moved to another day, one removed."""
    start = NOW - datetime.timedelta(days=20)
    sent = log(world, world.partner_a, kind="email", occurred_at=start, subject="Offer")
    log(
        world,
        world.partner_a,
        kind="email",
        direction="inbound",
        occurred_at=start + datetime.timedelta(hours=5),
        subject="Re",
    )
    log(world, world.partner_a, kind="meeting", occurred_at=start + datetime.timedelta(days=1), subject="QBR")
    log(world, world.partner_a, kind="note", direction="internal", occurred_at=start, subject="memo")
    answer = log(
        world, world.partner_a, kind="email", occurred_at=start + datetime.timedelta(days=2), subject="x"
    )
    with scope(world.system.access_scope()):
        interactions.interaction_update(
            actor=world.system, event=sent, data={"occurred_at": start - datetime.timedelta(days=2)}
        )
        interactions.interaction_delete(actor=world.system, event=answer)
    rollups_refresh_pairs(workspace_id=world.workspace.pk)
    incremental = rollup_cells(workspace_id=world.workspace.pk)
    assert any(metric == "reply.partner.count" for _, _, metric in incremental)
    assert "events.email_sent" in {m for _, _, m in incremental}
    rollups_rebuild(workspace_id=world.workspace.pk)
    assert rollup_cells(workspace_id=world.workspace.pk) == incremental


def test_removing_the_only_contact_leaves_no_last_contact(world: Any, client_for: Any) -> None:
    event = log(world, world.partner_a, kind="call", occurred_at=NOW, subject="x")
    with scope(world.system.access_scope()):
        interactions.interaction_delete(actor=world.system, event=event)
    page = client_for(world.manager).get(f"/partners/{world.partner_a.public_id}/").text
    assert '<dd id="last-contact">never</dd>' in page


def test_last_contact_ignores_internal_notes(world: Any, rows: dict[str, Any], client_for: Any) -> None:
    log(world, world.partner_a, kind="note", direction="internal", occurred_at=NOW, subject="memo")
    page = client_for(world.manager).get(f"/partners/{world.partner_a.public_id}/").text
    expected = (NOW - datetime.timedelta(days=3)).astimezone(datetime.UTC).strftime("%Y-%m-%d")
    assert f'<dd id="last-contact">{expected}</dd>' in page
    listed = client_for(world.manager).get("/partners/?sort=-last_contact").text
    assert expected in listed


# --- the API (same paths and shapes as before the move) ---------------------------------------------------


def test_interaction_crud(world: Any, rows: dict[str, Any], api_for: Any) -> None:
    api = api_for(world.manager)
    base = f"/partners/{world.partner_a.public_id}/interactions"
    created = post(
        api,
        base,
        {
            "kind": "meeting",
            "direction": "inbound",
            "occurred_at": "2025-03-04T10:00:00+01:00",
            "subject": "QBR",
            "body": "Went well",
            "contact": str(rows["a_contact"].public_id),
        },
    )
    assert created.status_code == 201, created.content
    interaction = created.json()
    assert interaction["occurred_at"] == "2025-03-04T09:00:00Z"
    assert interaction["contact"] == str(rows["a_contact"].public_id)
    assert interaction["logged_by"] == "manager@vendor.test"
    assert (interaction["kind"], interaction["type"]) == ("meeting", "meeting")
    listed = api.get(API + base).json()
    assert listed["count"] == 2
    assert listed["items"][0]["subject"] == rows["a_interaction"].properties["subject"]  # newest first
    url = f"/interactions/{interaction['public_id']}"
    assert api.get(API + url).json() == interaction
    changed = patch(api, url, {"subject": "QBR Q1", "contact": None, "kind": "email"})
    assert changed.status_code == 200
    assert (changed.json()["subject"], changed.json()["contact"]) == ("QBR Q1", None)
    assert (changed.json()["type"], changed.json()["direction"]) == ("email_received", "inbound")
    assert api.delete(API + url).status_code == 204
    assert api.get(API + url).status_code == 404


def test_the_openapi_document_keeps_operation_ids_tags_and_enums(client: Client) -> None:
    # Operation ids are the API's public names (generated clients use them): moving the endpoints to
    # another module must not rename them.
    document = client.get(f"{API}/openapi.json").json()
    operations = {
        (method, path.removeprefix(API)): (op["operationId"], op["tags"])
        for path, item in document["paths"].items()
        for method, op in item.items()
        if "interaction" in path
    }
    named = "openprm_activity_api_engagement_interaction_"
    assert operations == {
        ("get", "/partners/{public_id}/interactions"): (named + "list", ["interactions"]),
        ("post", "/partners/{public_id}/interactions"): (named + "create", ["interactions"]),
        ("get", "/interactions/{public_id}"): (named + "get", ["interactions"]),
        ("patch", "/interactions/{public_id}"): (named + "update", ["interactions"]),
        ("delete", "/interactions/{public_id}"): (named + "delete", ["interactions"]),
    }
    kind = document["components"]["schemas"]["InteractionCreate"]["properties"]["kind"]
    assert kind == {"type": "string", "enum": ["note", "call", "meeting", "email"], "title": "Kind"}


def test_migrated_ids_keep_working(world: Any, api_for: Any) -> None:
    public_id = uuid.uuid4()
    with unscoped():
        Event.objects.create(
            workspace_id=world.workspace.pk,
            partner=world.partner_a,
            event_id=f"interaction-{public_id}",
            type="call",
            occurred_at=NOW,
            received_at=NOW,
            direction="outbound",
            properties={"subject": "Old call", "body": ""},
            source="ui",
        )
    body = api_for(world.analyst).get(f"{API}/interactions/{public_id}").json()
    assert (body["public_id"], body["subject"]) == (str(public_id), "Old call")


def test_events_from_other_sources_are_not_interactions(world: Any, api_for: Any) -> None:
    with unscoped():
        Event.objects.create(
            workspace_id=world.workspace.pk,
            partner=world.partner_a,
            event_id=f"ui-{uuid.uuid4().hex}",
            type="portal_login",
            occurred_at=NOW,
            received_at=NOW,
            source="ui",
        )
    listed = api_for(world.admin).get(f"{API}/partners/{world.partner_a.public_id}/interactions").json()
    assert listed["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "call", "subject": "X"}, "occurred_at"),
        ({"kind": "fax", "subject": "X", "occurred_at": "2025-01-01T00:00:00Z"}, "kind"),
        ({"kind": "call", "subject": "X", "occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
        (
            {"kind": "call", "subject": "X", "occurred_at": "2025-01-01T00:00:00Z", "contact": "nope"},
            "contact",
        ),
        (
            {"kind": "call", "subject": "X", "occurred_at": "2025-01-01T00:00:00Z", "direction": "up"},
            "direction",
        ),
        ({"kind": "call", "subject": "X", "occurred_at": "2025-01-01T00:00:00Z", "body": "\u0000"}, "body"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(world: Any, api_for: Any, body: Any, field: str) -> None:
    response = post(api_for(world.admin), f"/partners/{world.partner_a.public_id}/interactions", body)
    assert response.status_code == 422, response.content
    assert (response.json()["code"], response.json()["field"]) == ("validation_error", field)


def test_contact_must_belong_to_the_partner(world: Any, rows: dict[str, Any], api_for: Any) -> None:
    body = {"kind": "call", "occurred_at": "2025-01-01T00:00:00Z", "subject": "x"}
    for contact in (rows["b_contact"].public_id, uuid.uuid4()):
        response = post(
            api_for(world.manager),
            f"/partners/{world.partner_a.public_id}/interactions",
            {**body, "contact": str(contact)},
        )
        assert (response.status_code, response.json()["field"]) == (422, "contact")


def test_partner_b_user_gets_404_for_partner_a_interactions(
    world: Any, rows: dict[str, Any], api_for: Any
) -> None:
    api = api_for(world.b_admin)
    a_url = f"/interactions/{interactions.public_id_of(rows['a_interaction'])}"
    for response in (api.get(API + a_url), patch(api, a_url, {"subject": "Spy"}), api.delete(API + a_url)):
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    base = f"/partners/{world.partner_a.public_id}"
    for response in (
        api.get(f"{API}{base}/interactions"),
        post(
            api,
            f"{base}/interactions",
            {"kind": "call", "subject": "Spy", "occurred_at": "2025-01-01T00:00:00Z"},
        ),
        api.get(f"{API}{base}/engagement"),
    ):
        assert response.status_code == 404, response.content
    own = api.get(f"{API}/partners/{world.partner_b.public_id}/interactions").json()
    assert [i["public_id"] for i in own["items"]] == [str(interactions.public_id_of(rows["b_interaction"]))]
    assert api.get(f"{API}/partners/{world.partner_b.public_id}/engagement").status_code == 200


def test_partner_users_never_see_internal_notes(world: Any, rows: dict[str, Any], api_for: Any) -> None:
    note = log(world, world.partner_b, kind="note", occurred_at=NOW, subject="Internal: renewal risk")
    api = api_for(world.b_admin)
    listed = api.get(f"{API}/partners/{world.partner_b.public_id}/interactions").json()["items"]
    assert [i["subject"] for i in listed] == [rows["b_interaction"].properties["subject"]]
    response = api.get(f"{API}/interactions/{interactions.public_id_of(note)}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    staff = api_for(world.analyst).get(f"{API}/partners/{world.partner_b.public_id}/interactions").json()
    assert len(staff["items"]) == 2


def test_staff_restricted_to_their_book_get_404(world: Any, rows: dict[str, Any], api_for: Any) -> None:
    rep = make_user(world.workspace, "owner@vendor.test", Role.MANAGER, owned_only=True)
    api = api_for(rep)
    url = f"{API}/interactions/{interactions.public_id_of(rows['a_interaction'])}"
    assert api.get(url).status_code == 404
    assert api.get(f"{API}/partners/{world.partner_a.public_id}/interactions").status_code == 404
    assert api.get(f"{API}/partners/{world.partner_a.public_id}/engagement").status_code == 404


WRITES = {
    "create": (
        "post",
        "/partners/{partner}/interactions",
        {"kind": "note", "subject": "N", "occurred_at": "2025-01-01T00:00:00Z"},
    ),
    "update": ("patch", "/interactions/{interaction}", {"subject": "edited"}),
    "delete": ("delete", "/interactions/{interaction}", None),
}


@pytest.mark.parametrize("action", sorted(WRITES))
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("admin", True),
        ("manager", True),
        ("finance", False),
        ("analyst", False),
        ("a_admin", False),
        ("a_rep", False),
    ],
)
def test_only_editors_may_write(
    world: Any, rows: dict[str, Any], api_for: Any, who: str, allowed: bool, action: str
) -> None:
    method, path, body = WRITES[action]
    url = API + path.format(
        partner=world.partner_a.public_id, interaction=interactions.public_id_of(rows["a_interaction"])
    )
    api = api_for(getattr(world, who))
    response = (
        api.delete(url)
        if method == "delete"
        else getattr(api, method)(url, data=body, content_type="application/json")
    )
    if allowed:
        assert response.status_code in (200, 201, 204), response.content
    else:
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_writes_are_audited(world: Any, rows: dict[str, Any], api_for: Any) -> None:
    api = api_for(world.manager)
    public_id = interactions.public_id_of(rows["a_interaction"])
    patch(api, f"/interactions/{public_id}", {"subject": "Renamed"})
    api.delete(f"{API}/interactions/{public_id}")
    with unscoped():
        entries = list(AuditEntry.objects.filter(object_id=public_id).order_by("id"))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert entries[1].changes["subject"] == {"before": "Kick-off with Acme Resellers", "after": "Renamed"}
    assert entries[1].actor_label == "manager@vendor.test"
    assert entries[1].partner_id == world.partner_a.pk
