"""The portal's Customers and Invoices pages: a partner user sees their own partner's customer accounts
(last renewal, CSAT) and the invoices the vendor sent it (due, paid, disputed) — never another partner's
rows, whatever the URL says (a ``partner`` parameter, a search, another account's id: 404), never an
internal note; staff get 404 (the portal is the partners' area); the lists paginate with a fixed number of
queries."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from openprm.core.scoping import unscoped
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount
from openprm.finance.models import Invoice

pytestmark = pytest.mark.django_db

A_NOTE = "INTERNAL-ACCOUNT-NOTE-a1"
INVOICE_NOTE = "INTERNAL-INVOICE-NOTE-a1"
B_ACCOUNT = "Zanzibar Quokka Foods"  # partner B's account, distinctive so that any leak is found
B_INVOICE = "INV-B-987654"


def _today() -> datetime.date:
    return timezone.now().date()


@pytest.fixture
def books(world: Any) -> dict[str, Any]:
    """A: Initrode (active, renewed twice, CSAT 4 and 5) and Umbrella (churned); invoices INV-A-1 (paid
    late, disputed), INV-A-2 (overdue), INV-A-3 (due, EUR). B: its own account and invoice. A direct
    (vendor's own) CSAT answer of 1."""
    ws, a, b, today = world.workspace, world.partner_a, world.partner_b, _today()
    days = datetime.timedelta
    with unscoped():
        initrode = CustomerAccount.objects.create(
            workspace=ws,
            partner=a,
            name="Initrode",
            domain="initrode.example",
            started_on=today - days(800),
            arr=Decimal("120000"),
            note=A_NOTE,
        )
        umbrella = CustomerAccount.objects.create(
            workspace=ws,
            partner=a,
            name="Umbrella",
            started_on=today - days(400),
            ended_on=today - days(10),
            note=A_NOTE,
        )
        other = CustomerAccount.objects.create(
            workspace=ws, partner=b, name=B_ACCOUNT, started_on=today - days(30), arr=Decimal("999")
        )
        for when, kind in ((400, "renewal"), (35, "renewal"), (20, "upsell")):
            AccountChange.objects.create(
                workspace=ws,
                partner=a,
                account=initrode,
                kind=kind,
                occurred_on=today - days(when),
                amount=Decimal("1000"),
            )
        AccountChange.objects.create(
            workspace=ws, partner=b, account=other, kind="renewal", occurred_on=today, amount=Decimal("1")
        )
        for score in (4, 5):
            CsatResponse.objects.create(
                workspace=ws, partner=a, account=initrode, channel="partner", score=score, answered_on=today
            )
        CsatResponse.objects.create(workspace=ws, channel="direct", score=1, answered_on=today)
        CsatResponse.objects.create(
            workspace=ws, partner=b, account=other, channel="partner", score=1, answered_on=today
        )

        def invoice(partner: Any, number: str, **data: Any) -> Invoice:
            values: dict[str, Any] = {
                "issued_on": today - days(40),
                "due_on": today - days(10),
                "amount": Decimal("100"),
                "currency": "USD",
                "note": INVOICE_NOTE,
            }
            values.update(data)
            return Invoice.objects.create(workspace=ws, partner=partner, number=number, **values)

        invoice(a, "INV-A-1", paid_on=today - days(5), disputed=True, amount=Decimal("250"))
        invoice(a, "INV-A-2", amount=Decimal("300"))
        invoice(a, "INV-A-3", due_on=today + days(20), currency="EUR", amount=Decimal("40"))
        invoice(b, B_INVOICE, amount=Decimal("987654"))
    return {"initrode": initrode, "umbrella": umbrella, "other": other}


def _clean(body: str) -> None:
    for secret in (A_NOTE, INVOICE_NOTE, B_ACCOUNT, B_INVOICE, "987,654", "Globex"):
        assert secret not in body, secret


@pytest.mark.parametrize("who", ["a_admin", "a_rep"])
def test_partner_users_see_their_own_customers_with_renewals_and_csat(
    world: Any, books: dict[str, Any], client_for: Any, who: str
) -> None:
    client = client_for(getattr(world, who))
    response = client.get("/portal/customers/")
    assert response.status_code == 200
    body = response.content.decode()
    _clean(body)
    rows = {a.name: a for a in response.context["page"]}
    assert set(rows) == {"Initrode", "Umbrella"}
    initrode = rows["Initrode"]
    assert initrode.last_renewal_on == _today() - datetime.timedelta(days=35) and initrode.renewals == 2
    assert initrode.csat_answers == 2 and initrode.csat_average == pytest.approx(4.5)
    assert rows["Umbrella"].csat_answers == 0 and rows["Umbrella"].last_renewal_on is None
    assert "4.5" in body and "churned" in body
    assert 'href="/portal/customers/"' in body and 'href="/portal/invoices/"' in body  # the menu
    detail = client.get(f"/portal/customers/{books['initrode'].public_id}/")
    assert detail.status_code == 200
    page = detail.content.decode()
    _clean(page)
    assert "Upsell" in page and page.count("Renewal") >= 2 and "initrode.example" in page


def test_filters_and_urls_never_reach_another_partners_accounts(
    world: Any, books: dict[str, Any], client_for: Any
) -> None:
    client = client_for(world.a_admin)
    b_id = world.partner_b.public_id
    for query in (f"?partner={b_id}", f"?q={B_ACCOUNT}", "?q=Zanzibar", "?sort=partner", "?status=bogus"):
        response = client.get(f"/portal/customers/{query}")
        assert response.status_code == 200, query
        _clean(response.content.decode().split('id="my-customers"', 1)[1])  # past the echoed search
        assert B_ACCOUNT not in {a.name for a in response.context["page"]}
    assert [a.name for a in client.get("/portal/customers/?status=churned").context["page"]] == ["Umbrella"]
    assert [a.name for a in client.get("/portal/customers/?q=initrode").context["page"]] == ["Initrode"]
    assert client.get(f"/portal/customers/{books['other'].public_id}/").status_code == 404
    assert client.get("/portal/customers/not-a-uuid/").status_code == 404
    b = client_for(world.b_admin)
    assert client.get(f"/portal/customers/{books['initrode'].public_id}/").status_code == 200
    assert b.get(f"/portal/customers/{books['initrode'].public_id}/").status_code == 404
    assert [a.name for a in b.get("/portal/customers/").context["page"]] == [B_ACCOUNT]


@pytest.mark.parametrize("who", ["a_admin", "a_rep"])
def test_partner_users_see_their_own_invoices(
    world: Any, books: dict[str, Any], client_for: Any, who: str
) -> None:
    client = client_for(getattr(world, who))
    response = client.get("/portal/invoices/")
    assert response.status_code == 200
    body = response.content.decode()
    _clean(body)
    assert [i.number for i in response.context["page"]] == ["INV-A-3", "INV-A-2", "INV-A-1"]
    totals = {t["currency"]: t for t in response.context["totals"]}
    assert totals["USD"]["total"] == Decimal("550") and totals["USD"]["unpaid"] == Decimal("300")
    assert totals["USD"]["overdue"] == Decimal("300") and totals["USD"]["disputed"] == 1
    assert totals["EUR"]["unpaid"] == Decimal("40") and totals["EUR"]["overdue"] == 0
    assert "overdue" in body and "disputed" in body and "late" in body


def test_invoice_filters_stay_inside_the_partner(world: Any, books: dict[str, Any], client_for: Any) -> None:
    client = client_for(world.a_admin)
    b_id = world.partner_b.public_id

    def numbers(query: str) -> list[str]:
        response = client.get(f"/portal/invoices/{query}")
        assert response.status_code == 200, query
        _clean(response.content.decode())
        return [i.number for i in response.context["page"]]

    assert numbers(f"?partner={b_id}") == ["INV-A-3", "INV-A-2", "INV-A-1"]
    assert numbers("?status=overdue") == ["INV-A-2"]
    assert numbers("?status=disputed") == ["INV-A-1"]
    assert numbers("?status=late") == ["INV-A-1"]
    assert numbers("?status=paid&start=2000-01&end=2000-12") == []
    assert numbers("?status=nonsense&start=garbage") == ["INV-A-3", "INV-A-2", "INV-A-1"]
    assert [i.number for i in client_for(world.b_admin).get("/portal/invoices/").context["page"]] == [
        B_INVOICE
    ]


def test_staff_get_404_and_anonymous_users_the_login(
    world: Any, books: dict[str, Any], client_for: Any
) -> None:
    staff = client_for(world.admin)
    for url in (
        "/portal/customers/",
        f"/portal/customers/{books['initrode'].public_id}/",
        "/portal/invoices/",
    ):
        assert staff.get(url).status_code == 404, url
    assert Client().get("/portal/invoices/").status_code == 302


def test_lists_paginate_with_a_fixed_number_of_queries(
    world: Any, books: dict[str, Any], client_for: Any, django_assert_max_num_queries: Any
) -> None:
    ws, a, today = world.workspace, world.partner_a, _today()
    client = client_for(world.a_admin)
    client.get("/portal/customers/")  # warm the session and the caches
    client.get("/portal/invoices/")
    with unscoped():
        for n in range(40):
            account = CustomerAccount.objects.create(
                workspace=ws, partner=a, name=f"Acct {n:02}", started_on=today
            )
            CsatResponse.objects.create(
                workspace=ws, partner=a, account=account, channel="partner", score=3, answered_on=today
            )
            Invoice.objects.create(
                workspace=ws,
                partner=a,
                number=f"INV-X-{n:02}",
                issued_on=today,
                due_on=today,
                amount=Decimal("1"),
                currency="USD",
            )
    with django_assert_max_num_queries(12):
        first = client.get("/portal/customers/")
    assert len(first.context["page"]) == 25 and first.context["page"].paginator.num_pages == 2
    assert "page=2" in first.content.decode()
    second = client.get("/portal/customers/?page=2")
    assert len(second.context["page"]) == 42 - 25
    with django_assert_max_num_queries(12):
        invoices = client.get("/portal/invoices/")
    assert len(invoices.context["page"]) == 25 and invoices.context["page"].paginator.count == 43
