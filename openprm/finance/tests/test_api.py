"""The finance API: CRUD with audit, validation errors naming the field, roles, and two-partner isolation
(partner users and restricted staff get 404 for others' records; partner users never see costs, company
revenue or invoice notes)."""

from __future__ import annotations

import json

import pytest

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.finance.models import Invoice, PartnerCost
from openprm.testing import make_user

pytestmark = pytest.mark.django_db
BASE = "/api/v1/finance"


def post(client, path, body):  # type: ignore[no-untyped-def]
    return client.post(f"{BASE}/{path}", data=json.dumps(body), content_type="application/json")


def patch(client, path, body):  # type: ignore[no-untyped-def]
    return client.patch(f"{BASE}/{path}", data=json.dumps(body), content_type="application/json")


def invoice_body(partner, number="INV-1", **extra):  # type: ignore[no-untyped-def]
    return {
        "partner": str(partner.public_id),
        "number": number,
        "issued_on": "2026-03-01",
        "due_on": "2026-03-31",
        "amount": "1200.50",
        "note": "internal: chase Bob",
        **extra,
    }


@pytest.fixture
def records(world, api_for):  # type: ignore[no-untyped-def]
    """An invoice and a sell-through line for each partner and a cost for partner A, made over the API."""
    api = api_for(world.finance)
    made = {}
    for label, partner in (("a", world.partner_a), ("b", world.partner_b)):
        made[f"inv_{label}"] = post(api, "invoices", invoice_body(partner, f"INV-{label}")).json()[
            "public_id"
        ]
        line = {
            "partner": str(partner.public_id),
            "period": "2026-03-15",
            "sku": "SKU-1",
            "region": "EMEA",
            "units_sold": 10,
            "units_on_hand": 4,
            "unit_price": "9.50",
            "list_price": "10.00",
        }
        made[f"st_{label}"] = post(api, "sellthrough", line).json()["public_id"]
    cost = {
        "partner": str(world.partner_a.public_id),
        "period": "2026-03-01",
        "category": "mdf",
        "amount": "5000",
    }
    made["cost_a"] = post(api, "costs", cost).json()["public_id"]
    made["revenue"] = post(api, "company-revenue", {"period": "2026-03-01", "amount": "900000"}).json()[
        "public_id"
    ]
    return made


def test_crud_is_audited(world, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.finance)
    body = {
        "partner": str(world.partner_a.public_id),
        "period": "2026-04-17",
        "category": "fees",
        "amount": "99.999",
    }
    created = post(api, "costs", body)
    assert created.status_code == 201, created.content
    cost = created.json()
    assert (cost["period"], cost["amount"], cost["partner"]["name"]) == (
        "2026-04-01",
        "100.00",
        "Acme Resellers",
    )
    changed = patch(api, f"costs/{cost['public_id']}", {"amount": "150", "note": "Q2 event"})
    assert changed.status_code == 200 and changed.json()["amount"] == "150.00"
    assert api.delete(f"{BASE}/costs/{cost['public_id']}").status_code == 204
    assert api.get(f"{BASE}/costs/{cost['public_id']}").status_code == 404
    with unscoped():
        actions = list(
            AuditEntry.objects.filter(object_type="finance.partnercost")
            .order_by("at", "id")
            .values_list("action", flat=True)
        )
    assert actions == ["create", "update", "delete"]


