"""A trend computed in one pass (``engine.compute_series``: sources asked once for all the periods) gives
exactly what the engine gives period by period, for every computed metric of the catalog: months, quarters
and years (the month-by-month reads), weeks (period by period), per partner and for the set alone."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from openprm.activity.rollups import rollups_fold, rollups_refresh_pairs
from openprm.activity.tests.test_rollups_read import random_events, store
from openprm.core.scoping import scope
from openprm.dashboards.tests.conftest import register
from openprm.metrics import figures
from openprm.metrics.engine import TOTAL
from openprm.metrics.kpis import FORMULAS
from openprm.metrics.periods import Period
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(world: Any, api_for: Any) -> Any:
    store(api_for(world.manager), random_events(5, 900))
    rollups_fold(workspace_id=world.workspace.pk)
    rollups_refresh_pairs(workspace_id=world.workspace.pk)
    register(world, world.partner_a, "1000.00", "closed_won")
    register(world, world.partner_b, "400.00", "closed_lost")
    register(world, world.partner_b, "250.00")
    return world


def months(first: datetime.date, count: int) -> list[Period]:
    out, day = [], first
    for _ in range(count):
        out.append(Period.month_of(day))
        day = out[-1].end + datetime.timedelta(days=1)
    return out


TRENDS = {
    "months": months(datetime.date(2025, 11, 1), 9),
    "months after the start": months(datetime.date(2026, 3, 1), 4),  # latest days and stocks carried in
    "quarters": [Period.quarter(2025, 4), Period.quarter(2026, 1), Period.quarter(2026, 2)],
    "years": [Period.year(2025), Period.year(2026)],
    "clipped quarter": [Period(datetime.date(2026, 1, 1), datetime.date(2026, 2, 28))],
    "a month, the one before and a year before": [
        Period.month(2026, 4),
        Period.month(2026, 3),
        Period.month(2025, 4),
    ],
    "weeks": [Period.week_of(datetime.date(2026, 2, 2) + datetime.timedelta(days=7 * n)) for n in range(6)],
}


def test_a_trend_in_one_pass_equals_the_periods_one_by_one(filled: Any) -> None:
    actor = actor_for(filled.admin)
    keys = sorted(FORMULAS)
    with_values = set()
    for trend, periods in TRENDS.items():
        with scope(actor.access_scope()):
            together = figures.metric_series(actor=actor, keys=keys, periods=periods)
            totals_only = figures.metric_series(actor=actor, keys=keys, periods=periods, per_partner=False)
            one_by_one = [figures.metric_table(actor=actor, keys=keys, period=p) for p in periods]
        partners = one_by_one[0].partner_ids
        assert len(partners) == 2
        for series_table, totals_table, single in zip(together, totals_only, one_by_one, strict=True):
            assert series_table.period == single.period
            for key in keys:
                for pid in (*partners, TOTAL):
                    assert series_table.value(pid, key) == single.value(pid, key), (trend, single.period, key)
                assert totals_table.total(key) == single.total(key), (trend, single.period, key)
                if single.total(key).value:
                    with_values.add(key)
    assert len(with_values) > 20, with_values  # the data exercises the metrics, not only empty ones
