"""The payouts API: a run from draft to paid over HTTP (the export file downloaded, marked paid twice
without a second payment), payout details masked, statements listed and downloaded; two-partner
isolation: partner users get 404 for runs, for the other partner's details and statements; restricted
staff only reach their own partners'."""

from __future__ import annotations

import datetime
import json

import pytest

from openprm.commissions.tests.payout_fixtures import IBAN_A, bank_details, entry, make_plan
from openprm.core.permissions import Role
from openprm.reports.tests.conftest import pdf_text
from openprm.testing import World, make_user

pytestmark = pytest.mark.django_db
BASE = "/api/v1/commissions"


def post(client, path, body):  # type: ignore[no-untyped-def]
    return client.post(f"{BASE}/{path}", data=json.dumps(body), content_type="application/json")


def put(client, path, body):  # type: ignore[no-untyped-def]
    return client.put(f"{BASE}/{path}", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def paid(world: World, api_for):  # type: ignore[no-untyped-def]
    """A run paying both partners, done over the API by finance; returns (run id, statement ids)."""
    plan = make_plan(world, min_payout="0")
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban="GB82WEST12345698765432")
    entry(world, world.partner_a, "120.00", plan=plan)
    entry(world, world.partner_b, "80.00", plan=plan)
    api = api_for(world.finance)
    created = post(api, "payouts", {"currency": "USD", "cutoff": str(datetime.date.today())})
    assert created.status_code == 201, created.content
    run = created.json()
    assert run["status"] == "draft" and run["total"] == "200.00" and len(run["items"]) == 2
    exported = post(api, f"payouts/{run['id']}/export", {})
    assert exported.status_code == 200 and exported.json()["status"] == "exported"
    file = api.get(f"{BASE}/payouts/{run['id']}/file", {"method": "bank"})
    assert file.status_code == 200 and IBAN_A in file.content.decode()
    assert file["Content-Disposition"].startswith('attachment; filename="payout-usd-')
    for _ in range(2):
        done = post(api, f"payouts/{run['id']}/paid", {"reference": "BANK-77"})
        assert done.status_code == 200 and done.json()["status"] == "paid"
    statements = api.get(f"{BASE}/statements").json()
    assert statements["count"] == 2
    return run["id"], {s["partner_name"]: s["id"] for s in statements["items"]}


def test_a_run_over_the_api_and_its_statements(world: World, api_for, paid) -> None:  # type: ignore[no-untyped-def]
    run_id, statements = paid
    api = api_for(world.finance)
    runs = api.get(f"{BASE}/payouts").json()
    assert runs["count"] == 1 and runs["items"][0]["reference"] == "BANK-77"
    one = api.get(f"{BASE}/statements/{statements['Acme Resellers']}").json()
    assert one["paid"] == "120.00" and one["closing"] == "0.00"
    assert [line["amount"] for line in one["lines"]] == ["120.00", "-120.00"]
    pdf = api.get(f"{BASE}/statements/{statements['Acme Resellers']}/download")
    assert pdf["Content-Type"] == "application/pdf" and "Acme Resellers" in pdf_text(pdf.content)
    bad = post(api, f"payouts/{run_id}/retry", {})
    assert bad.status_code == 422 and bad.json()["field"] == "status"


def test_details_are_masked_over_the_api(world: World, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.a_admin)
    body = {
        "method": "bank",
        "currency": "EUR",
        "holder_name": "Acme GmbH",
        "iban": "DE89 3704 0044 0532 0130 00",
        "tax_id": "DE123456789",
    }
    saved = put(api, f"payout-details/{world.partner_a.public_id}", body)
    assert saved.status_code == 200, saved.content
    text = saved.content.decode()
    assert IBAN_A not in text and "DE123456789" not in text
    assert saved.json()["masked"]["iban"] == "DE•• •••• 3000"
    staff = api_for(world.finance).get(f"{BASE}/payout-details/{world.partner_a.public_id}")
    assert staff.json()["display"] == "IBAN DE•• •••• 3000" and IBAN_A not in staff.content.decode()
    refused = put(api, f"payout-details/{world.partner_a.public_id}", {**body, "iban": "DE00"})
    assert refused.status_code == 422 and refused.json()["field"] == "iban"


def test_two_partner_isolation(world: World, api_for, paid) -> None:  # type: ignore[no-untyped-def]
    run_id, statements = paid
    a_statement, b_statement = statements["Acme Resellers"], statements["Globex Referrals"]
    b_api = api_for(world.b_admin)
    for path in (
        "payouts",
        f"payouts/{run_id}",
        f"payouts/{run_id}/file?method=bank",
        f"payout-details/{world.partner_a.public_id}",
        f"statements/{a_statement}",
        f"statements/{a_statement}/download",
        f"statements/{a_statement}/download?format=csv",
    ):
        assert b_api.get(f"{BASE}/{path}").status_code == 404, path
    for path in (f"payouts/{run_id}/export", f"payouts/{run_id}/retry", "payouts"):
        assert post(
            b_api, path, {"currency": "USD", "cutoff": "2026-01-01"} if path == "payouts" else {}
        ).status_code in (404, 422), path
    assert (
        put(
            b_api,
            f"payout-details/{world.partner_a.public_id}",
            {"method": "wise", "currency": "EUR", "email": "x@y.example"},
        ).status_code
        == 404
    )
    own = b_api.get(f"{BASE}/statements").json()
    assert [s["partner_name"] for s in own["items"]] == ["Globex Referrals"]
    assert b_api.get(f"{BASE}/statements/{b_statement}/download?format=csv").status_code == 200
    assert b_api.get(f"{BASE}/payout-details/{world.partner_b.public_id}").json()["exists"] is True
    # a rep of partner A reads A's statement but may not change A's payout details
    rep = api_for(world.a_rep)
    assert rep.get(f"{BASE}/statements/{a_statement}").status_code == 200
    assert (
        put(
            rep,
            f"payout-details/{world.partner_a.public_id}",
            {"method": "wise", "currency": "EUR", "email": "x@y.example"},
        ).status_code
        == 403
    )
    # staff restricted to their own partners (they own none here)
    restricted = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    r_api = api_for(restricted)
    assert r_api.get(f"{BASE}/statements").json()["count"] == 0
    assert r_api.get(f"{BASE}/statements/{a_statement}").status_code == 404
    # staff without payout.manage read but do not act
    analyst = api_for(world.analyst)
    assert analyst.get(f"{BASE}/payouts/{run_id}").status_code == 200
    assert post(analyst, f"payouts/{run_id}/retry", {}).status_code == 403
