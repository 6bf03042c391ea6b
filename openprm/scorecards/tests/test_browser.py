"""Scorecards in a real browser (system Chromium through Playwright) on the live server: staff set a target,
filter the scorecard table by tier and export it as XLSX (opened and checked); a partner user on a phone
sees their own scorecard and rank band, and no other partner's name."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.core.scoping import scope
from openprm.partners.models import Tier
from openprm.scorecards.tests.conftest import register, this_month

PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_staff_filter_and_export_partner_sees_own(
    transactional_db: Any, world: Any, new_page: Any, login: Any, tmp_path: Any
) -> None:
    from openpyxl import load_workbook

    register(world, world.partner_a, "1000.00", "closed_won")
    register(world, world.partner_b, "200.00", "closed_won")
    with scope(world.system.access_scope()):
        gold = Tier.objects.get(name="Gold")

    staff = new_page()
    login(staff, "admin@vendor.test")
    staff.goto("/scorecards/targets/")
    staff.locator("#id_metric").select_option("won_revenue")
    staff.locator("#id_period").fill(this_month().key)
    staff.locator("#id_partner").select_option(label="Acme Resellers")
    staff.locator("#id_value").fill("2000")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Set target").click()
    row = staff.locator("#target-table tbody tr").first
    expect(row).to_contain_text("Acme Resellers")
    expect(row).to_contain_text("50%")  # 1,000 of 2,000

    staff.goto("/scorecards/")
    expect(staff.locator("#scorecard-table tbody tr")).to_have_count(2)
    with staff.expect_navigation():
        staff.get_by_label("Tier").select_option(value=str(gold.public_id))  # submits on change
    expect(staff.locator("#scorecard-table tbody tr")).to_have_count(1)
    expect(staff.locator("#scorecard-table tbody")).to_contain_text("Globex Referrals")
    with staff.expect_download() as download:
        staff.locator("#export-xlsx").click()
    path = tmp_path / "scorecards.xlsx"
    download.value.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert [r[2] for r in rows[1:]] == ["Globex Referrals"]
    assert rows[1][rows[0].index("won_revenue")] == 200

    partner = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(partner, "admin@globex.test")
    partner.goto(f"/scorecards/partners/{world.partner_b.public_id}/")
    expect(partner.locator("h1")).to_contain_text("Globex Referrals")
    expect(partner.locator("#rank-band")).to_have_text(re.compile(r"top \d+%|bottom 50%"))
    expect(partner.locator("main")).not_to_contain_text("Acme")
    assert partner.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert partner.goto(f"/scorecards/partners/{world.partner_a.public_id}/").status == 404
