"""The customers pages (staff): list with filters, account page with its records, forms, the direct CSAT
page and the import pages; partner users and restricted staff get 404 for what they may not see."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.customers import services
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.partners.models import Partner
from openprm.testing import make_user

D = datetime.date


@pytest.fixture
def accounts(world: Any) -> tuple[CustomerAccount, CustomerAccount]:
    system = world.system
    with scope(system.access_scope()):
        a = services.account_create(
            actor=system,
            partner=world.partner_a,
            data={
                "external_id": "ACC-A",
                "name": "Initech",
                "started_on": D(2024, 1, 1),
                "note": "Secret note",
            },
        )
        b = services.account_create(
            actor=system,
            partner=world.partner_b,
            data={"name": "Umbrella", "started_on": D(2023, 6, 1), "ended_on": D(2025, 1, 31)},
        )
        services.csat_create(actor=system, account=a, data={"score": 4, "answered_on": D(2025, 2, 1)})
        services.csat_create(actor=system, account=None, data={"score": 2, "answered_on": D(2025, 2, 1)})
    return a, b


def test_list_filters_and_summary(world: Any, accounts: Any, client_for: Any) -> None:
    client = client_for(world.analyst)
    page = client.get("/customers/").content.decode()
    assert "Initech" in page and "Umbrella" in page
    assert 'id="csat-partner">4.00 / 5' in page and 'id="csat-direct">2.00 / 5' in page
    churned = client.get("/customers/", {"status": "churned"}).content.decode()
    assert "Umbrella" in churned and "Initech" not in churned
    mine = client.get("/customers/", {"partner": str(world.partner_a.public_id)}).content.decode()
    assert "Initech" in mine and "Umbrella" not in mine
    assert "Add account" not in page  # read-only staff


def test_list_query_count(
    world: Any, accounts: Any, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.manager)
    with scope(world.system.access_scope()):
        for n in range(20):
            services.account_create(
                actor=world.system,
                partner=world.partner_b,
                data={"name": f"More {n}", "started_on": D(2024, 1, 1)},
            )
    with django_assert_max_num_queries(14):
        assert client.get("/customers/").status_code == 200


def test_add_edit_an_account_and_its_records(world: Any, accounts: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    response = client.post(
        "/customers/new/",
        {
            "partner": str(world.partner_a.public_id),
            "name": "Hooli",
            "started_on": "2024-03-01",
            "arr": "9,000",
        },
    )
    assert response.status_code == 200 and "Not an amount" in response.content.decode()  # stays on the form
    response = client.post(
        "/customers/new/",
        {
            "partner": str(world.partner_a.public_id),
            "name": "Hooli",
            "started_on": "2024-03-01",
            "arr": "9000",
        },
    )
    with unscoped():
        hooli = CustomerAccount.objects.get(name="Hooli")
    assert response.status_code == 302 and response["Location"] == f"/customers/{hooli.public_id}/"
    base = f"/customers/{hooli.public_id}/"
    assert (
        client.post(
            base + "change/",
            {"change-kind": "upsell", "change-occurred_on": "2025-01-02", "change-amount": "500"},
        ).status_code
        == 302
    )
    assert (
        client.post(base + "csat/", {"csat-score": "5", "csat-answered_on": "2025-01-03"}).status_code == 302
    )
    assert (
        client.post(
            base + "usage/",
            {
                "usage-month": "2025-01",
                "usage-active_users": "7",
                "usage-features_used": "3",
                "usage-features_available": "8",
            },
        ).status_code
        == 302
    )
    bad = client.post(
        base + "usage/",
        {
            "usage-month": "2025-02",
            "usage-active_users": "7",
            "usage-features_used": "9",
            "usage-features_available": "8",
        },
        follow=True,
    )
    assert "More features used" in bad.content.decode()
    detail = client.get(base).content.decode()
    assert "Upsell" in detail and "5 / 5" in detail and "2025-01" in detail and "38%" in detail
    with unscoped():
        assert AccountChange.objects.filter(account=hooli).count() == 1
        assert UsageRecord.objects.filter(account=hooli).count() == 1
        answer = CsatResponse.objects.get(account=hooli)
    edited = client.post(
        base + "edit/",
        {
            "partner": str(world.partner_b.public_id),
            "name": "Hooli XYZ",
            "started_on": "2024-03-01",
            "ended_on": "2025-06-30",
        },
    )
    assert edited.status_code == 302
    with unscoped():
        hooli.refresh_from_db()
        answer.refresh_from_db()
    assert (
        hooli.name == "Hooli XYZ"
        and hooli.partner_id == world.partner_b.pk
        and answer.partner_id == world.partner_b.pk
    )
    removed = client.post(f"/customers/records/csat/{answer.public_id}/delete/")
    assert removed.status_code == 302
    assert client.post(base + "delete/").status_code == 302
    with unscoped():
        assert not CustomerAccount.objects.filter(pk=hooli.pk).exists()


def test_direct_csat_page(world: Any, accounts: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    response = client.post("/customers/csat/", {"csat-score": "3", "csat-answered_on": "2025-03-01"})
    assert response.status_code == 302
    page = client.get("/customers/csat/").content.decode()
    assert 'id="csat-direct">2.50 / 5 (2)' in page


def test_partner_users_and_other_owners_get_404(world: Any, accounts: Any, client_for: Any) -> None:
    a, b = accounts
    urls = [
        "/customers/",
        "/customers/new/",
        "/customers/csat/",
        f"/customers/{a.public_id}/",
        f"/customers/{a.public_id}/edit/",
        "/import/customers/accounts/",
    ]
    partner = client_for(world.a_admin)
    for url in urls:
        assert partner.get(url).status_code == 404, url
    assert partner.post(f"/customers/{a.public_id}/change/", {}).status_code == 404
    mine = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        Partner.objects.filter(pk=world.partner_b.pk).update(owner=mine)
    restricted = client_for(mine)
    page = restricted.get("/customers/").content.decode()
    assert "Umbrella" in page and "Initech" not in page and "Acme Resellers" not in page
    assert restricted.get(f"/customers/{a.public_id}/").status_code == 404
    assert restricted.post(f"/customers/{a.public_id}/delete/").status_code == 404
    assert restricted.get(f"/customers/{b.public_id}/").status_code == 200


def test_import_pages_preview_then_import(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    assert client.get("/import/customers/accounts/").status_code == 200
    assert client.get("/import/customers/nonsense/").status_code == 404
    body = (
        b"external_id,partner_external_id,name,started_on\n"
        b"C-1,A-1,Initech,2024-01-01\n"
        b"C-2,NOPE,Ghost,2024-01-01\n"
    )
    upload = client.post(
        "/import/customers/accounts/", {"file": SimpleUploadedFile("acc.csv", body, "text/csv")}
    )
    assert upload.status_code == 302
    preview_url = upload["Location"]
    preview = client.get(preview_url).content.decode()
    assert "No partner with the external id" in preview and "1 bad row" in preview
    with unscoped():
        assert CustomerAccount.objects.count() == 0  # the preview writes nothing
    done = client.post(preview_url, {"skip_invalid": "on"})
    assert done.status_code == 302 and done["Location"].endswith("/result/")
    assert 'id="count-created">1<' in client.get(done["Location"]).content.decode()
    with unscoped():
        assert list(CustomerAccount.objects.values_list("external_id", flat=True)) == ["C-1"]
    assert client_for(world.analyst).get("/import/customers/accounts/").status_code == 403
