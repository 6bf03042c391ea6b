"""The customers API: CRUD of accounts and their records, input errors, audit, isolation between partners
(partner users and restricted staff) and the internal note."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.customers import services
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.partners.models import Partner
from openprm.testing import make_user

API = "/api/v1/customers"
D = datetime.date


@dataclass
class Books:
    """An account of each partner with one change, CSAT answer and usage month; one direct answer."""

    a: CustomerAccount
    b: CustomerAccount
    a_change: AccountChange
    a_csat: CsatResponse
    a_usage: UsageRecord
    direct: CsatResponse


@pytest.fixture
def books(world: Any) -> Books:
    system = world.system
    with scope(system.access_scope()):
        a = services.account_create(
            actor=system,
            partner=world.partner_a,
            data={"external_id": "ACC-A", "name": "Initech", "started_on": D(2024, 1, 1), "note": "secret A"},
        )
        b = services.account_create(
            actor=system,
            partner=world.partner_b,
            data={
                "external_id": "ACC-B",
                "name": "Umbrella",
                "started_on": D(2024, 2, 1),
                "note": "secret B",
            },
        )
        a_change = services.change_create(
            actor=system, account=a, data={"kind": "renewal", "occurred_on": D(2025, 1, 1), "amount": "1200"}
        )
        services.change_create(actor=system, account=b, data={"kind": "upsell", "occurred_on": D(2025, 1, 5)})
        a_csat = services.csat_create(
            actor=system, account=a, data={"score": 4, "answered_on": D(2025, 2, 1)}
        )
        services.csat_create(actor=system, account=b, data={"score": 2, "answered_on": D(2025, 2, 1)})
        direct = services.csat_create(
            actor=system, account=None, data={"score": 5, "answered_on": D(2025, 2, 2)}
        )
        a_usage, _ = services.usage_record(
            actor=system,
            account=a,
            data={"month": D(2025, 3, 9), "active_users": 12, "features_available": 10},
        )
        services.usage_record(actor=system, account=b, data={"month": D(2025, 3, 1), "active_users": 3})
    return Books(a=a, b=b, a_change=a_change, a_csat=a_csat, a_usage=a_usage, direct=direct)


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["public_id"] for item in response.json()["items"]}


def test_staff_create_read_update_delete_an_account(world: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    body = {
        "partner": str(world.partner_a.public_id),
        "external_id": "X-1",
        "name": "Hooli",
        "domain": "https://www.hooli.example/about",
        "started_on": "2024-05-01",
        "arr": "12000.50",
        "note": "Champion left in May",
    }
    created = api.post(f"{API}/accounts", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["domain"] == "hooli.example"
    assert data["partner_name"] == "Acme Resellers" and data["is_active"] is True
    assert data["note"] == "Champion left in May" and data["arr"] == "12000.50"
    url = f"{API}/accounts/{data['public_id']}"
    changed = api.patch(
        url,
        {"ended_on": "2025-01-31", "partner": str(world.partner_b.public_id)},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["is_active"] is False and changed.json()["partner_name"] == "Globex Referrals"
    listed = api.get(f"{API}/accounts", {"status": "churned"})
    assert _ids(listed) == {data["public_id"]}
    with unscoped():
        entries = AuditEntry.objects.filter(object_id=data["public_id"]).values_list("action", flat=True)
        assert sorted(entries) == ["create", "update"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_moving_an_account_moves_its_records(world: Any, books: Books, api_for: Any) -> None:
    api = api_for(world.admin)
    response = api.patch(
        f"{API}/accounts/{books.a.public_id}",
        {"partner": str(world.partner_b.public_id)},
        content_type="application/json",
    )
    assert response.status_code == 200
    with unscoped():
        for model in (AccountChange, CsatResponse, UsageRecord):
            assert set(model.objects.filter(account=books.a).values_list("partner_id", flat=True)) == {
                world.partner_b.pk
            }
    # now partner B's user sees it, and partner A's does not
    assert api_for(world.b_admin).get(f"{API}/changes/{books.a_change.public_id}").status_code == 200
    assert api_for(world.a_admin).get(f"{API}/changes/{books.a_change.public_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "N\x00ul"}, "name"),
        ({"started_on": "2024-13-01"}, "started_on"),
        ({"ended_on": "2023-01-01"}, "ended_on"),  # before it started
        ({"arr": "-5"}, "arr"),
        ({"domain": "not a domain"}, "domain"),
        ({"partner": str(uuid.uuid4())}, "partner"),
        ({"surprise": 1}, "surprise"),
        ({"external_id": "ACC-B"}, "external_id"),  # taken
    ],
)
def test_bad_account_input_is_a_422_naming_the_field(
    world: Any, books: Books, api_for: Any, body: dict[str, Any], field: str
) -> None:
    base = {"partner": str(world.partner_a.public_id), "name": "Good", "started_on": "2024-01-01"}
    response = api_for(world.manager).post(f"{API}/accounts", base | body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


def test_patch_refuses_null_for_a_required_field(world: Any, books: Books, api_for: Any) -> None:
    url = f"{API}/accounts/{books.a.public_id}"
    response = api_for(world.manager).patch(url, {"name": None}, content_type="application/json")
    assert response.status_code == 422 and response.json()["field"] == "name"
    cleared = api_for(world.manager).patch(url, {"external_id": None}, content_type="application/json")
    assert cleared.status_code == 200 and cleared.json()["external_id"] is None


def test_records_crud_and_filters(world: Any, books: Books, api_for: Any) -> None:
    api = api_for(world.manager)
    account = str(books.a.public_id)
    change = api.post(
        f"{API}/changes",
        {
            "account": account,
            "kind": "cross_sell",
            "occurred_on": "2025-04-01",
            "amount": "300",
            "external_id": "CH-1",
        },
        content_type="application/json",
    )
    assert change.status_code == 201, change.content
    assert change.json()["account_name"] == "Initech"
    assert len(_ids(api.get(f"{API}/changes", {"account": account}))) == 2
    assert _ids(api.get(f"{API}/changes", {"account": account, "kind": "cross_sell"})) == {
        change.json()["public_id"]
    }
    patched = api.patch(
        f"{API}/changes/{change.json()['public_id']}", {"amount": "350"}, content_type="application/json"
    )
    assert patched.json()["amount"] == "350.00"

    direct = api.post(
        f"{API}/csat", {"score": 3, "answered_on": "2025-04-02"}, content_type="application/json"
    )
    assert (
        direct.status_code == 201
        and direct.json()["channel"] == "direct"
        and direct.json()["account"] is None
    )
    bad = api.post(f"{API}/csat", {"score": 6, "answered_on": "2025-04-02"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "score"
    mismatch = api.post(
        f"{API}/csat",
        {"channel": "partner", "score": 3, "answered_on": "2025-04-02"},
        content_type="application/json",
    )
    assert mismatch.status_code == 422 and mismatch.json()["field"] == "account"
    assert len(_ids(api.get(f"{API}/csat", {"channel": "direct"}))) == 2

    month = {
        "account": account,
        "month": "2025-03-20",
        "active_users": 15,
        "features_used": 4,
        "features_available": 10,
    }
    replaced = api.post(f"{API}/usage", month, content_type="application/json")
    assert replaced.status_code == 200 and replaced.json()["public_id"] == str(books.a_usage.public_id)
    assert replaced.json()["month"] == "2025-03-01" and replaced.json()["active_users"] == 15
    new = api.post(f"{API}/usage", month | {"month": "2025-04-01"}, content_type="application/json")
    assert new.status_code == 201
    over = api.post(f"{API}/usage", month | {"features_used": 11}, content_type="application/json")
    assert over.status_code == 422 and over.json()["field"] == "features_used"
    assert api.delete(f"{API}/usage/{new.json()['public_id']}").status_code == 204


def test_partner_user_sees_only_their_own_and_never_the_note(world: Any, books: Books, api_for: Any) -> None:
    api = api_for(world.b_admin)
    for url in (
        f"{API}/accounts/{books.a.public_id}",
        f"{API}/changes/{books.a_change.public_id}",
        f"{API}/csat/{books.a_csat.public_id}",
        f"{API}/usage/{books.a_usage.public_id}",
        f"{API}/csat/{books.direct.public_id}",  # the direct channel is the vendor's
    ):
        assert api.get(url).status_code == 404, url
        assert api.patch(url, {}, content_type="application/json").status_code == 404, url
        assert api.delete(url).status_code == 404, url
    accounts = api.get(f"{API}/accounts").json()["items"]
    assert [item["name"] for item in accounts] == ["Umbrella"]
    assert "note" not in accounts[0]
    assert "note" not in api.get(f"{API}/accounts/{books.b.public_id}").json()
    for kind in ("changes", "csat", "usage"):
        items = api.get(f"{API}/{kind}").json()["items"]
        assert len(items) == 1 and items[0]["account_name"] == "Umbrella", kind
    # naming another partner's account in a body reads as missing, and partner users do not write
    body = {"account": str(books.a.public_id), "kind": "renewal", "occurred_on": "2025-01-01"}
    refused = api.post(f"{API}/changes", body, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["field"] == "account"
    own = body | {"account": str(books.b.public_id)}
    assert api.post(f"{API}/changes", own, content_type="application/json").status_code == 403
    # staff see the note
    assert api_for(world.analyst).get(f"{API}/accounts/{books.a.public_id}").json()["note"] == "secret A"


def test_restricted_staff_see_only_the_partners_they_own(world: Any, books: Books, api_for: Any) -> None:
    mine = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        Partner.objects.filter(pk=world.partner_b.pk).update(owner=mine)
    api = api_for(mine)
    assert [item["name"] for item in api.get(f"{API}/accounts").json()["items"]] == ["Umbrella"]
    assert api.get(f"{API}/accounts/{books.a.public_id}").status_code == 404
    assert api.get(f"{API}/csat/{books.direct.public_id}").status_code == 404
    body = {"partner": str(world.partner_a.public_id), "name": "Sneaky", "started_on": "2024-01-01"}
    response = api.post(f"{API}/accounts", body, content_type="application/json")
    assert response.status_code == 422 and response.json()["field"] == "partner"
    own = api.post(
        f"{API}/accounts", body | {"partner": str(world.partner_b.public_id)}, content_type="application/json"
    )
    assert own.status_code == 201


def test_read_only_staff_may_not_write(world: Any, books: Books, api_for: Any) -> None:
    api = api_for(world.analyst)
    assert api.get(f"{API}/accounts").status_code == 200
    response = api.patch(
        f"{API}/accounts/{books.a.public_id}", {"name": "X"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_list_query_count_does_not_grow_with_rows(
    world: Any, books: Books, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    api = api_for(world.manager)
    with scope(world.system.access_scope()):
        for n in range(15):
            services.account_create(
                actor=world.system,
                partner=world.partner_a,
                data={"name": f"Extra {n}", "started_on": D(2024, 1, 1)},
            )
    for kind in ("accounts", "changes", "csat", "usage"):
        with django_assert_max_num_queries(8):
            assert api.get(f"{API}/{kind}").status_code == 200
