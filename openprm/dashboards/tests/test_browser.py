"""The staff journey in a real browser (system Chromium through Playwright) against the live server: the
program dashboard draws its charts from the data requests, a tier filter changes the data the charts
receive (read from ECharts itself, not from pixels), and the filtered table exports to XLSX."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from openprm.core.scoping import unscoped
from openprm.dashboards.tests.conftest import register
from openprm.partners.models import Tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SERIES = """key => {
  const el = document.querySelector(`[data-chart-key="${key}"]`);
  const chart = window.echarts.getInstanceByDom(el);
  const option = chart.getOption();
  const axis = option.yAxis[0].type === 'category' ? option.yAxis[0] : option.xAxis[0];
  return {categories: axis.data, series: option.series.map(s => ({name: s.name, data: s.data}))};
}"""


def ready(page: Any, key: str) -> None:
    expect(page.locator(f'[data-chart-key="{key}"]')).to_have_attribute("data-chart-ready", "1")


def test_staff_filters_the_program_dashboard_by_tier_and_exports_xlsx(
    transactional_db: Any, world: Any, page: Any, login: Any
) -> None:
    register(world, world.partner_a, "1000.00", "closed_won")
    register(world, world.partner_b, "200.00", "closed_won")
    register(world, world.partner_b, "700.00")
    with unscoped():
        gold = str(Tier.objects.get(name="Gold").public_id)

    login(page, "manager@vendor.test")
    page.goto("/dashboards/")
    expect(page.locator("h1")).to_have_text("Program dashboard")
    for key in ("revenue", "pipeline", "win_rate", "top_partners", "by_tier"):
        ready(page, key)
    top = page.evaluate(SERIES, "top_partners")
    assert top["categories"] == ["Acme Resellers", "Globex Referrals"]
    assert top["series"][0]["data"] == [1000, 200]
    revenue = page.evaluate(SERIES, "revenue")
    assert [s["name"] for s in revenue["series"]] == ["Partner-sourced revenue", "Partner-influenced revenue"]
    assert revenue["series"][0]["data"][-1] == 1200

    page.locator("#dash-filters select[name=tier]").select_option(gold)
    with page.expect_navigation():
        page.locator("#dash-filters").get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"[?&]tier={gold}"))
    for key in ("revenue", "pipeline", "top_partners"):
        ready(page, key)
    assert page.evaluate(SERIES, "top_partners") == {
        "categories": ["Globex Referrals"],
        "series": [{"name": "Won revenue", "data": [200]}],
    }
    assert page.evaluate(SERIES, "revenue")["series"][0]["data"][-1] == 200
    pipeline = page.evaluate(SERIES, "pipeline")
    assert sum(v or 0 for v in pipeline["series"][0]["data"]) == 700

    with page.expect_download() as download:
        page.locator('[data-export="top_partners-xlsx"]').click()
    path = download.value.path()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(path, "rb") as handle:
        book = openpyxl.load_workbook(io.BytesIO(handle.read()))
    rows = list(book["Data"].iter_rows(values_only=True))
    assert rows[0][0] == "Partner" and [r[0] for r in rows[1:]] == ["Globex Referrals"]
    assert rows[1][2] == 200.0
    assert dict(book["Filters"].iter_rows(values_only=True))["Tier"] == "Partner Program · Gold"
