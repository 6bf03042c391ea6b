"""The staff program page: settings, tiers with their partners, the active-partner panel; roles,
isolation (owned partners, other workspaces) and a bounded query count."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.partners.models import Program
from openprm.testing import make_partner, make_user

pytestmark = pytest.mark.django_db


def default_program(world: Any) -> Program:
    with unscoped():
        return Program.objects.get(workspace=world.workspace, is_default=True)


def url(program: Program) -> str:
    return reverse("partners:program_detail", args=[program.public_id])


def tier_counts(html: str) -> dict[str, str]:
    section = html[html.index('id="program-tiers"') :]
    section = section[: section.index("</table>")]
    return dict(re.findall(r"<tr><td[^>]*>([^<]+)</td><td>(\d+)</td>", section))


def test_staff_see_the_program_its_tiers_and_the_active_partner_panel(world: Any, client_for: Any) -> None:
    program = default_program(world)
    for user in (world.admin, world.manager, world.finance, world.analyst):
        response = client_for(user).get(url(program))
        assert response.status_code == 200
        html = response.content.decode()
        assert program.name in html and "90 days" in html  # its active window
        counts = tier_counts(html)
        assert counts["Silver"] == "1" and counts["Gold"] == "1" and counts["No tier"] == "0"
        assert '<th id="program-enrolled">2</th>' in html
        assert f'hx-get="/metrics/programs/{program.public_id}/active-partners/"' in html
        assert f"/partners/?program={program.public_id}" in html


def test_linked_from_the_partner_page_and_the_settings(world: Any, client_for: Any) -> None:
    program = default_program(world)
    partner_page = client_for(world.analyst).get(reverse("partners:detail", args=[world.partner_a.public_id]))
    assert f'href="{url(program)}"' in partner_page.content.decode()
    assert (
        f'href="{url(program)}"' in client_for(world.admin).get(reverse("partners:settings")).content.decode()
    )


def test_partner_users_get_404_and_anonymous_is_sent_to_login(world: Any, client_for: Any) -> None:
    program = default_program(world)
    for user in (world.a_admin, world.a_rep, world.b_admin):
        assert client_for(user).get(url(program)).status_code == 404
    response = Client().get(url(program))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_staff_restricted_to_their_partners_count_only_those(world: Any, client_for: Any) -> None:
    owner = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_b.owner = owner
        world.partner_b.save(update_fields=["owner"])
    html = client_for(owner).get(url(default_program(world))).content.decode()
    counts = tier_counts(html)
    assert counts["Gold"] == "1" and counts["Silver"] == "0"
    assert '<th id="program-enrolled">1</th>' in html


def test_another_workspaces_program_is_404(world: Any, client_for: Any) -> None:
    from openprm.partners.services import workspace_bootstrap

    other = Workspace.objects.create(name="Other Co", slug="other")
    workspace_bootstrap(workspace=other)
    with unscoped():
        theirs = Program.objects.get(workspace=other)
    make_partner(Actor.system(other.pk), "Their partner", tiers={theirs.name: "Gold"})
    assert client_for(world.admin).get(url(theirs)).status_code == 404
    assert (
        client_for(world.admin)
        .get(url(Program(public_id="00000000-0000-0000-0000-000000000000")))
        .status_code
        == 404
    )


def test_query_count_does_not_grow_with_partners(
    world: Any, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.manager)
    program = default_program(world)
    with django_assert_max_num_queries(8):
        assert client.get(url(program)).status_code == 200
    for i in range(20):
        make_partner(
            world.system, f"Bulk partner {i:02d}", tiers={"Partner Program": "Gold" if i % 2 else "Silver"}
        )
    with django_assert_max_num_queries(8):
        response = client.get(url(program))
    assert response.status_code == 200
    assert tier_counts(response.content.decode())["Gold"] == "11"
