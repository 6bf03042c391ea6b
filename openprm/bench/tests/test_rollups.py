"""`prm bench rollups` at a tiny scale: it writes the events, rebuilds the rollups (which must count every
event), times one raw GROUP BY over the same events in the same run, reports sizes and memory, and leaves
nothing behind."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from openprm.activity.models import Event, PartnerDay
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db


def test_the_bench_times_a_rebuild_against_the_raw_group_by(capsys: Any) -> None:
    with unscoped():
        workspaces = Workspace.objects.count()
    call_command("bench", "rollups", "--events", "3000", "--partners", "15", "--json")
    found = json.loads(capsys.readouterr().out)
    assert found["events"] == found["events_in_workspace"] == 3000
    assert found["raw_group_by_seconds"] > 0 and found["rebuild_seconds"] > 0
    # the ratio is of the unrounded times; the seconds printed are rounded (milliseconds at this size)
    assert found["ratio"] == pytest.approx(found["rebuild_seconds"] / found["raw_group_by_seconds"], rel=0.2)
    assert 0 < found["rollup_rows"] <= found["raw_group_by_rows"]  # one row per partner and day
    assert found["paired_intervals"] > 0  # tickets and messages were paired
    # the RSS before is reported in MB rounded to 0.1: the peak is at least that, to the rounding
    assert found["peak_rss_bytes"] >= (found["rss_before_rebuild_mb"] - 0.1) * 2**20 > 0
    if found["events_table_bytes"] is not None:
        assert 0 < found["rollups_to_events"] < 1
    with unscoped():  # the scratch workspace is gone with its rows
        assert Workspace.objects.count() == workspaces
        assert not Event.objects.exists() and not PartnerDay.objects.exists()
