"""`prm bench dashboards` at a tiny scale: it loads the scale dataset into an empty database, answers every
request it times with 200 (a failing request fails the bench, not a quiet fast number), reports p50/p95
per request and the rebuild ratio, and refuses a database holding other data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from openprm.bench.dashboards import DatasetError, bench_dashboards, dataset
from openprm.dashboards.views import CHARTS
from openprm.demo.scale import SCALES, Scale

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    settings.VAR_DIR = tmp_path  # the scale load writes its logins file there
    monkeypatch.setitem(SCALES, "s", Scale("s", partners=12, deals=300, events=3_000))
    return "s"


def test_the_bench_times_every_dashboard_request_on_the_scale_dataset(tiny: str, capsys: Any) -> None:
    call_command("bench", "dashboards", "--scale", tiny, "--repeat", "2", "--json")
    found = json.loads(capsys.readouterr().out)
    assert found["partners"] == 12 and found["load_s"] > 0
    expected = {f"overview:{key}" for key, _, _ in CHARTS["overview"]} | {"overview:page"}
    uncached = {"scorecard:uncached", "scorecard_table:uncached"}  # reported, not held to a target
    kept = {"overview:top_partners:uncached", "overview:page:uncached"}
    assert expected | {"scorecard", "scorecard_table"} | uncached | kept == set(found["requests"])
    for timing in found["requests"].values():
        assert 0 < timing["p50_ms"] <= timing["p95_ms"]
    assert set(found["worst_p95_ms"]) == {"overview", "scorecard", "scorecard_table"}
    rollups = found["rollups"]
    assert rollups["raw_groups"] > 0 and rollups["rollup_rows"] > 0 and rollups["ratio"] > 0
    again = bench_dashboards(scale=tiny, repeat=1, rollups=False)  # the dataset is reused, not reloaded
    assert again["load_s"] == 0 and "rollups" not in again
    only = bench_dashboards(scale=tiny, repeat=1, rollups=False, only=("scorecard",))
    assert set(only["requests"]) == {"scorecard", "scorecard_table"} | uncached
    with pytest.raises(DatasetError, match="No request is named like nothing"):
        bench_dashboards(scale=tiny, repeat=1, rollups=False, only=("nothing",))


def test_the_bench_refuses_a_database_holding_other_data(world: Any, tiny: str) -> None:
    with pytest.raises(DatasetError, match="holds 2 partners"):
        dataset(tiny, load=True)
