"""The staff event-types page: the built-in catalog and the workspace's custom types; admins add types
(field errors on the form), other staff read, partner users and other workspaces see nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openprm.activity.catalog import BUILTIN_TYPES
from openprm.activity.models import EventType
from openprm.core.actors import Actor
from openprm.core.models import AuditEntry, Workspace
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db

URL = "/activity/event-types/"


def add(client: Client, **data: Any) -> Any:
    return client.post(
        URL, {"key": "webinar_attended", "label": "Webinar attended", "qualifying": "on", **data}
    )


def row(html: str, key: str) -> str:
    start = html.index(f'id="type-{key}"')
    return html[start : html.index("</tr>", start)]


def cells(html: str, key: str) -> list[str]:
    """The text of the row's cells: key, label, category, contact, qualifying, origin."""
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row(html, key))
    ]


def test_admin_adds_a_custom_type_that_the_events_api_then_accepts(
    world: Any, client_for: Any, api_for: Any
) -> None:
    admin = client_for(world.admin)
    page = admin.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for key, kind in BUILTIN_TYPES.items():
        assert kind.label in row(html, key) and "built-in" in row(html, key)
    assert cells(html, "note") == ["note", "Internal note", "communication", "no", "no", "built-in"]
    assert cells(html, "meeting")[3:5] == ["yes", "yes"]
    assert 'id="new-event-type"' in html
    response = add(admin, contact="on")
    assert response.status_code == 302
    html = admin.get(URL).content.decode()
    assert cells(html, "webinar_attended") == [
        "webinar_attended",
        "Webinar attended",
        "custom",
        "yes",
        "yes",
        "custom",
    ]
    with unscoped():
        created = EventType.objects.get(workspace=world.workspace, key="webinar_attended")
        assert AuditEntry.objects.filter(object_id=created.public_id, action="create").exists()
    assert (created.contact, created.qualifying) == (True, True)
    stored = api_for(world.manager).post(
        "/api/v1/events",
        data=json.dumps(
            [
                {
                    "event_id": "w-1",
                    "partner_external_id": "A-1",
                    "type": "webinar_attended",
                    "occurred_at": "2026-01-05T10:00:00Z",
                }
            ]
        ),
        content_type="application/json",
    )
    assert stored.status_code == 200 and stored.json()["stored"] == 1


def test_unticked_qualifying_is_stored_as_not_qualifying(world: Any, client_for: Any) -> None:
    admin = client_for(world.admin)
    assert admin.post(URL, {"key": "newsletter_opened", "label": "Newsletter opened"}).status_code == 302
    with unscoped():
        created = EventType.objects.get(key="newsletter_opened")
    assert (created.contact, created.qualifying) == (False, False)
    assert cells(admin.get(URL).content.decode(), "newsletter_opened")[3:5] == ["no", "no"]


def form_row(html: str, field_id: str) -> str:
    """The form row of ``field_id``: the errors render inside it, after the input."""
    start = html.index(f'id="{field_id}"')
    end = html.find('<div class="form-row">', start)
    return html[start : end if end != -1 else len(html)]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"key": "portal_login"}, "id_key", "is a built-in type"),
        ({"key": "Bad Key!"}, "id_key", "lower-case letters"),
        ({"label": ""}, "id_label", "This field is required."),
        ({"key": "x" * 61}, "id_key", "at most 60 characters"),
    ],
)
def test_errors_are_shown_next_to_the_field(
    world: Any, client_for: Any, data: dict[str, Any], field: str, message: str
) -> None:
    response = add(client_for(world.admin), **data)
    assert response.status_code == 200
    assert message in form_row(response.content.decode(), field)
    with unscoped():
        assert not EventType.objects.exists()


def test_a_second_type_with_the_same_key_is_refused_on_the_key_field(world: Any, client_for: Any) -> None:
    admin = client_for(world.admin)
    assert add(admin).status_code == 302
    again = add(admin, label="Again")
    assert again.status_code == 200
    assert "already has a type" in form_row(again.content.decode(), "id_key")
    with unscoped():
        assert EventType.objects.count() == 1


def test_other_staff_read_the_list_but_cannot_add(world: Any, client_for: Any) -> None:
    with unscoped():
        EventType.objects.create(workspace=world.workspace, key="demo_booked", label="Demo booked")
    for user in (world.manager, world.finance, world.analyst):
        client = client_for(user)
        html = client.get(URL).content.decode()
        assert "Demo booked" in row(html, "demo_booked")
        assert 'id="new-event-type"' not in html
        assert add(client).status_code == 403
    with unscoped():
        assert not EventType.objects.filter(key="webinar_attended").exists()


def test_partner_users_get_404_and_anonymous_is_sent_to_login(world: Any, client_for: Any) -> None:
    for user in (world.a_admin, world.a_rep, world.b_admin):
        client = client_for(user)
        assert client.get(URL).status_code == 404
        assert add(client).status_code == 404
    response = Client().get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
    with unscoped():
        assert not EventType.objects.exists()


def test_another_workspaces_custom_types_are_not_listed(world: Any, client_for: Any) -> None:
    from openprm.activity.services.events import event_type_create
    from openprm.core.scoping import scope
    from openprm.partners.services import workspace_bootstrap

    other = Workspace.objects.create(name="Other Co", slug="other")
    workspace_bootstrap(workspace=other)
    other_system = Actor.system(other.pk)
    with scope(other_system.access_scope()):
        event_type_create(actor=other_system, key="secret_thing", label="Their secret type")
    admin = client_for(world.admin)
    html = admin.get(URL).content.decode()
    assert "secret_thing" not in html and "Their secret type" not in html
    # the same key is still free in this workspace
    assert add(admin, key="secret_thing", label="Ours").status_code == 302
    with unscoped():
        assert EventType.objects.filter(key="secret_thing").count() == 2


def test_the_list_does_a_bounded_number_of_queries(world: Any, client_for: Any) -> None:
    client = client_for(world.analyst)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    def add_types(start: int, n: int) -> None:
        with unscoped():
            for i in range(start, start + n):
                EventType.objects.create(workspace=world.workspace, key=f"custom_{i}", label=f"Custom {i}")

    add_types(0, 1)
    few = count()
    add_types(1, 15)
    assert count() == few


def test_linked_from_the_settings_page_and_the_timeline(world: Any, client_for: Any) -> None:
    admin = client_for(world.admin)
    assert f'href="{URL}"' in admin.get("/partners/settings/").content.decode()
    timeline = client_for(world.analyst).get(f"/activity/partners/{world.partner_a.public_id}/timeline/")
    assert f'href="{URL}"' in timeline.content.decode()
