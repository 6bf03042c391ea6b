"""Commissions in a real browser.

The journey: finance publishes a plan version → a conversion accrues → its hold expires → finance
pays (payout run: create, export, mark paid) → the partner logs in and sees the statement. Finance's steps go
through the staff pages, the accrual and the hold release through their services (what the worker runs).

Then the portal's Commissions and Payout details pages on a desktop and on a phone (390×844): nothing of
partner B's reaches them and nothing scrolls sideways on the phone. With ``PRM_SHOTS`` set to a directory,
each page is also saved there as a full-page screenshot."""

from __future__ import annotations

import datetime
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from openprm.activity.models import Conversion
from openprm.commissions.models import LedgerEntry, PlanVersion, Statement
from openprm.commissions.services import accrual, ledger
from openprm.commissions.services import plans as plan_services
from openprm.commissions.tests.payout_fixtures import bank_details
from openprm.core.scoping import scope, unscoped
from openprm.portal.tests.test_commissions import B_AMOUNT
from openprm.portal.tests.test_commissions import books as _books

books = _books  # the same seeded ledger, as this module's fixture

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RULES = {
    "rules": [
        {
            "key": "referral-sales",
            "label": "20% of referred purchases",
            "event": ["purchase"],
            "reward": {"type": "percent", "rate": 20},
        },
        {
            "key": "volume",
            "label": "Reseller volume",
            "event": ["deal_won"],
            "reward": {
                "type": "tiered",
                "period": "quarter",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
            },
        },
    ]
}


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("PRM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px screen"


def test_finance_publishes_accrues_pays_and_the_partner_sees_the_statement(
    transactional_db: Any, world: Any, new_page: Any, login: Any
) -> None:
    system, today = world.system, timezone.now().date()
    with scope(system.access_scope()):
        plan = plan_services.plan_create(actor=system, name="Referral plan", currency="USD", hold_days=7)
        draft = plan_services.version_create_draft(
            actor=system, plan=plan, rules=RULES, effective_from=today - datetime.timedelta(days=60)
        )
        plan_services.assignment_create(
            actor=system,
            plan=plan,
            level="partner",
            target_id=world.partner_a.pk,
            starts_on=today - datetime.timedelta(days=60),
        )
    bank_details(world, world.partner_a)

    # 1. Finance publishes the draft version on its page.
    staff = new_page(viewport=DESKTOP)
    staff.on("dialog", lambda dialog: dialog.accept())
    login(staff, "finance@vendor.test")
    staff.goto(f"/commissions/versions/{draft.public_id}/")
    staff.get_by_label("I understand a published version never changes").check()
    with staff.expect_navigation():
        staff.get_by_role("button", name=re.compile(r"^Publish version 1")).click()
    expect(staff.locator("main")).to_contain_text("Version 1 published")
    with unscoped():
        assert PlanVersion.objects.get(pk=draft.pk).status == "published"

    # 2. A referred purchase of 1,250 USD ten days ago accrues 250 USD, pending for the 7-day hold.
    occurred = timezone.now() - datetime.timedelta(days=10)
    with unscoped():
        conversion = Conversion.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            kind="purchase",
            occurred_at=occurred,
            amount=Decimal("1250.00"),
            currency="USD",
            attributed_by="link",
            idempotency_key="journey-1",
        )
    accrual.accrue(workspace_id=world.workspace.pk, conversion_ids=[conversion.pk])
    with unscoped():
        accrued = LedgerEntry.objects.get(partner=world.partner_a, source_id=conversion.pk)
    assert accrued.amount == Decimal("250.00") and accrued.state == "pending"

    partner = new_page(viewport=DESKTOP)
    login(partner, "admin@acme.test")
    partner.goto("/portal/commissions/")
    expect(partner.locator("#balance-pending-USD")).to_contain_text("250.00")
    expect(partner.locator("#rates")).to_contain_text("Earn 15% after 50,000.00 USD this quarter")

    # 3. The hold expires (it ended three days ago): the release job approves it.
    assert ledger.holds_release(workspace_id=world.workspace.pk, today=today) >= 1

    # 4. Finance pays: a USD run up to today, exported, marked paid with the bank's reference.
    staff.goto("/commissions/payouts/")
    staff.get_by_label("Currency").fill("USD")
    staff.get_by_label("Cutoff").fill(today.isoformat())
    with staff.expect_navigation():
        staff.get_by_role("button", name="Create draft").click()
    expect(staff.locator("main")).to_contain_text("Acme Resellers")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Export").click()
    staff.get_by_label("Reference").fill("JOURNEY-BATCH-1")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Mark paid").click()
    expect(staff.locator("main")).to_contain_text("Paid")
    with unscoped():
        statement = Statement.objects.get(partner=world.partner_a)
        assert LedgerEntry.objects.get(pk=accrued.pk).state == "paid"

    # 5. The partner logs in and sees the statement, downloads its PDF, and the commission explained.
    partner.goto("/portal/commissions/")
    expect(partner.locator("#balance-paid-USD")).to_contain_text("250.00")
    row = partner.locator(f'#statement-table tr[data-statement="{statement.public_id}"]')
    expect(row).to_contain_text("250.00")
    with partner.expect_download() as download:
        row.get_by_role("link", name="PDF").click()
    path = download.value.path()
    assert path is not None and Path(path).read_bytes()[:4] == b"%PDF"
    expect(partner.locator("#payment-table")).to_contain_text("JOURNEY-BATCH-1")
    entry_row = partner.locator(f'#entry-table tr[data-entry="{accrued.public_id}"]')
    expect(entry_row).to_contain_text("Rule “referral-sales”")
    expect(entry_row).to_contain_text("Rate 20%")
    _shot(partner, "journey-partner-commissions")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_commissions_pages_fit(
    transactional_db: Any, world: Any, books: dict[str, Any], new_page: Any, login: Any, size: str
) -> None:
    phone = size == "phone"
    options = {"is_mobile": True, "has_touch": True} if phone else {}
    page = new_page(viewport=PHONE if phone else DESKTOP, **options)
    login(page, "admin@acme.test")
    page.goto("/portal/commissions/")
    expect(page.locator("h1")).to_have_text("Commissions")
    expect(page.locator("#entry-table tbody tr")).to_have_count(5)
    expect(page.locator("#upcoming")).to_contain_text("carried forward")
    assert B_AMOUNT not in page.content()
    if phone:
        _fits(page)
    _shot(page, f"commissions-{size}")

    page.select_option("select[name=state]", "pending")  # auto-submits
    expect(page.locator("#entry-table tbody tr")).to_have_count(1)

    page.goto("/portal/commissions/payout-details/")
    expect(page.locator("h1")).to_have_text("Payout details")
    if phone:
        _fits(page)
    _shot(page, f"payout-details-{size}")
    assert page.locator('nav a[href="/portal/commissions/"]').count() == 1
