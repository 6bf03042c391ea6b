"""The program dashboard's leader figures (PostgreSQL: kept under the data version): the top-10 chart and
the page's bottom-10 table read one table of every filtered partner's figures, computed anew after a
committed change."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.scoping import scope
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.selectors import overview
from openprm.scorecards.tests.conftest import register, this_month
from openprm.testing import actor_for

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite has no statement triggers: no cache"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_dashboards_leaders_are_computed_once_and_follow_every_change(world: Any) -> None:
    """The top-10 chart and the page's bottom-10 table read one kept table of every partner's figures,
    computed anew after a committed change."""
    actor = actor_for(world.admin)
    f = DashboardFilters.from_mapping({"period": this_month().key})
    register(world, world.partner_a, "1000.00", "closed_won")
    register(world, world.partner_b, "200.00", "closed_won")
    with scope(actor.access_scope()):
        top = overview.top_partners_panel(actor, f)
        with CaptureQueriesContext(connection) as counted:
            overview.bottom_partners_panel(actor, f)
    assert not any("deals_deal" in q["sql"] for q in counted.captured_queries)  # the figures kept
    assert top.table is not None and [row[0] for row in top.table.rows] == [
        world.partner_a.name,
        world.partner_b.name,
    ]

    register(world, world.partner_b, "5000.00", "closed_won")  # committed: the version moves
    with scope(actor.access_scope()):
        top = overview.top_partners_panel(actor, f)
    assert top.table is not None and [row[0] for row in top.table.rows] == [
        world.partner_b.name,
        world.partner_a.name,
    ]
    assert top.table.rows[0][2] == 5200
