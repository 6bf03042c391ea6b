"""In a real browser: a partner admin who changes their payout details while a payment to them is in
progress is told why it is refused (desktop and a 390×844 phone, nothing scrolling sideways)."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.commissions.services import payouts
from openprm.commissions.tests.payout_fixtures import IBAN_B, bank_details, entry, make_plan
from openprm.core.scoping import scope
from openprm.testing import actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_change_in_payment_is_refused_in_words(
    transactional_db: Any, world: Any, new_page: Any, login: Any, size: str
) -> None:
    bank_details(world, world.partner_a)
    entry(world, world.partner_a, "70.00", plan=make_plan(world, min_payout="0"))
    finance = actor_for(world.finance)
    with scope(finance.access_scope()):
        run = payouts.payout_run_create(
            actor=finance, data={"currency": "USD", "cutoff": datetime.date.today()}
        )
        payouts.payout_run_export(actor=finance, run=run)
    phone = size == "phone"
    options = {"is_mobile": True, "has_touch": True} if phone else {}
    page = new_page(viewport=PHONE if phone else DESKTOP, **options)
    login(page, "admin@acme.test")
    page.goto("/portal/commissions/payout-details/")
    page.fill("input[name=iban]", IBAN_B)
    page.fill("input[name=holder_name]", "Acme Resellers GmbH")
    page.locator("#details-form button[type=submit], #details-form input[type=submit]").first.click()
    expect(page.locator("body")).to_contain_text("is in progress")
    if phone:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
    folder = os.environ.get("PRM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"details-in-payment-{size}.png"), full_page=True)
