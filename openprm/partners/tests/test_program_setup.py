"""Program set-up by admins: create and edit programs (name, SLA, protection, attribution, active window),
add/rename/reorder/remove tiers — over the API and on the pages, validated, audited; others may not."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from django.urls import reverse

from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.partners.models import Program, Tier

pytestmark = pytest.mark.django_db
API = "/api/v1"


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(API + url, body, content_type="application/json")


def patch(client: Any, url: str, body: Any) -> Any:
    return client.patch(API + url, body, content_type="application/json")


def default_program(world: Any) -> Program:
    with unscoped():
        return Program.objects.get(workspace=world.workspace, is_default=True)


def tier_names(program: Program) -> list[str]:
    with unscoped():
        return list(Tier.objects.filter(program=program).order_by("rank").values_list("name", flat=True))


def audited(public_id: Any) -> list[tuple[str, dict[str, Any]]]:
    with unscoped():
        return [(e.action, e.changes) for e in AuditEntry.objects.filter(object_id=public_id).order_by("id")]


def test_admin_creates_and_edits_a_program_over_the_api(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    created = post(admin, "/programs", {"name": "Referral Program", "protection_days": 60})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Referral Program" and body["protection_days"] == 60
    assert body["approval_sla_days"] == 2 and body["tiers"] == [] and body["is_default"] is False
    url = f"/programs/{body['public_id']}"
    changed = patch(
        admin,
        url,
        {"approval_sla_days": 5, "attribution_model": "first_click", "attribution_window_days": 45},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["attribution_model"] == "first_click" and changed.json()["approval_sla_days"] == 5
    assert [a for a, _ in audited(body["public_id"])] == ["create", "update"]
    assert audited(body["public_id"])[1][1]["approval_sla_days"] == {"before": 2, "after": 5}
    names = [p["name"] for p in api_for(world.analyst).get(API + "/programs").json()["items"]]
    assert names == ["Partner Program", "Referral Program"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "partner program"}, "name"),  # taken, whatever the case
        ({"name": ""}, "name"),
        ({"name": "X", "protection_days": 0}, "protection_days"),
        ({"name": "X", "approval_sla_days": 1000}, "approval_sla_days"),
        ({"name": "X", "attribution_window_days": -3}, "attribution_window_days"),
        ({"name": "X", "active_window_days": "ninety"}, "active_window_days"),
        ({"name": "X", "attribution_model": "linear"}, "attribution_model"),
        ({"name": "X", "colour": "red"}, "colour"),
    ],
)
def test_bad_program_input_is_a_422_naming_the_field(world: Any, api_for: Any, body: Any, field: str) -> None:
    response = post(api_for(world.admin), "/programs", body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


def test_the_default_program_stays_unique(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    old = default_program(world)
    new = post(admin, "/programs", {"name": "New Default", "is_default": True}).json()
    with unscoped():
        assert list(Program.objects.filter(is_default=True).values_list("name", flat=True)) == ["New Default"]
    response = patch(admin, f"/programs/{new['public_id']}", {"is_default": False})
    assert response.status_code == 422 and response.json()["field"] == "is_default"
    assert patch(admin, f"/programs/{old.public_id}", {"name": "New Default"}).json()["field"] == "name"


def test_tiers_are_added_renamed_reordered_and_removed(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    program = default_program(world)
    added = post(admin, f"/programs/{program.public_id}/tiers", {"name": "Diamond"})
    assert added.status_code == 201 and added.json()["rank"] == 5
    assert post(admin, f"/programs/{program.public_id}/tiers", {"name": "gold"}).json()["field"] == "name"
    diamond = f"/tiers/{added.json()['public_id']}"
    assert patch(admin, diamond, {"name": "Titanium"}).json()["name"] == "Titanium"
    assert patch(admin, diamond, {"name": "Silver"}).json()["field"] == "name"
    # swapping neighbours keeps ranks unique (the constraint on workspace, program, rank)
    assert patch(admin, diamond, {"move": "down"}).json()["rank"] == 4
    assert tier_names(program) == ["Bronze", "Silver", "Gold", "Titanium", "Platinum"]
    response = patch(admin, diamond, {"move": "sideways"})
    assert response.status_code == 422 and response.json()["field"] == "move"
    with unscoped():
        bronze = Tier.objects.get(program=program, name="Bronze")
        silver = Tier.objects.get(program=program, name="Silver")
    assert patch(admin, f"/tiers/{bronze.public_id}", {"move": "down"}).json()["field"] == "move"
    # Silver is held by partner A: it stays
    response = admin.delete(f"{API}/tiers/{silver.public_id}")
    assert response.status_code == 422 and "1 partner holds" in response.json()["message"]
    assert admin.delete(f"{API}/tiers/{bronze.public_id}").status_code == 204
    assert tier_names(program) == ["Silver", "Gold", "Titanium", "Platinum"]
    with unscoped():
        assert list(Tier.objects.filter(program=program).order_by("rank").values_list("rank", flat=True)) == [
            1,
            2,
            3,
            4,
        ]
    actions = [a for a, _ in audited(bronze.public_id)]
    assert actions == ["delete"]
    assert [a for a, _ in audited(added.json()["public_id"])] == ["create", "update", "update"]


def test_only_admins_change_programs_partners_get_404(world: Any, api_for: Any) -> None:
    program = default_program(world)
    with unscoped():
        gold = Tier.objects.get(program=program, name="Gold")
    writes = [
        ("post", "/programs", {"name": "Nope"}),
        ("patch", f"/programs/{program.public_id}", {"protection_days": 10}),
        ("post", f"/programs/{program.public_id}/tiers", {"name": "Nope"}),
        ("patch", f"/tiers/{gold.public_id}", {"name": "Nope"}),
        ("delete", f"/tiers/{gold.public_id}", None),
    ]
    for user, status in (
        (world.manager, 403),
        (world.analyst, 403),
        (world.finance, 403),
        (world.a_admin, 404),
    ):
        client = api_for(user)
        for method, url, body in writes:
            if method == "delete":
                response = client.delete(API + url)
            else:
                response = getattr(client, method)(API + url, body, content_type="application/json")
            assert response.status_code == status, (user.email, url, response.content)
    partner_user = api_for(world.a_admin)
    assert partner_user.get(API + "/programs").status_code == 404
    assert partner_user.get(f"{API}/programs/{program.public_id}").status_code == 404
    assert api_for(world.analyst).get(f"{API}/programs/{program.public_id}").status_code == 200
    assert tier_names(program) == ["Bronze", "Silver", "Gold", "Platinum"]
    assert default_program(world).protection_days == 90


def test_settings_page_lists_tiers_without_a_trailing_separator(world: Any, client_for: Any) -> None:
    with unscoped():  # a second program, whose tiers come after the first one's
        other = Program.objects.create(workspace=world.workspace, name="Technology Alliance")
        for rank, name in enumerate(["Member", "Premier"], start=1):
            Tier.objects.create(workspace=world.workspace, program=other, name=name, rank=rank)
    html = client_for(world.admin).get(reverse("partners:settings")).content.decode()
    lines = [
        html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", line)).strip())
        for line in re.findall(r"<p[^>]*>\s*<strong><a href=\"/partners/programs/.*?</p>", html, re.S)
    ]
    assert len(lines) == 2, lines
    assert lines[0].endswith("Bronze < Silver < Gold < Platinum"), lines
    assert lines[1].endswith("Member < Premier"), lines


def test_admin_creates_and_edits_a_program_on_the_pages(world: Any, client_for: Any) -> None:
    page = client_for(world.admin)
    settings_html = page.get(reverse("partners:settings")).content.decode()
    assert f'href="{reverse("partners:program_create")}"' in settings_html
    form = {
        "name": "Agency Program",
        "approval_sla_days": "3",
        "protection_days": "0",
        "attribution_model": "last_click",
        "attribution_window_days": "30",
        "active_window_days": "90",
    }
    refused = page.post(reverse("partners:program_create"), form)
    assert refused.status_code == 200 and "between 1 and 1095" in refused.content.decode()
    response = page.post(reverse("partners:program_create"), {**form, "protection_days": "120"}, follow=True)
    with unscoped():
        program = Program.objects.get(workspace=world.workspace, name="Agency Program")
    assert program.protection_days == 120 and response.redirect_chain[-1][0].endswith(f"{program.public_id}/")
    tiers = reverse("partners:program_tiers", args=[program.public_id])
    for name in ("Registered", "Certified", "Elite"):
        page.post(tiers, {"action": "add", "name": name})
    with unscoped():
        elite = Tier.objects.get(program=program, name="Elite")
    page.post(tiers, {"action": "down", "tier": str(elite.public_id)})
    page.post(tiers, {"action": "rename", "tier": str(elite.public_id), "name": "Premier"})
    assert tier_names(program) == ["Registered", "Premier", "Certified"]
    shown = page.get(reverse("partners:program_detail", args=[program.public_id]), follow=True)
    assert "Premier" in shown.content.decode() and 'id="add-tier"' in shown.content.decode()
    duplicate = page.post(tiers, {"action": "add", "name": "premier"}, follow=True)
    assert "already has a tier named" in duplicate.content.decode()
    edit = reverse("partners:program_edit", args=[program.public_id])
    page.post(edit, {**form, "protection_days": "45", "active_window_days": "60"})
    program.refresh_from_db()
    assert program.protection_days == 45 and program.active_window_days == 60


def test_program_pages_are_for_admins(world: Any, client_for: Any) -> None:
    program = default_program(world)
    urls = [
        reverse("partners:program_create"),
        reverse("partners:program_edit", args=[program.public_id]),
    ]
    for user in (world.manager, world.analyst):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == 403
        tiers = reverse("partners:program_tiers", args=[program.public_id])
        assert client.post(tiers, {"action": "add", "name": "X"}).status_code == 403
        html = client.get(reverse("partners:program_detail", args=[program.public_id])).content.decode()
        assert 'id="add-tier"' not in html and 'id="edit-program"' not in html
    for url in urls:
        assert client_for(world.a_admin).get(url).status_code == 404
    assert tier_names(program) == ["Bronze", "Silver", "Gold", "Platinum"]
