"""The active-partner figures of a trend (``active:<window>:<types>`` inputs, read at every period's end
from the month rollups and the edge days) equal the raw events' and the period-by-period engine's: with
windows crossing month boundaries, partners active only on edge days, and effective-dated parameters
(the window and the qualifying types changing during the trend)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.activity.rollups import rollups_fold, rollups_refresh_pairs
from openprm.activity.tests.test_rollups_active import expected
from openprm.activity.tests.test_rollups_read import random_events, raw_frame, store
from openprm.core.scoping import scope
from openprm.dashboards.tests.conftest import register
from openprm.metrics import figures
from openprm.metrics.engine import TOTAL
from openprm.metrics.kpis import FORMULAS
from openprm.metrics.parameters import params_at
from openprm.metrics.periods import Period
from openprm.metrics.services import parameter_add
from openprm.metrics.tests.test_series import TRENDS as CATALOG_TRENDS
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

D = datetime.date

KEYS = ["active_partners", "active_partner_share", "enrolled_partners"]
MONTHS = [Period.month(2026, m) for m in range(1, 8)]
TRENDS = {
    "months": MONTHS,
    "quarters": [Period.quarter(2026, 1), Period.quarter(2026, 2)],
    "a month, the one before and a later one": [MONTHS[3], MONTHS[2], MONTHS[6]],
}


@pytest.fixture
def sparse(world: Any, api_for: Any) -> Any:
    store(api_for(world.manager), random_events(11, 260))
    rollups_fold(workspace_id=world.workspace.pk)
    return world


def check(world: Any) -> int:
    """Every trend's active figures against the raw events and the period-by-period engine; returns how
    many (period, partner) pairs are active."""
    actor = actor_for(world.admin)
    frame = raw_frame(world.workspace.pk)
    partners = [world.partner_a.pk, world.partner_b.pk]
    active_pairs = 0
    for trend, periods in TRENDS.items():
        with scope(actor.access_scope()):
            together = figures.metric_series(actor=actor, keys=KEYS, periods=periods)
            totals_only = figures.metric_series(actor=actor, keys=KEYS, periods=periods, per_partner=False)
            one_by_one = [figures.metric_table(actor=actor, keys=KEYS, period=p) for p in periods]
            params = [params_at(world.workspace.pk, p.start) for p in periods]
        for period, p, series_table, totals_table, single in zip(
            periods, params, together, totals_only, one_by_one, strict=True
        ):
            metrics = [f"events.{t}" for t in p["qualifying_types"]]
            active = expected(frame, metrics, [period.end], int(p["active_window_days"]))[period.end]
            active_pairs += len(active)
            for partner_id in partners:
                want = 1 if partner_id in active else 0
                assert series_table.value(partner_id, "active_partners").value == want, (trend, period)
                assert single.value(partner_id, "active_partners").value == want, (trend, period)
            assert series_table.total("active_partners").value == len(active), (trend, period)
            share = Decimal(len(active)) / 2
            assert series_table.total("active_partner_share").value == share, (trend, period)
            for key in KEYS:
                assert totals_table.total(key) == single.total(key), (trend, period, key)
                assert series_table.total(key) == single.total(key), (trend, period, key)
    return active_pairs


def test_active_figures_of_a_trend_equal_the_raw_events(sparse: Any) -> None:
    admin = actor_for(sparse.admin)
    with scope(admin.access_scope()):  # the same for the whole trend: read in one pass
        before = datetime.date(2025, 12, 1)
        parameter_add(actor=admin, key="active_window_days", value="40", effective_from=before)
        parameter_add(actor=admin, key="qualifying_types", value=["meeting", "call"], effective_from=before)
    active_pairs = check(sparse)
    assert 0 < active_pairs < 2 * sum(len(p) for p in TRENDS.values())  # some active, some not


def test_with_effective_dated_parameters(sparse: Any) -> None:
    admin = actor_for(sparse.admin)
    with scope(admin.access_scope()):
        parameter_add(
            actor=admin, key="active_window_days", value="20", effective_from=datetime.date(2026, 3, 1)
        )
        parameter_add(
            actor=admin,
            key="qualifying_types",
            value=["meeting", "call"],
            effective_from=datetime.date(2026, 4, 1),
        )
        parameter_add(
            actor=admin, key="active_window_days", value="45", effective_from=datetime.date(2026, 5, 1)
        )
        assert params_at(sparse.workspace.pk, datetime.date(2026, 4, 1))["active_window_days"] == 20
    active_pairs = check(sparse)
    assert 0 < active_pairs < 2 * sum(len(p) for p in TRENDS.values())


def test_every_metric_of_a_trend_across_parameter_versions(world: Any, api_for: Any) -> None:
    """Every computed metric of the catalog, with versions of every parameter taking effect during the
    trends (the sources asked once per version): the same as period by period."""
    store(api_for(world.manager), random_events(5, 900))
    rollups_fold(workspace_id=world.workspace.pk)
    rollups_refresh_pairs(workspace_id=world.workspace.pk)
    register(world, world.partner_a, "1000.00", "closed_won")
    register(world, world.partner_b, "400.00", "closed_lost")
    actor = actor_for(world.admin)
    versions = [
        ("active_window_days", "20", D(2026, 1, 1)),
        ("qualifying_types", ["meeting", "call", "portal_login"], D(2026, 2, 1)),
        ("contact_types", ["meeting", "email_sent"], D(2026, 3, 1)),
        ("collaboration_types", ["meeting"], D(2026, 3, 1)),
        ("pricing_tolerance", "0.2", D(2026, 4, 1)),
        ("partnership_cost_per_year", "1000", D(2026, 4, 1)),
        ("active_window_days", "45", D(2026, 4, 1)),
    ]
    keys = sorted(FORMULAS)
    with scope(actor.access_scope()):
        for key, value, effective_from in versions:
            parameter_add(actor=actor, key=key, value=value, effective_from=effective_from)
        for trend, periods in CATALOG_TRENDS.items():
            together = figures.metric_series(actor=actor, keys=keys, periods=periods)
            totals_only = figures.metric_series(actor=actor, keys=keys, periods=periods, per_partner=False)
            one_by_one = [figures.metric_table(actor=actor, keys=keys, period=p) for p in periods]
            partners = one_by_one[0].partner_ids
            for series_table, totals_table, single in zip(together, totals_only, one_by_one, strict=True):
                for key in keys:
                    for pid in (*partners, TOTAL):
                        assert series_table.value(pid, key) == single.value(pid, key), (
                            trend,
                            single.period,
                            key,
                        )
                    assert totals_table.total(key) == single.total(key), (trend, single.period, key)
