"""The Performance page on a phone (390×844) in a real browser: it renders the partner's scorecard and tier
progress, the monthly charts receive the partner's own figures (read from ECharts, not from pixels), no
other partner's name reaches the page or a chart, and nothing scrolls sideways."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.core.scoping import scope
from openprm.partners.models import Tier
from openprm.portal.tests.test_performance import B_NAME, _deal, _month
from openprm.scorecards import services as scorecard_services
from openprm.testing import actor_for

PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

OPTION = """key => {
  const el = document.querySelector(`[data-chart-key="${key}"]`);
  const option = window.echarts.getInstanceByDom(el).getOption();
  return {
    categories: option.xAxis[0].data,
    xName: option.xAxis[0].name,
    yName: option.yAxis[0].name,
    series: option.series.map(s => ({name: s.name, data: s.data})),
  };
}"""


def test_partner_performance_on_a_phone(transactional_db: Any, world: Any, new_page: Any, login: Any) -> None:
    from openprm.partners.services import partner_update

    with scope(world.system.access_scope()):
        partner_update(actor=world.system, partner=world.partner_b, data={"name": B_NAME})
    _deal(world, world.partner_a, "1000.00", "closed_won")
    _deal(world, world.partner_a, "500.00", "closed_lost")
    _deal(world, world.partner_b, "987654.00", "closed_won")
    admin = actor_for(world.admin)
    with scope(admin.access_scope()):
        scorecard_services.tier_criterion_create(
            actor=admin,
            tier=Tier.objects.get(name="Gold"),
            data={"metric": "won_revenue", "minimum": "1200", "grain": "month"},
        )

    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, "admin@acme.test")
    page.goto(f"/portal/performance/?period={_month()}")
    expect(page.locator("h1")).to_contain_text("Performance")
    expect(page.locator("#overall")).not_to_have_text("—")
    expect(page.locator("#next-tier")).to_have_text("Gold")
    expect(page.locator("#tier-progress")).to_contain_text("$200 more won revenue")
    for key in ("revenue", "win_rate", "engagement"):
        expect(page.locator(f'[data-chart-key="{key}"]')).to_have_attribute("data-chart-ready", "1")

    revenue = page.evaluate(OPTION, "revenue")
    assert len(revenue["categories"]) == 12 and revenue["xName"] == "Month" and revenue["yName"] == "USD"
    assert [s["name"] for s in revenue["series"]] == ["Partner-sourced revenue", "Partner-influenced revenue"]
    assert revenue["series"][0]["data"][-1] == 1000  # this month: A's own won deal, not B's
    assert sum(v or 0 for s in revenue["series"] for v in s["data"]) == 1000
    win_rate = page.evaluate(OPTION, "win_rate")
    assert (
        win_rate["yName"] == "%" and win_rate["series"][0]["data"][-1] == 50.0
    )  # 1 won of 2 closed (A), not B's

    charts = json.dumps([page.evaluate(OPTION, k) for k in ("revenue", "win_rate", "engagement")])
    for text in (page.content(), charts):
        assert B_NAME not in text and "Zanzibar" not in text and "987654" not in text
        assert str(world.partner_b.public_id) not in text

    for section in ("#score", "#tier-progress", "#trends", "#panel-engagement"):
        page.locator(section).scroll_into_view_if_needed()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
