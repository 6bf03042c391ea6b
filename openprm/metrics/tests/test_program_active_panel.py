"""The "Active partners" panel of the staff program page: the share and counts from the rollups, the
selectable window, roles, isolation (owned partners, other workspaces) and a bounded query count."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openprm.activity.models import EventType
from openprm.activity.services.events import events_ingest
from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Program
from openprm.testing import make_partner, make_user

pytestmark = pytest.mark.django_db


def panel_url(program: Program, days: Any = None) -> str:
    url = reverse("metrics:program_active_panel", args=[program.public_id])
    return url if days is None else f"{url}?days={days}"


def default_program(world: Any) -> Program:
    with unscoped():
        return Program.objects.get(workspace=world.workspace, is_default=True)


def ingest(world: Any, capture: Any, *events: tuple[str, str, int]) -> None:
    """(partner external id, type, days ago) → stored events, folded into the rollups."""
    now = timezone.now().replace(microsecond=0)
    items = [
        {
            "event_id": f"e-{i}",
            "partner_external_id": external_id,
            "type": kind,
            "occurred_at": (now - datetime.timedelta(days=ago)).isoformat(),
        }
        for i, (external_id, kind, ago) in enumerate(events)
    ]
    with capture(execute=True), scope(world.system.access_scope()):
        result = events_ingest(actor=world.system, items=items)
    assert result.stored == len(items), result.errors


def figures(html: str) -> tuple[str, str, str]:
    """(share, counts, selected window) as shown."""
    share = re.search(r'<strong style="font-size:1.6rem">([^<]*)</strong>', html)
    counts = re.search(r'<span id="active-counts">([^<]*)</span>', html)
    window = re.search(r'aria-current="true" style="font-weight:700">([^<]*)</a>', html)
    assert share and counts and window, html
    return share.group(1), counts.group(1), window.group(1)


@pytest.fixture
def activity(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    """Acme logged in today; Globex downloaded something 45 days ago and has a non-qualifying event today."""
    with unscoped():
        EventType.objects.create(
            workspace=world.workspace, key="newsletter_opened", label="Newsletter opened", qualifying=False
        )
    ingest(
        world,
        django_capture_on_commit_callbacks,
        ("A-1", "portal_login", 0),
        ("B-1", "resource_download", 45),
        ("B-1", "newsletter_opened", 0),
        ("B-1", "certification_expired", 1),
    )


def test_share_and_counts_in_the_programs_window_and_a_chosen_one(
    world: Any, activity: None, client_for: Any
) -> None:
    program = default_program(world)
    assert program.active_window_days == 90
    client = client_for(world.analyst)
    response = client.get(panel_url(program))
    assert response.status_code == 200
    html = response.content.decode()
    assert figures(html) == ("100%", "2 of 2 enrolled partners", "90 d")
    assert "(the program's active window)" in html
    assert figures(client.get(panel_url(program, 30)).content.decode()) == (
        "50%",
        "1 of 2 enrolled partners",
        "30 d",
    )
    assert figures(client.get(panel_url(program, 365)).content.decode())[:2] == (
        "100%",
        "2 of 2 enrolled partners",
    )
    for unknown in ("abc", "13", "-5", ""):
        assert figures(client.get(panel_url(program, unknown)).content.decode())[2] == "90 d", unknown


def test_the_panel_follows_the_programs_own_window(world: Any, activity: None, client_for: Any) -> None:
    program = default_program(world)
    with unscoped():
        Program.objects.filter(pk=program.pk).update(active_window_days=14)
    html = client_for(world.manager).get(panel_url(program)).content.decode()
    assert figures(html) == ("50%", "1 of 2 enrolled partners", "14 d")
    assert "?days=14" in html and "?days=90" in html


def test_without_partners_the_share_is_a_dash(world: Any, client_for: Any) -> None:
    with unscoped():
        empty = Program.objects.create(workspace=world.workspace, name="Empty program")
    assert figures(client_for(world.admin).get(panel_url(empty)).content.decode())[:2] == (
        "—",
        "0 of 0 enrolled partners",
    )


def test_partner_users_get_404_and_anonymous_is_sent_to_login(
    world: Any, activity: None, client_for: Any
) -> None:
    program = default_program(world)
    for user in (world.a_admin, world.a_rep, world.b_admin):
        assert client_for(user).get(panel_url(program)).status_code == 404
    assert Client().get(panel_url(program)).status_code == 302


def test_staff_restricted_to_their_partners_count_only_those(
    world: Any, activity: None, client_for: Any
) -> None:
    owner = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_b.owner = owner
        world.partner_b.save(update_fields=["owner"])
    client = client_for(owner)
    program = default_program(world)
    assert figures(client.get(panel_url(program)).content.decode())[:2] == ("100%", "1 of 1 enrolled partner")
    assert figures(client.get(panel_url(program, 30)).content.decode())[:2] == (
        "0%",
        "0 of 1 enrolled partner",
    )


def test_another_workspaces_program_is_404(world: Any, client_for: Any) -> None:
    from openprm.partners.services import workspace_bootstrap

    other = Workspace.objects.create(name="Other Co", slug="other")
    workspace_bootstrap(workspace=other)
    with unscoped():
        theirs = Program.objects.get(workspace=other)
    make_partner(Actor.system(other.pk), "Their partner", tiers={theirs.name: "Gold"})
    assert client_for(world.admin).get(panel_url(theirs)).status_code == 404
    missing = Program(public_id="00000000-0000-0000-0000-000000000000")
    assert client_for(world.admin).get(panel_url(missing)).status_code == 404


def test_the_panel_does_a_bounded_number_of_queries(
    world: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(world.manager)
    program = default_program(world)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(panel_url(program)).status_code == 200
        return len(queries)

    few = count()
    for i in range(12):
        make_partner(world.system, f"Partner {i}", external_id=f"P-{i}", tiers={"Partner Program": "Gold"})
    ingest(world, django_capture_on_commit_callbacks, *((f"P-{i}", "portal_login", i) for i in range(12)))
    assert count() == few
