"""The portal's Customers and Invoices pages in a real browser, on a desktop and on a phone (390×844): the
partner's own accounts and invoices render (a customer account opens from the list), the menu links to
both, nothing of partner B's reaches the page, and nothing scrolls sideways on the phone. With
``PRM_SHOTS`` set to a directory, each page is also saved there as a full-page screenshot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.portal.tests.test_customers_invoices import B_ACCOUNT, B_INVOICE
from openprm.portal.tests.test_customers_invoices import books as _books

books = _books  # the same seeded accounts and invoices, as this module's fixture

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("PRM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_customers_and_invoices_pages(
    transactional_db: Any, world: Any, books: dict[str, Any], new_page: Any, login: Any, size: str
) -> None:
    phone = size == "phone"
    options = {"is_mobile": True, "has_touch": True} if phone else {}
    page = new_page(viewport=PHONE if phone else DESKTOP, **options)
    login(page, "admin@acme.test")

    page.goto("/portal/customers/")
    expect(page.locator("h1")).to_have_text("Customers")
    expect(page.locator("#my-customers tbody tr")).to_have_count(2)
    expect(page.locator("#my-customers")).to_contain_text("4.5")
    assert B_ACCOUNT not in page.content()
    _check_width(page, phone)
    _shot(page, f"customers-{size}")

    page.locator("#my-customers a", has_text="Initrode").click()
    expect(page.locator("h1")).to_contain_text("Initrode")
    expect(page.locator("#change-table tbody tr")).to_have_count(3)
    expect(page.locator("#csat-table tbody tr")).to_have_count(2)
    _check_width(page, phone)
    _shot(page, f"customer-detail-{size}")

    page.goto("/portal/invoices/")
    expect(page.locator("h1")).to_have_text("Invoices")
    expect(page.locator("#my-invoices tbody tr")).to_have_count(3)
    expect(page.locator('#my-invoices tr[data-invoice="INV-A-2"]')).to_contain_text("overdue")
    expect(page.locator("#invoice-totals")).to_contain_text("300.00")
    assert B_INVOICE not in page.content()
    _check_width(page, phone)
    _shot(page, f"invoices-{size}")

    page.select_option("select[name=status]", "disputed")  # auto-submits
    expect(page.locator("#my-invoices tbody tr")).to_have_count(1)
    expect(page.locator("#my-invoices")).to_contain_text("INV-A-1")
    assert page.locator('nav a[href="/portal/customers/"]').count() == 1
    assert page.locator('nav a[href="/portal/invoices/"]').count() == 1


def _check_width(page: Any, phone: bool) -> None:
    if phone:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px screen"
