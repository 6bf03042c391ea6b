"""What conversion costs, after review: a workspace whose deals are all in its reporting currency reads
its deal figures in exactly the queries it took with no rate table plugged in (the grouped reads show
for free whether another currency exists; the other currencies' day rows and close days are read only
then), and a series or a request loads the rate table once, not once per period or per read."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.models import Workspace
from openprm.deals.rollups import conversion, read
from openprm.deals.rollups.summary import deal_totals
from openprm.deals.tests.test_fx_figures import make_deals, rates
from openprm.metrics import figures  # noqa: F401  (plugs the FX table into the deal reads)

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime.now(datetime.UTC).date()
NAMES = [
    "deals.won.amount",
    "deals.won",
    "pipeline.open.amount",
    "deals.won.days.median",
    read.OTHER_CURRENCY,
]


@pytest.fixture
def unplugged() -> Iterator[Any]:
    """A context in which no rate table is plugged in (as before conversion existed)."""
    loaders = list(conversion._LOADERS)

    class Off:
        def __enter__(self) -> None:
            conversion.convert_with(None)

        def __exit__(self, *exc: object) -> None:
            conversion._LOADERS[:] = loaders

    yield Off
    conversion._LOADERS[:] = loaders


def count(read_it: Any) -> tuple[int, int]:
    """(queries, rate table loads) of a read."""
    with CaptureQueriesContext(connection) as captured:
        read_it()
    return len(captured), sum("fxrate" in q["sql"] for q in captured.captured_queries)


@pytest.fixture
def usd_only(world: Any) -> Any:
    """A USD workspace whose deals are all in USD (with a rate table plugged in and rates in it)."""
    a, b = world.partner_a, world.partner_b
    make_deals(
        world, [(a, "USD", "100.00", 3, True), (a, "USD", "50.00", 12, False), (b, "USD", "70.00", 20, True)]
    )
    rates(world.workspace.pk)
    return world


def test_a_workspace_in_one_currency_pays_nothing_for_conversion(usd_only: Any, unplugged: Any) -> None:
    ws = usd_only.workspace.pk
    ids = [usd_only.partner_a.pk, usd_only.partner_b.pk]
    reads = {
        "deal_totals": lambda: deal_totals(ws, partner_ids=None, on=TODAY),
        "inputs": lambda: read.metric_inputs(
            ws,
            partner_ids=ids,
            start=datetime.date(2026, 11, 1),
            end=datetime.date(2026, 11, 30),
            names=NAMES,
        ),
        "since ever": lambda: read.metric_inputs(
            ws, partner_ids=ids, start=datetime.date(1, 1, 2), end=TODAY, names=NAMES
        ),
        "series": lambda: read.series(
            ws, partner_ids=ids, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31), names=NAMES
        ),
    }
    plugged = {name: count(f) for name, f in reads.items()}
    with unplugged():
        bare = {name: count(f) for name, f in reads.items()}
    assert plugged == bare
    assert all(loads == 0 for _, loads in plugged.values())


@pytest.fixture
def eur(world: Any) -> Any:
    Workspace.objects.filter(pk=world.workspace.pk).update(currency="EUR")
    make_deals(world)
    rates(world.workspace.pk)
    return world


def test_a_day_by_day_series_loads_the_rates_once(eur: Any, api_for: Any) -> None:
    ws, ids = eur.workspace.pk, [eur.partner_a.pk, eur.partner_b.pk]
    start, end = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)
    _, loads = count(lambda: read.series(ws, partner_ids=ids, start=start, end=end, names=NAMES, grain="day"))
    assert loads == 1
    query = {"metrics": "won_revenue,pipeline_value,won_count", "period": "2026-11", "grain": "day"}
    with CaptureQueriesContext(connection) as captured:
        answer = api_for(eur.manager).get("/api/v1/metrics/series", query)
    assert answer.status_code == 200, answer.content[:300]
    fx_loads = [q for q in captured.captured_queries if "fxrate" in q["sql"]]
    assert len(fx_loads) <= 2  # the figures' one, and the unconverted note's own read
    assert len(captured) < 100, len(captured)


def test_the_deal_summary_loads_the_rates_once(eur: Any) -> None:
    _, loads = count(lambda: deal_totals(eur.workspace.pk, partner_ids=None, on=TODAY))
    assert loads == 1
