"""The scorecards pages: they render for staff, exports open (XLSX with openpyxl), forms set targets and
criteria, and isolation holds — partner users reach only their own partner's scorecard and targets (404
otherwise, never notes), the staff pages are 404 for them, restricted staff see only their partners."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from openprm.core.scoping import scope
from openprm.partners.models import Program, Tier
from openprm.scorecards import services
from openprm.scorecards.models import Target, TierCriterion
from openprm.scorecards.tests.conftest import this_month
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_targets(data: Any) -> Any:
    actor = actor_for(data.admin)
    with scope(actor.access_scope()):
        for partner, value in ((data.partner_a, "2000"), (data.partner_b, "100")):
            services.target_create(
                actor=actor,
                data={
                    "metric": "won_revenue",
                    "period": this_month().key,
                    "partner": partner,
                    "value": value,
                    "notes": f"note about {partner.name}",
                },
            )
    return data


def test_staff_pages_render(with_targets: Any, client_for: Any) -> None:
    admin = client_for(with_targets.admin)
    table = admin.get("/scorecards/")
    assert table.status_code == 200 and "Acme Resellers" in table.content.decode()
    partner = admin.get(f"/scorecards/partners/{with_targets.partner_a.public_id}/")
    body = partner.content.decode()
    assert partner.status_code == 200 and 'id="overall"' in body and "Tier progress" in body
    board = admin.get("/scorecards/leaderboard/?metric=won_revenue")
    assert "Acme Resellers" in board.content.decode() and 'id="pareto-summary"' in board.content.decode()
    targets = admin.get("/scorecards/targets/")
    assert "note about Acme Resellers" in targets.content.decode()
    settings = admin.get("/scorecards/settings/")
    assert settings.status_code == 200 and "Tier criteria" in settings.content.decode()
    target = with_targets_target(with_targets, with_targets.partner_a)
    assert admin.get(f"/scorecards/targets/{target.public_id}/").status_code == 200


def with_targets_target(data: Any, partner: Any) -> Target:
    with scope(data.system.access_scope()):
        return Target.objects.get(partner=partner)


def test_scorecard_table_exports_csv_and_xlsx(with_targets: Any, client_for: Any) -> None:
    from openpyxl import load_workbook

    admin = client_for(with_targets.admin)
    csv_text = admin.get("/scorecards/?format=csv&sort=name").content.decode()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("period,partner_id,partner,program,tier,overall")
    assert ",Acme Resellers,Partner Program,Silver," in lines[1]
    response = admin.get("/scorecards/?format=xlsx&sort=name")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["period", "partner_id", "partner", "program", "tier", "overall"]
    assert sheet.cell(row=2, column=3).value == "Acme Resellers"
    assert sheet.cell(row=3, column=3).value == "Globex Referrals"
    won = header.index("won_revenue") + 1
    assert sheet.cell(row=2, column=won).value == 1000.0 and sheet.cell(row=3, column=won).value == 200.0
    assert isinstance(sheet.cell(row=2, column=6).value, int | float)  # a number, not text


def test_partner_users_reach_only_their_own(with_targets: Any, client_for: Any) -> None:
    b = client_for(with_targets.b_admin)
    a_id, b_id = with_targets.partner_a.public_id, with_targets.partner_b.public_id
    assert b.get(f"/scorecards/partners/{a_id}/").status_code == 404
    own = b.get(f"/scorecards/partners/{b_id}/").content.decode()
    assert "Globex Referrals" in own and "Acme" not in own
    for url in (
        "/scorecards/",
        "/scorecards/leaderboard/",
        "/scorecards/settings/",
        "/scorecards/?format=xlsx",
    ):
        assert b.get(url).status_code == 404, url
    target_a = with_targets_target(with_targets, with_targets.partner_a)
    assert b.get(f"/scorecards/targets/{target_a.public_id}/").status_code == 404
    listed = b.get("/scorecards/targets/").content.decode()
    assert "Globex Referrals" in listed and "Acme" not in listed and "note about" not in listed
    assert (
        b.post("/scorecards/targets/", {"action": "accept", "target": str(target_a.public_id)}).status_code
        == 404
    )
    target_b = with_targets_target(with_targets, with_targets.partner_b)
    accepted = b.post("/scorecards/targets/", {"action": "accept", "target": str(target_b.public_id)})
    assert accepted.status_code == 302
    with scope(with_targets.system.access_scope()):
        assert Target.objects.get(pk=target_b.pk).accepted_by_id == with_targets.b_admin.pk
    save = b.post(
        "/scorecards/targets/",
        {
            "action": "save",
            "metric": "logins",
            "period": "2026",
            "scope": "partner",
            "partner": str(b_id),
            "value": "1",
        },
    )
    assert save.status_code == 403


def test_restricted_staff_pages(with_targets: Any, client_for: Any) -> None:
    from openprm.core.permissions import Role
    from openprm.partners.services import partner_update
    from openprm.testing import make_user

    owner = make_user(with_targets.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with scope(with_targets.system.access_scope()):
        partner_update(
            actor=with_targets.system, partner=with_targets.partner_a, data={"owner_email": owner.email}
        )
    c = client_for(owner)
    assert c.get(f"/scorecards/partners/{with_targets.partner_b.public_id}/").status_code == 404
    table = c.get("/scorecards/").content.decode()
    assert "Acme Resellers" in table and "Globex" not in table
    board = c.get("/scorecards/leaderboard/").content.decode()
    assert "Globex" not in board
    targets = c.get("/scorecards/targets/").content.decode()
    assert "note about Acme" in targets and "Globex" not in targets


def test_forms_set_targets_import_csv_and_criteria(data: Any, client_for: Any) -> None:
    admin = client_for(data.admin)
    period = this_month().key
    made = admin.post(
        "/scorecards/targets/",
        {
            "action": "save",
            "metric": "logins",
            "period": period,
            "scope": "partner",
            "partner": str(data.partner_a.public_id),
            "value": "3",
            "notes": "n",
        },
    )
    assert made.status_code == 302
    wrong = admin.post(
        "/scorecards/targets/",
        {"action": "save", "metric": "logins", "period": "2026-W02", "scope": "tier", "value": "3"},
    )
    assert wrong.status_code == 200 and "Choose the tier." in wrong.content.decode()
    csv_text = (
        "metric,period,partner_external_id,tier,program,value,owner_email,notes\n"
        "won_revenue,2026,B-1,,,5000,,\n"
        "logins,2026,,Gold,,x,,\n"
    )
    refused = admin.post(
        "/scorecards/targets/", {"action": "import", "file": SimpleUploadedFile("t.csv", csv_text.encode())}
    )
    assert "line 3, value:" in refused.content.decode()
    with scope(data.system.access_scope()):
        assert Target.objects.count() == 1
        program = Program.objects.get(name="Partner Program")
        gold = Tier.objects.get(name="Gold", program=program)
    good = csv_text.replace(",x,", ",12,")
    assert (
        admin.post(
            "/scorecards/targets/", {"action": "import", "file": SimpleUploadedFile("t.csv", good.encode())}
        ).status_code
        == 302
    )
    again = admin.post(
        "/scorecards/targets/",
        {"action": "import", "file": SimpleUploadedFile("t.csv", good.encode()), "dry_run": "on"},
    )
    assert "0 new target(s), changed 0, 2 unchanged" in again.content.decode()
    added = admin.post(
        f"/scorecards/settings/?program={program.public_id}",
        {
            "action": "criterion",
            "program": str(program.public_id),
            "tier": str(gold.public_id),
            "metric": "overall_score",
            "minimum": "70",
            "grain": "year",
        },
    )
    assert added.status_code == 302
    saved = admin.post(
        "/scorecards/settings/",
        {
            "action": "config",
            "program": str(program.public_id),
            "financial-weight": "2",
            "financial-0-key": "won_revenue",
            "financial-0-weight": "1",
            "financial-0-method": "target",
            "cap": "120",
        },
    )
    assert saved.status_code == 302
    with scope(data.system.access_scope()):
        assert Target.objects.count() == 3
        assert TierCriterion.objects.get().metric == "overall_score"
    from openprm.scorecards.models import ScorecardConfig

    with scope(data.system.access_scope()):
        assert ScorecardConfig.objects.get().cap == 120
    analyst = client_for(data.analyst)
    assert (
        analyst.post(
            "/scorecards/settings/", {"action": "reset", "program": str(program.public_id)}
        ).status_code
        == 403
    )
