"""What a document holds: the QBR's top actions come from the selectors' verdicts (a target behind pace,
a metric that fell), and every figure of a section is the panel's own."""

from __future__ import annotations

from typing import Any

import pytest

from openprm.core.scoping import scope
from openprm.dashboards.filters import DashboardFilters, today
from openprm.dashboards.selectors import PARTNER
from openprm.metrics.periods import Period
from openprm.reports.content import build, top_actions
from openprm.scorecards.services import target_create

pytestmark = pytest.mark.django_db


def test_top_actions_name_a_target_behind_pace(data: Any) -> None:
    world = data
    month = Period.month_of(today())
    with scope(world.system.access_scope()):
        assert not any(a.startswith("Target") for a in top_actions(world.system, world.partner_a, month))
        target_create(
            actor=world.system,
            data={
                "metric": "won_revenue",
                "period": month.key,
                "value": "1000000",
                "partner": world.partner_a,
            },
        )
        actions = top_actions(world.system, world.partner_a, month)
    assert any(a.startswith("Target Won revenue") for a in actions), actions


def test_a_qbr_section_holds_the_panels_own_figures(data: Any) -> None:
    world = data
    f = DashboardFilters(period=Period.quarter_of(today()).key)
    with scope(world.system.access_scope()):
        document = build(actor=world.system, kind="qbr", title="QBR", f=f, partner=world.partner_a)
        panel = PARTNER["revenue"](world.system, f, world.partner_a)
    revenue = next(s for s in document.sections if s.title == "Revenue")
    assert revenue.table is not None and panel.table is not None
    assert revenue.table.rows == panel.table.rows
    assert [s.title for s in document.sections] == [
        "Scorecard", "Trends", "Revenue", "Targets and pace", "Deals", "Engagement", "Top actions",
    ]  # fmt: skip
