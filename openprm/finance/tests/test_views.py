"""The finance pages and the finance import pages: who sees them, add/edit/delete through the form, filters
and totals, two-partner isolation, a bounded number of queries per list, the three import steps."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.finance.models import Invoice, PartnerCost, SellThroughLine
from openprm.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(world):  # type: ignore[no-untyped-def]
    with unscoped():
        made = {}
        for label, partner in (("a", world.partner_a), ("b", world.partner_b)):
            made[f"inv_{label}"] = Invoice.objects.create(
                workspace=world.workspace,
                partner=partner,
                number=f"INV-{label.upper()}",
                issued_on=datetime.date(2026, 3, 1),
                due_on=datetime.date(2026, 3, 31),
                amount=Decimal("100.00") if label == "a" else Decimal("250.00"),
                currency="USD",
            )
            made[f"cost_{label}"] = PartnerCost.objects.create(
                workspace=world.workspace,
                partner=partner,
                period=datetime.date(2026, 3, 1),
                category="fees",
                amount=Decimal("1000"),
            )
            SellThroughLine.objects.create(
                workspace=world.workspace,
                partner=partner,
                period=datetime.date(2026, 3, 1),
                sku="SKU-1",
                region="EMEA",
                units_sold=5,
                units_on_hand=2,
                unit_price=Decimal("10"),
                list_price=Decimal("10"),
            )
    return made


PAGES = ["/finance/costs/", "/finance/invoices/", "/finance/sellthrough/", "/finance/company-revenue/"]


def test_staff_see_every_page_and_partner_users_get_404(world, client_for, rows) -> None:  # type: ignore[no-untyped-def]
    for user in (world.admin, world.finance, world.analyst, world.manager):
        client = client_for(user)
        for url in PAGES:
            assert client.get(url).status_code == 200, (user, url)
    for user in (world.a_admin, world.a_rep):
        client = client_for(user)
        for url in PAGES:
            assert client.get(url).status_code == 404
        assert client.get("/import/finance/costs/").status_code == 404


def test_nav_link_and_form_only_for_admins_and_finance(world, client_for, rows) -> None:  # type: ignore[no-untyped-def]
    finance_page = client_for(world.finance).get("/finance/invoices/").content.decode()
    assert 'href="/finance/invoices/">Finance</a>' in finance_page and 'id="record-form"' in finance_page
    analyst_page = client_for(world.analyst).get("/finance/invoices/").content.decode()
    assert ">Finance</a>" not in analyst_page and 'id="record-form"' not in analyst_page
    assert client_for(world.analyst).post("/finance/invoices/", {"number": "X"}).status_code == 403


def test_add_edit_delete_through_the_form(world, client_for, rows) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    bad = client.post(
        "/finance/costs/", {"partner": "nobody", "period": "2026-04", "category": "mdf", "amount": "x"}
    )
    page = bad.content.decode()
    assert bad.status_code == 200 and "Unknown partner" in page and "Not an amount" in page
    added = client.post(
        "/finance/costs/", {"partner": "A-1", "period": "2026-04", "category": "mdf", "amount": "75.5"}
    )
    assert added.status_code == 302
    with unscoped():
        cost = PartnerCost.objects.get(category="mdf")
    assert (cost.partner_id, cost.period, cost.amount) == (
        world.partner_a.pk,
        datetime.date(2026, 4, 1),
        Decimal("75.50"),
    )
    form = client.get(f"/finance/costs/?edit={cost.public_id}").content.decode()
    assert 'value="2026-04"' in form and 'value="A-1"' in form
    client.post(
        "/finance/costs/",
        {"record": cost.public_id, "partner": "A-1", "period": "2026-05", "category": "mdf", "amount": "80"},
    )
    with unscoped():
        cost.refresh_from_db()
    assert (cost.period, cost.amount) == (datetime.date(2026, 5, 1), Decimal("80.00"))
    assert client.post("/finance/costs/", {"record": cost.public_id, "delete": "1"}).status_code == 302
    with unscoped():
        assert not PartnerCost.objects.filter(pk=cost.pk).exists()


def test_filters_and_totals(world, client_for, rows) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    page = client.get("/finance/invoices/").content.decode()
    assert re.search(r'id="total-amount">350', page) and re.search(r'id="total-unpaid">350', page)
    only_b = client.get(f"/finance/invoices/?partner={world.partner_b.public_id}").content.decode()
    assert "INV-B" in only_b and "INV-A" not in only_b and re.search(r'id="total-amount">250', only_b)
    assert "INV-A" not in client.get("/finance/invoices/?start=2026-04").content.decode()
    sell = client.get("/finance/sellthrough/?region=emea").content.decode()
    assert re.search(r'id="total-units-sold">10<', sell)


def test_restricted_staff_see_only_their_partners(world, client_for, rows) -> None:  # type: ignore[no-untyped-def]
    own = make_user(world.workspace, "own@vendor.test", Role.FINANCE, owned_only=True)
    with unscoped():
        world.partner_a.owner = own
        world.partner_a.save()
    client = client_for(own)
    page = client.get("/finance/invoices/").content.decode()
    assert "INV-A" in page and "INV-B" not in page and "Globex" not in page
    assert client.get(f"/finance/invoices/?edit={rows['inv_b'].public_id}").status_code == 404
    assert client.get(f"/finance/costs/?edit={rows['cost_b'].public_id}").status_code == 404
    assert (
        client.post("/finance/costs/", {"record": rows["cost_b"].public_id, "delete": "1"}).status_code == 404
    )
    with unscoped():
        assert PartnerCost.objects.filter(pk=rows["cost_b"].pk).exists()


def test_list_queries_do_not_grow_with_rows(world, client_for, rows) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    with CaptureQueriesContext(connection) as few:
        client.get("/finance/invoices/")
    with unscoped():
        Invoice.objects.bulk_create(
            Invoice(
                workspace=world.workspace,
                partner=world.partner_a if i % 2 else world.partner_b,
                number=f"N-{i}",
                issued_on=datetime.date(2026, 2, 1),
                due_on=datetime.date(2026, 2, 28),
                amount=Decimal(i),
                currency="USD",
            )
            for i in range(40)
        )
    with CaptureQueriesContext(connection) as many:
        client.get("/finance/invoices/")
    assert len(many) == len(few)


def test_import_pages_upload_preview_confirm(world, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    assert client_for(world.manager).get("/import/finance/costs/").status_code == 403
    assert client.get("/import/finance/nonsense/").status_code == 404
    text = b"partner_external_id,period,category,amount\nA-1,2026-01,fees,10\nB-1,2026-01,oops,5\n"
    upload = client.post("/import/finance/costs/", {"file": SimpleUploadedFile("c.csv", text, "text/csv")})
    assert upload.status_code == 302
    preview_url = upload["Location"]
    preview = client.get(preview_url).content.decode()
    assert "1 to create" in preview and "1 bad row" in preview and "oops" in preview
    refused = client.post(preview_url, {})
    assert refused.status_code == 302
    with unscoped():
        assert PartnerCost.objects.count() == 0
    done = client.post(preview_url, {"skip_invalid": "on"})
    assert done.status_code == 302 and done["Location"].endswith("/result/")
    result = client.get(done["Location"]).content.decode()
    assert 'id="count-created">1<' in result
    with unscoped():
        assert PartnerCost.objects.count() == 1
    header = client.post(
        "/import/finance/invoices/", {"file": SimpleUploadedFile("i.csv", b"number\nX\n", "text/csv")}
    )
    assert "lacks the column" in client.get(header["Location"]).content.decode()


def test_export_link_follows_the_filters_and_the_scope(world, client_for, rows) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.analyst)
    page = client.get(f"/finance/invoices/?partner={world.partner_b.public_id}").content.decode()
    assert f'href="/import/finance/invoices/export.csv?partner={world.partner_b.public_id}"' in page
    body = b"".join(
        client.get(
            f"/import/finance/invoices/export.csv?partner={world.partner_b.public_id}"
        ).streaming_content
    )
    assert body.decode().splitlines()[1:] == ["B-1,INV-B,2026-03-01,2026-03-31,250.00,USD,,false,false,"]
    own = make_user(world.workspace, "own@vendor.test", Role.ANALYST, owned_only=True)
    with unscoped():
        world.partner_a.owner = own
        world.partner_a.save()
    mine = b"".join(client_for(own).get("/import/finance/costs/export.csv").streaming_content).decode()
    assert mine.splitlines()[1:] == ["A-1,2026-03,fees,1000.00,"]
    assert client_for(world.a_admin).get("/import/finance/invoices/export.csv").status_code == 404
