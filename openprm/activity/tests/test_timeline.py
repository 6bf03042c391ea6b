"""The staff engagement panel and the partner timeline: content, filters, logging, isolation, queries."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openprm.activity.models import Event
from openprm.activity.rollups import rollups_rebuild
from openprm.activity.services import interactions
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.testing import make_user

NOW = timezone.now()


def log(world: Any, partner: Any, **data: Any) -> Event:
    with scope(world.system.access_scope()):
        return interactions.interaction_create(actor=world.system, partner=partner, data=data)


def ingest(world: Any, partner: Any, n: int, type_key: str = "portal_login") -> None:
    with unscoped():
        Event.objects.bulk_create(
            Event(
                workspace_id=world.workspace.pk,
                partner=partner,
                event_id=f"{type_key}-{partner.pk}-{i}",
                type=type_key,
                occurred_at=NOW - datetime.timedelta(days=i),
                received_at=NOW,
                source="api",
            )
            for i in range(n)
        )
    rollups_rebuild(workspace_id=world.workspace.pk)


@pytest.fixture
def logged(world: Any) -> dict[str, Event]:
    return {
        "a": log(
            world,
            world.partner_a,
            kind="call",
            occurred_at=NOW - datetime.timedelta(days=2),
            subject="Acme call",
        ),
        "b": log(
            world,
            world.partner_b,
            kind="call",
            occurred_at=NOW - datetime.timedelta(days=2),
            subject="Globex call",
        ),
    }


def urls(world: Any, logged: dict[str, Event]) -> tuple[list[str], list[str]]:
    a = world.partner_a.public_id
    gets = [reverse("metrics:engagement_panel", args=[a]), reverse("activity:timeline", args=[a])]
    posts = [
        reverse("activity:interaction_create", args=[a]),
        reverse("activity:interaction_delete", args=[interactions.public_id_of(logged["a"])]),
    ]
    return gets, posts


def test_panel_shows_engagement_and_an_svg_trend(world: Any, logged: Any, client_for: Any) -> None:
    ingest(world, world.partner_a, 12)
    page = client_for(world.analyst).get(
        reverse("metrics:engagement_panel", args=[world.partner_a.public_id])
    )
    assert page.status_code == 200
    text = page.text
    assert "Portal logins" in text and "<svg" in text and "<polyline points=" in text
    assert (NOW - datetime.timedelta(days=2)).astimezone(datetime.UTC).strftime("%Y-%m-%d") in text
    assert "Acme call" in text and "Globex call" not in text
    assert "<script" not in text


def test_partner_page_loads_the_panel(world: Any, client_for: Any) -> None:
    page = client_for(world.manager).get(reverse("partners:detail", args=[world.partner_a.public_id])).text
    assert reverse("metrics:engagement_panel", args=[world.partner_a.public_id]) in page


def test_timeline_merges_events_and_deals_and_filters(world: Any, logged: Any, client_for: Any) -> None:
    from openprm.deals.services import deal_register
    from openprm.testing import actor_for

    actor = actor_for(world.a_admin)
    with scope(actor.access_scope()):
        deal_register(actor=actor, data={"customer_name": "Initrode", "amount": "1000"})  # type: ignore[typeddict-item]
    ingest(world, world.partner_a, 3)
    client = client_for(world.manager)
    url = reverse("activity:timeline", args=[world.partner_a.public_id])
    text = client.get(url).text
    assert "Acme call" in text and "Deal registered" in text and "Initrode" in text and "Portal login" in text
    assert "Globex call" not in text
    assert "Initrode" in client.get(url + "?type=deal").text
    only_calls = client.get(url + "?type=interactions").text
    assert (
        "Acme call" in only_calls and "Initrode" not in only_calls and "Portal login</td>" not in only_calls
    )
    old = (NOW - datetime.timedelta(days=10)).date().isoformat()
    assert "Acme call" not in client.get(url + f"?to={old}").text


def test_deal_rows_come_from_deals_selectors_scoped_to_the_actor(world: Any, client_for: Any) -> None:
    """The registration, then each move "from → to" with its lost reason, linking to the deal: read
    through deals' selectors (activity reads no deals model); staff restricted to other partners get
    none of these rows, even by id."""
    from openprm.deals.selectors.timeline import partner_stage_changes, stage_change_entries
    from openprm.deals.services import deal_move_stage, deal_register
    from openprm.testing import actor_for

    registrant, manager = actor_for(world.a_admin), actor_for(world.manager)
    with scope(registrant.access_scope()):
        deal, _ = deal_register(actor=registrant, data={"customer_name": "Initrode", "amount": "1000"})  # type: ignore[typeddict-item]
    with scope(manager.access_scope()):
        deal_move_stage(actor=manager, deal=deal, stage_key="closed_lost", lost_reason="Budget cut")
        ids = list(partner_stage_changes(actor=manager, partner=world.partner_a).values_list("id", flat=True))
        rows = sorted(stage_change_entries(ids=ids).values(), key=lambda row: row.id)
    assert [(r.from_stage, r.to_stage, r.lost_reason) for r in rows] == [
        (None, "Registered", ""),
        ("Registered", "Closed lost", "Budget cut"),
    ]
    assert {r.deal_public_id for r in rows} == {deal.public_id} and rows[0].customer_name == "Initrode"
    text = client_for(world.manager).get(reverse("activity:timeline", args=[world.partner_a.public_id])).text
    assert "Deal registered" in text and "Deal stage change" in text
    assert "Registered → <strong>Closed lost</strong>" in text and "Budget cut" in text
    assert reverse("deals:detail", args=[deal.public_id]) in text

    owner_only = actor_for(make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True))
    with scope(owner_only.access_scope()):
        assert not partner_stage_changes(actor=owner_only, partner=world.partner_a).exists()
        assert stage_change_entries(ids=ids) == {}


def test_custom_event_types_show_their_label_and_filter(world: Any, client_for: Any) -> None:
    from openprm.activity.services.events import event_type_create
    from openprm.testing import actor_for

    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        event_type_create(actor=actor, key="webinar_hosted", label="Webinar hosted")
    ingest(world, world.partner_a, 2, type_key="webinar_hosted")
    client = client_for(world.manager)
    url = reverse("activity:timeline", args=[world.partner_a.public_id])
    page = client.get(url).text
    assert '<option value="webinar_hosted"' in page and "Webinar hosted</td>" in page
    assert "webinar_hosted</td>" not in page
    filtered = client.get(url + "?type=webinar_hosted").text
    assert filtered.count("Webinar hosted</td>") == 2


def test_log_and_remove_an_interaction_on_the_timeline(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    a = world.partner_a.public_id
    bad = client.post(reverse("activity:interaction_create", args=[a]), {"kind": "call", "subject": ""})
    assert bad.status_code == 422 and "This field is required." in bad.text
    done = client.post(
        reverse("activity:interaction_create", args=[a]),
        {"kind": "email", "direction": "inbound", "occurred_at": "2025-01-05T10:00", "subject": "Hello"},
        follow=True,
    )
    assert "Hello" in done.text
    with unscoped():
        event = Event.objects.get(properties__subject="Hello")
    assert event.type == "email_received"
    client.post(reverse("activity:interaction_delete", args=[interactions.public_id_of(event)]))
    with unscoped():
        assert not Event.objects.filter(pk=event.pk).exists()
    assert (
        client_for(world.analyst).post(reverse("activity:interaction_create", args=[a]), {}).status_code
        == 403
    )


def test_partner_users_and_other_books_get_404(world: Any, logged: Any, client_for: Any) -> None:
    gets, posts = urls(world, logged)
    owner_only = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    for user in (world.b_admin, world.a_admin, world.a_rep, owner_only):
        client = client_for(user)
        for url in gets:
            assert client.get(url).status_code == 404, (user, url)
        for url in posts:
            assert client.post(url, {"kind": "call", "subject": "x"}).status_code == 404, (user, url)
    with unscoped():
        assert Event.objects.filter(pk=logged["a"].pk).exists()
    # Staff who own partner B see it, but not A.
    with unscoped():
        world.partner_b.owner = owner_only
        world.partner_b.save()
    client = client_for(owner_only)
    assert client.get(reverse("activity:timeline", args=[world.partner_b.public_id])).status_code == 200
    assert client.get(gets[1]).status_code == 404


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_queries_do_not_grow_with_rows(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    timeline = reverse("activity:timeline", args=[world.partner_a.public_id])
    panel = reverse("metrics:engagement_panel", args=[world.partner_a.public_id])
    for i in range(3):
        log(
            world,
            world.partner_a,
            kind="meeting",
            occurred_at=NOW - datetime.timedelta(days=i),
            subject=f"m{i}",
        )
    ingest(world, world.partner_a, 3)
    few = (_count(client, timeline), _count(client, panel))
    for i in range(40):
        log(
            world,
            world.partner_a,
            kind="meeting",
            occurred_at=NOW - datetime.timedelta(days=i),
            subject=f"n{i}",
        )
    ingest(world, world.partner_a, 60, "resource_download")
    assert (_count(client, timeline), _count(client, panel)) == few
    assert few[0] <= 14 and few[1] <= 12


def test_the_panel_and_the_timeline_show_type_labels_not_keys_run_together(
    world: Any, client_for: Any
) -> None:
    log(world, world.partner_a, kind="email", occurred_at=NOW - datetime.timedelta(hours=3), subject="Offer")
    log(
        world,
        world.partner_a,
        kind="email",
        direction="inbound",
        occurred_at=NOW - datetime.timedelta(hours=1),
        subject="Re: Offer",
    )
    client = client_for(world.manager)
    a = world.partner_a.public_id
    for url in (reverse("metrics:engagement_panel", args=[a]), reverse("activity:timeline", args=[a])):
        page = client.get(url).text
        assert "Emailsent" not in page and "Emailreceived" not in page
        assert "E-mail sent to the partner" in page and "E-mail from the partner" in page


@pytest.mark.parametrize("value", ["%00", "a%00b", "Portal Login", "x" * 61, "%F0%9F%92%A5"])
def test_a_type_filter_that_is_no_type_key_answers_400_naming_it(
    world: Any, client_for: Any, value: str
) -> None:
    ingest(world, world.partner_a, 1)
    url = reverse("activity:timeline", args=[world.partner_a.public_id])
    response = client_for(world.manager).get(f"{url}?type={value}")
    assert response.status_code == 400
    assert "Type: not an event type" in response.text and "Portal login" in response.text  # unfiltered
