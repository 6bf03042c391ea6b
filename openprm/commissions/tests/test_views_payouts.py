"""The payout pages: a run from draft to paid through the forms (one item failed, then retried), the
export file downloaded, payout details edited and shown masked, statements made for a month and
downloaded; every page 404 for partner users; read-only staff see no actions; bounded queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.commissions.models import LedgerEntry, PayoutRun, Statement
from openprm.commissions.tests.payout_fixtures import IBAN_A, bank_details, entry, make_plan
from openprm.core.scoping import unscoped
from openprm.testing import World

pytestmark = pytest.mark.django_db


def _run_id() -> str:
    with unscoped():
        return str(PayoutRun.objects.get().public_id)


@pytest.fixture
def ready(world: World):  # type: ignore[no-untyped-def]
    plan = make_plan(world, min_payout="50.00")
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban="GB82WEST12345698765432")
    entry(world, world.partner_a, "120.00", plan=plan)
    entry(world, world.partner_b, "90.00", plan=plan)
    return plan


def test_a_run_through_the_pages(world: World, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    page = client.get("/commissions/payouts/")
    assert page.status_code == 200 and b"No payout runs yet" in page.content
    made = client.post("/commissions/payouts/", {"currency": "usd", "cutoff": str(datetime.date.today())})
    assert made.status_code == 302
    url = f"/commissions/payouts/{_run_id()}/"
    detail = client.get(url).content.decode()
    assert "Acme Resellers" in detail and "120.00" in detail and "IBAN DE•• •••• 3000" in detail
    assert IBAN_A not in detail
    assert client.post(url, {"step": "export"}).status_code == 302
    download = client.get(f"{url}file/bank/")
    assert download.status_code == 200 and IBAN_A in download.content.decode()
    with unscoped():
        b_item = PayoutRun.objects.get().items.get(partner=world.partner_b)
    client.post(
        url,
        {
            "step": "paid",
            "paid-reference": "SEPA-1",
            "paid-error": "IBAN closed",
            "failed": [str(b_item.public_id)],
        },
    )
    detail = client.get(url).content.decode()
    assert "Failed" in detail and "IBAN closed" in detail and "Retry" in detail
    client.post(url, {"step": "retry"})
    client.post(url, {"step": "paid", "paid-reference": "SEPA-2"})
    with unscoped():
        assert PayoutRun.objects.get().status == "paid"
        assert LedgerEntry.objects.filter(kind="payout").count() == 2
        assert Statement.objects.count() == 2


def test_details_pages_mask_and_save(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    page = client.get("/commissions/payout-details/")
    assert b"Acme Resellers" in page.content  # listed without details
    url = f"/commissions/payout-details/{world.partner_a.public_id}/"
    saved = client.post(
        url,
        {
            "method": "bank",
            "currency": "EUR",
            "holder_name": "Acme GmbH",
            "iban": IBAN_A,
            "tax_id": "DE123456789",
        },
    )
    assert saved.status_code == 302
    shown = client.get(url).content.decode()
    assert "DE•• •••• 3000" in shown and IBAN_A not in shown and "DE123456789" not in shown
    bad = client.post(
        url, {"method": "bank", "currency": "EUR", "holder_name": "Acme GmbH", "iban": "DE00123"}
    )
    assert bad.status_code == 200 and "Not a valid IBAN" in bad.content.decode()


def test_statements_pages(world: World, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    month = (datetime.date.today() - datetime.timedelta(days=40)).isoformat()
    assert client.post("/commissions/statements/", {"month": month}).status_code == 302
    listing = client.get("/commissions/statements/").content.decode()
    assert "Acme Resellers" in listing and "Globex Referrals" in listing
    with unscoped():
        statement = Statement.objects.get(partner=world.partner_a)
    detail = client.get(f"/commissions/statements/{statement.public_id}/").content.decode()
    assert "120.00" in detail and "rule sales-10" in detail
    pdf = client.get(f"/commissions/statements/{statement.public_id}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert client.get(f"/commissions/statements/{statement.public_id}/xlsx/").status_code == 404


def test_partner_users_get_404_and_readers_see_no_actions(world: World, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    finance = client_for(world.finance)
    finance.post("/commissions/payouts/", {"currency": "USD", "cutoff": str(datetime.date.today())})
    finance.post(
        "/commissions/statements/",
        {"month": (datetime.date.today() - datetime.timedelta(days=40)).isoformat()},
    )
    run = _run_id()
    with unscoped():
        statement = Statement.objects.get(partner=world.partner_a)
    pages = [
        "/commissions/payouts/",
        f"/commissions/payouts/{run}/",
        f"/commissions/payouts/{run}/file/bank/",
        "/commissions/payout-details/",
        f"/commissions/payout-details/{world.partner_a.public_id}/",
        f"/commissions/payout-details/{world.partner_b.public_id}/",
        "/commissions/statements/",
        f"/commissions/statements/{statement.public_id}/",
        f"/commissions/statements/{statement.public_id}/pdf/",
        f"/commissions/statements/{statement.public_id}/csv/",
    ]
    for user in (world.a_admin, world.b_admin, world.a_rep):
        client = client_for(user)
        for url in pages:
            assert client.get(url).status_code == 404, (user.email, url)
        assert client.post(f"/commissions/payouts/{run}/", {"step": "export"}).status_code == 404
    analyst = client_for(world.analyst)
    detail = analyst.get(f"/commissions/payouts/{run}/").content.decode()
    assert "Acme Resellers" in detail and 'value="export"' not in detail
    assert analyst.post(f"/commissions/payouts/{run}/", {"step": "export"}).status_code == 403
    assert b"New payout run" not in analyst.get("/commissions/payouts/").content


def test_lists_take_a_bounded_number_of_queries(world: World, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    client.post("/commissions/payouts/", {"currency": "USD", "cutoff": str(datetime.date.today())})
    client.post(
        "/commissions/statements/",
        {"month": (datetime.date.today() - datetime.timedelta(days=40)).isoformat()},
    )
    run = _run_id()
    for url in (
        "/commissions/payouts/",
        f"/commissions/payouts/{run}/",
        "/commissions/statements/",
        "/commissions/payout-details/",
    ):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) <= 25, (url, len(queries))