def test_errors_name_the_field(world, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.finance)
    assert post(api, "invoices", invoice_body(world.partner_a)).status_code == 201
    again = post(api, "invoices", invoice_body(world.partner_a))
    assert again.status_code == 422 and again.json()["field"] == "number"
    backwards = post(api, "invoices", invoice_body(world.partner_a, "INV-2", due_on="2026-02-01"))
    assert backwards.status_code == 422 and backwards.json()["field"] == "due_on"
    bad_category = post(
        api,
        "costs",
        {"partner": str(world.partner_a.public_id), "period": "2026-01-01", "category": "beer", "amount": 1},
    )
    assert bad_category.status_code == 422 and bad_category.json()["field"] == "category"
    nul = post(api, "invoices", invoice_body(world.partner_a, "INV-\x00"))
    assert nul.status_code == 422 and nul.json()["field"] == "number"
    negative = post(api, "invoices", invoice_body(world.partner_a, "INV-3", amount="-5"))
    assert negative.status_code == 422 and negative.json()["field"] == "amount"
    unknown = post(
        api,
        "invoices",
        {**invoice_body(world.partner_a, "INV-4"), "partner": "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "partner"
    null_amount = patch(
        api,
        f"invoices/{post(api, 'invoices', invoice_body(world.partner_a, 'INV-5')).json()['public_id']}",
        {"amount": None},
    )
    assert null_amount.status_code == 422 and null_amount.json()["field"] == "amount"


def test_only_admins_and_finance_write(world, api_for, records) -> None:  # type: ignore[no-untyped-def]
    for user in (world.manager, world.analyst):
        api = api_for(user)
        assert api.get(f"{BASE}/costs").status_code == 200
        assert post(api, "invoices", invoice_body(world.partner_a, "INV-9")).status_code == 403
        assert patch(api, f"invoices/{records['inv_a']}", {"disputed": True}).status_code == 403
    assert (
        patch(api_for(world.admin), f"invoices/{records['inv_a']}", {"paid_on": "2026-03-30"}).json()[
            "paid_on_time"
        ]
        is True
    )


def test_partner_users_see_only_their_own_invoices_and_sellthrough(world, api_for, records) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.a_admin)
    invoices = api.get(f"{BASE}/invoices").json()
    assert [i["number"] for i in invoices["items"]] == ["INV-a"]
    assert "note" not in invoices["items"][0]
    assert "note" not in api.get(f"{BASE}/invoices/{records['inv_a']}").json()
    assert api.get(f"{BASE}/invoices/{records['inv_b']}").status_code == 404
    assert [s["partner"]["name"] for s in api.get(f"{BASE}/sellthrough").json()["items"]] == [
        "Acme Resellers"
    ]
    assert api.get(f"{BASE}/sellthrough/{records['st_b']}").status_code == 404
    assert api.get(f"{BASE}/costs").status_code == 404
    assert api.get(f"{BASE}/costs/{records['cost_a']}").status_code == 404
    assert api.get(f"{BASE}/company-revenue").status_code == 404
    assert api.get(f"{BASE}/company-revenue/{records['revenue']}").status_code == 404
    assert patch(api, f"invoices/{records['inv_b']}", {"disputed": True}).status_code == 404
    assert api.delete(f"{BASE}/invoices/{records['inv_b']}").status_code == 404
    staff_view = api_for(world.finance).get(f"{BASE}/invoices/{records['inv_a']}").json()
    assert staff_view["note"] == "internal: chase Bob"


def test_restricted_staff_see_only_their_partners(world, api_for, records) -> None:  # type: ignore[no-untyped-def]
    own = make_user(world.workspace, "own@vendor.test", Role.FINANCE, owned_only=True)
    with unscoped():
        world.partner_a.owner = own
        world.partner_a.save()
    api = api_for(own)
    assert [i["number"] for i in api.get(f"{BASE}/invoices").json()["items"]] == ["INV-a"]
    assert api.get(f"{BASE}/invoices/{records['inv_b']}").status_code == 404
    assert api.get(f"{BASE}/sellthrough/{records['st_b']}").status_code == 404
    assert patch(api, f"invoices/{records['inv_b']}", {"disputed": True}).status_code == 404
    for_b = post(api, "invoices", invoice_body(world.partner_b, "INV-c"))
    assert for_b.status_code == 422 and for_b.json()["field"] == "partner"
    taken = post(api, "invoices", invoice_body(world.partner_a, "INV-b"))  # B's number, out of sight
    assert taken.status_code == 422 and taken.json()["field"] == "number"
    with unscoped():
        assert Invoice.objects.count() == 2 and PartnerCost.objects.count() == 1


def test_list_filters_and_pagination(world, api_for, records) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.finance)
    mine = api.get(f"{BASE}/invoices", {"partner": str(world.partner_b.public_id)}).json()
    assert [i["number"] for i in mine["items"]] == ["INV-b"]
    assert api.get(f"{BASE}/invoices", {"status": "overdue"}).json()["count"] == 2
    assert api.get(f"{BASE}/invoices", {"status": "paid"}).json()["count"] == 0
    assert api.get(f"{BASE}/invoices", {"status": "bogus"}).status_code == 422
    assert api.get(f"{BASE}/costs", {"category": "fees"}).json()["count"] == 0
    assert api.get(f"{BASE}/sellthrough", {"start": "2026-04-01"}).json()["count"] == 0
    assert api.get(f"{BASE}/sellthrough", {"start": "2026-03-20", "region": "emea"}).json()["count"] == 2
    page = api.get(f"{BASE}/sellthrough", {"limit": 1}).json()
    assert page["count"] == 2 and len(page["items"]) == 1
