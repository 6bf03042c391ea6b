"""The lists read a fixed number of queries whatever their length: the targets page and API, and the
scorecard table (one metric_table call for all partners)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.scoping import scope
from openprm.scorecards import selectors, services
from openprm.scorecards.tests.conftest import this_month
from openprm.testing import actor_for, make_partner

pytestmark = pytest.mark.django_db


def queries(call: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def add_partners(world: Any, start: int, count: int) -> None:
    for n in range(start, start + count):
        make_partner(world.system, f"Partner {n:03d}", external_id=f"P-{n}")


def add_targets(world: Any, actor: Any) -> None:
    from openprm.partners.models import Partner

    with scope(actor.access_scope()):
        for partner in Partner.objects.filter(scorecard_targets__isnull=True):
            services.target_create(
                actor=actor,
                data={"metric": "won_revenue", "period": this_month().key, "partner": partner, "value": "10"},
            )


def test_scorecard_table_queries_do_not_grow_with_partners(data: Any) -> None:
    actor = actor_for(data.admin)
    with scope(actor.access_scope()):
        selectors.scorecard_table(actor=actor, period=this_month())  # warm: first-use lookups
        few = queries(lambda: selectors.scorecard_table(actor=actor, period=this_month()))
    add_partners(data, 1, 8)
    with scope(actor.access_scope()):
        many = queries(lambda: selectors.scorecard_table(actor=actor, period=this_month()))
        assert len(selectors.scorecard_table(actor=actor, period=this_month())) == 10
    assert many == few


def test_target_list_page_and_api_queries_do_not_grow(data: Any, client_for: Any, api_for: Any) -> None:
    actor = actor_for(data.admin)
    add_targets(data, actor)
    page, api = client_for(data.admin), api_for(data.admin)
    page.get("/scorecards/targets/"), api.get("/api/v1/targets")  # warm: first-use lookups
    few_page = queries(lambda: page.get("/scorecards/targets/"))
    few_api = queries(lambda: api.get("/api/v1/targets"))
    add_partners(data, 1, 6)
    add_targets(data, actor)
    many_page = queries(lambda: page.get("/scorecards/targets/"))
    many_api = queries(lambda: api.get("/api/v1/targets"))
    assert api.get("/api/v1/targets").json()["count"] == 8
    assert many_page == few_page
    assert many_api == few_api


def test_scorecard_with_progress_scores_the_program_once(data: Any) -> None:
    """The scorecard page and the portal's Performance page show a scorecard and its tier progress: read
    together, they cost what the scorecard alone costs, and equal the two read apart."""
    for user in (data.admin, data.a_admin):
        actor = actor_for(user)
        with scope(actor.access_scope()):
            args = {"actor": actor, "partner": data.partner_a, "period": this_month()}
            selectors.scorecard_with_progress(**args)  # warm: first-use lookups
            alone = queries(lambda: selectors.scorecard(**args))
            together = queries(lambda: selectors.scorecard_with_progress(**args))
            assert together == alone
            assert selectors.scorecard_with_progress(**args) == (
                selectors.scorecard(**args),
                selectors.tier_progress(**args),
            )
