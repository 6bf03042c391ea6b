"""The product catalog: created and changed by admins and partner managers over the API, on the products
page and by `prm import products` (re-import updates by name, all or nothing, line-numbered errors),
audited and uniquely named; a deals file naming the products then imports. Partner users get 404,
read-only staff 403."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal, DealLineItem, Product

pytestmark = pytest.mark.django_db
API = "/api/v1"


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(API + url, body, content_type="application/json")


def patch(client: Any, url: str, body: Any) -> Any:
    return client.patch(API + url, body, content_type="application/json")


def catalog() -> dict[str, tuple[str, Decimal, str, bool]]:
    with unscoped():
        return {p.name: (p.sku, p.list_price, p.currency, p.is_active) for p in Product.objects.all()}


def audit_actions(product_name: str) -> list[str]:
    with unscoped():
        return list(
            AuditEntry.objects.filter(object_type="deals.product", object_repr=product_name)
            .order_by("id")
            .values_list("action", flat=True)
        )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_managers_create_edit_and_deactivate_products_over_the_api(world: Any, api_for: Any) -> None:
    manager = api_for(world.manager)
    created = post(manager, "/products", {"name": "Analytics Suite", "sku": "AS-1", "list_price": "1250.5"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["list_price"] == "1250.50" and body["currency"] == "USD" and body["is_active"] is True
    url = f"/products/{body['public_id']}"
    changed = patch(manager, url, {"list_price": 1300, "currency": "eur", "is_active": False})
    assert changed.status_code == 200, changed.content
    assert changed.json()["currency"] == "EUR" and changed.json()["is_active"] is False
    assert audit_actions("Analytics Suite") == ["create", "update"]
    listed = api_for(world.analyst).get(f"{API}/products?active=false").json()
    assert [p["name"] for p in listed["items"]] == ["Analytics Suite"]
    assert api_for(world.analyst).get(f"{API}/products?active=true").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "analytics suite"}, "name"),  # taken, whatever the case
        ({"name": ""}, "name"),
        ({"name": "X", "list_price": "-1"}, "list_price"),
        ({"name": "X", "list_price": "ten"}, "list_price"),
        ({"name": "X", "list_price": "1e20"}, "list_price"),
        ({"name": "X", "currency": "E1R"}, "currency"),
        ({"name": "X", "currency": "EURO"}, "currency"),
        ({"name": "X", "colour": "red"}, "colour"),
    ],
)
def test_bad_product_input_is_a_422_naming_the_field(world: Any, api_for: Any, body: Any, field: str) -> None:
    manager = api_for(world.manager)
    assert post(manager, "/products", {"name": "Analytics Suite"}).status_code == 201
    response = post(manager, "/products", body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


def test_renaming_onto_another_product_is_refused(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    post(admin, "/products", {"name": "Alpha"})
    beta = post(admin, "/products", {"name": "Beta"}).json()
    response = patch(admin, f"/products/{beta['public_id']}", {"name": "ALPHA"})
    assert response.status_code == 422 and response.json()["field"] == "name"
    assert "already exists" in response.json()["message"]


def test_read_only_staff_get_403_and_partner_users_404(world: Any, api_for: Any) -> None:
    product = post(api_for(world.admin), "/products", {"name": "Alpha"}).json()
    for user in (world.analyst, world.finance):
        client = api_for(user)
        assert client.get(f"{API}/products").status_code == 200
        assert post(client, "/products", {"name": "Nope"}).status_code == 403
        assert patch(client, f"/products/{product['public_id']}", {"name": "Nope"}).status_code == 403
    for user in (world.a_admin, world.a_rep):
        client = api_for(user)
        assert client.get(f"{API}/products").status_code == 404
        assert client.get(f"{API}/products/{product['public_id']}").status_code == 404
        assert post(client, "/products", {"name": "Nope"}).status_code == 404
        assert patch(client, f"/products/{product['public_id']}", {"name": "Nope"}).status_code == 404
    assert list(catalog()) == ["Alpha"]


def test_the_products_page_adds_and_edits(world: Any, client_for: Any) -> None:
    page = client_for(world.manager)
    url = reverse("deals:products")
    response = page.post(url, {"name": "Edge Gateway", "sku": "EG", "list_price": "99.90", "currency": ""})
    assert response.status_code == 302
    assert catalog() == {"Edge Gateway": ("EG", Decimal("99.90"), "USD", False)}  # the box was unticked
    refused = page.post(url, {"name": "edge gateway", "list_price": "1"})
    assert refused.status_code == 200 and "already exists" in refused.content.decode()
    bad_price = page.post(url, {"name": "Other", "list_price": "abc"})
    assert "is not an amount" in bad_price.content.decode()
    with unscoped():
        product = Product.objects.get(name="Edge Gateway")
    edit = page.get(url + f"?edit={product.public_id}").content.decode()
    assert 'value="Edge Gateway"' in edit and "Edit Edge Gateway" in edit
    page.post(
        url,
        {
            "product": str(product.public_id),
            "name": "Edge Gateway Pro",
            "list_price": "120",
            "is_active": "on",
        },
    )
    assert catalog() == {"Edge Gateway Pro": ("", Decimal("120.00"), "USD", True)}
    html = page.get(url).content.decode()
    assert "Edge Gateway Pro" in html and "USD 120.00" in html
    settings_html = client_for(world.admin).get(reverse("partners:settings")).content.decode()
    assert f'href="{url}"' in settings_html


def test_the_products_page_is_read_only_for_analysts_and_hidden_from_partners(
    world: Any, client_for: Any
) -> None:
    url = reverse("deals:products")
    analyst = client_for(world.analyst)
    html = analyst.get(url).content.decode()
    assert 'id="product-table"' in html and 'id="product-form"' not in html
    assert analyst.post(url, {"name": "Nope"}).status_code == 403
    assert client_for(world.a_admin).get(url).status_code == 404
    assert client_for(world.a_admin).post(url, {"name": "Nope"}).status_code == 404
    assert catalog() == {}


def test_prm_import_products_creates_then_updates_by_name(world: Any, tmp_path: Path, capsys: Any) -> None:
    first = write(
        tmp_path,
        "products.csv",
        "name,sku,list_price,currency,active\n"
        "Analytics Suite,AS-1,1250.00,EUR,true\n"
        "Edge Gateway,EG-2,99.9,,\n",
    )
    call_command("import", "products", str(first))
    assert "created 2" in capsys.readouterr().out
    assert catalog() == {
        "Analytics Suite": ("AS-1", Decimal("1250.00"), "EUR", True),
        "Edge Gateway": ("EG-2", Decimal("99.90"), "USD", True),
    }
    call_command("import", "products", str(first))
    assert "created 0, updated 0, unchanged 2" in capsys.readouterr().out
    second = write(tmp_path, "again.csv", "name,list_price,active\nanalytics suite,1300,no\n")
    call_command("import", "products", str(second))
    assert "updated 1" in capsys.readouterr().out
    assert catalog()["Analytics Suite"] == ("AS-1", Decimal("1300.00"), "EUR", False)
    assert audit_actions("Analytics Suite") == ["create", "update"]


def test_a_bad_products_file_imports_nothing_and_names_every_line(
    world: Any, tmp_path: Path, capsys: Any
) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        "name,sku,list_price,currency,active\n"
        "Good One,G1,10,USD,true\n"
        "Bad Price,B1,-5,USD,true\n"
        ",B2,5,USD,true\n"
        "Good One,G1b,11,USD,true\n"
        "Bad Active,B3,5,USD,maybe\n",
    )
    with pytest.raises(CommandError, match="Import refused: 4 bad row"):
        call_command("import", "products", str(path))
    err = capsys.readouterr().err
    assert "line 3, column list_price" in err
    assert "line 4, column name: This field is required." in err
    assert "line 5, column name: 'Good One' is named twice in the file." in err
    assert "line 6, column active: 'maybe' is not true or false." in err
    assert catalog() == {}
    unknown = write(tmp_path, "unknown.csv", "name,price\nX,1\n")
    with pytest.raises(CommandError, match="Unknown column"):
        call_command("import", "products", str(unknown))
    call_command("import", "products", str(path), "--dry-run", "--skip-invalid")
    assert catalog() == {}


def test_a_deals_file_naming_imported_products_imports(world: Any, tmp_path: Path, capsys: Any) -> None:
    deals = write(
        tmp_path,
        "deals.csv",
        "external_id,partner_external_id,customer_name,customer_domain,amount,currency,stage,products\n"
        "D-1,A-1,Initech,initech.example,5000,USD,qualified,Analytics Suite;Edge Gateway\n",
    )
    with pytest.raises(CommandError):
        call_command("import", "deals", str(deals))
    assert "Unknown product 'Analytics Suite'" in capsys.readouterr().err
    products = write(tmp_path, "products.csv", "name,list_price\nAnalytics Suite,4000\nEdge Gateway,1000\n")
    call_command("import", "products", str(products))
    call_command("import", "deals", str(deals))
    with unscoped():
        deal = Deal.objects.get(external_id="D-1")
        names = sorted(DealLineItem.objects.filter(deal=deal).values_list("product__name", flat=True))
    assert names == ["Analytics Suite", "Edge Gateway"]


def test_a_deals_import_may_create_unknown_products(world: Any, tmp_path: Path, capsys: Any) -> None:
    deals = write(
        tmp_path,
        "deals.csv",
        "external_id,partner_external_id,customer_name,customer_domain,amount,currency,stage,products\n"
        "D-1,A-1,Initech,initech.example,5000,USD,qualified,Analytics Suite;Edge Gateway\n"
        "D-2,A-1,Hooli,hooli.example,7000,USD,qualified,analytics suite\n",
    )
    call_command("import", "deals", str(deals), "--create-products", "--dry-run")
    assert catalog() == {}  # a dry run creates nothing
    refused = write(
        tmp_path, "refused.csv", deals.read_text() + "D-3,NO-SUCH,X,x.example,1,USD,qualified,Other\n"
    )
    with pytest.raises(CommandError, match="Import refused"):
        call_command("import", "deals", str(refused), "--create-products")
    assert catalog() == {}  # rolled back with the refused file
    call_command("import", "deals", str(deals), "--create-products")
    assert catalog() == {
        "Analytics Suite": ("", Decimal("0.00"), "USD", True),
        "Edge Gateway": ("", Decimal("0.00"), "USD", True),
    }
    assert audit_actions("Edge Gateway") == ["create"]
    with unscoped():
        hooli = Deal.objects.get(external_id="D-2")
        assert list(DealLineItem.objects.filter(deal=hooli).values_list("product__name", flat=True)) == [
            "Analytics Suite"
        ]
    with pytest.raises(CommandError, match="drop --create-products"):
        call_command("import", "partners", str(deals), "--create-products")
