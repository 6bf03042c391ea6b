"""`prm import activities`: the canonical CSV through the ingestion service — idempotent, all or nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core.management.base import CommandError

from openprm.activity.models import Event
from openprm.activity.rollups import rollup_cells
from openprm.core.scoping import unscoped
from openprm.integrations.tests.helpers import csv_file, run

pytestmark = pytest.mark.django_db

HEADER = "event_id,partner_external_id,type,occurred_at,direction,value,properties,campaign"
GOOD = [
    "x-1,A-1,portal_login,2026-10-01T08:00:00Z,,,,",
    'x-2,A-1,content_post,2026-10-02T08:00:00Z,,,"{""reach"": 1200, ""impressions"": 4000}",spring',
    "x-3,B-1,email_received,2026-10-03,inbound,,,",
    'x-4,B-1,survey_response,2026-10-04T10:00:00+02:00,,"1,000.5",,',
]


def events() -> dict[str, Event]:
    with unscoped():
        return {e.event_id: e for e in Event.objects.all()}


def test_import_stores_events_and_reimport_changes_nothing(
    world, tmp_path, django_capture_on_commit_callbacks
):
    path = csv_file(tmp_path, *GOOD, header=HEADER, name="activities.csv")
    with django_capture_on_commit_callbacks(execute=True):  # the rollup job runs inline in tests
        out, _ = run("import", "activities", str(path))
    assert "created 4" in out
    stored = events()
    assert stored["x-2"].properties == {"reach": 1200, "impressions": 4000, "campaign": "spring"}
    assert stored["x-2"].source == "csv" and stored["x-3"].partner_id == world.partner_b.pk
    assert stored["x-3"].occurred_at == datetime.datetime(2026, 10, 3, tzinfo=datetime.UTC)
    assert str(stored["x-4"].value) == "1000.5000"
    cells = rollup_cells(workspace_id=world.workspace.pk)
    assert cells[(world.partner_a.pk, datetime.date(2026, 10, 2), "content.reach")] == 1200

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run("import", "activities", str(path))
    assert "created 0" in out and "unchanged 4" in out
    assert len(events()) == 4
    assert rollup_cells(workspace_id=world.workspace.pk) == cells


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(world, tmp_path):
    path = csv_file(
        tmp_path,
        *GOOD,
        "x-5,A-1,telepathy,2026-10-01T08:00:00Z,,,,",
        "x-6,ZZZ,portal_login,2026-10-01T08:00:00Z,,,,",
        "x-7,A-1,portal_login,2026-10-01T08:00:00Z,,lots,,",
        'x-8,A-1,portal_login,2026-10-01T08:00:00Z,,,"[1, 2]",',
        ",A-1,portal_login,2026-10-01T08:00:00Z,,,,",
        header=HEADER,
        name="activities.csv",
    )
    with pytest.raises(CommandError, match="5 bad row"):
        run("import", "activities", str(path))
    assert events() == {}
    _, err = run("import", "activities", str(path), "--skip-invalid")
    assert "line 6, column type: Unknown event type 'telepathy'" in err
    assert "line 7, column partner_external_id: No partner with external id 'ZZZ'" in err
    assert "line 8, column value:" in err and "line 9, column properties:" in err
    assert "line 10, column event_id: Required." in err
    assert sorted(events()) == ["x-1", "x-2", "x-3", "x-4"]
    assert (tmp_path / "activities.rejects.csv").read_text().count("\n") == 6  # header + 5 rows


def test_missing_columns_and_dry_runs(world, tmp_path):
    with pytest.raises(CommandError, match="Missing required column"):
        run("import", "activities", str(csv_file(tmp_path, "x,A-1", header="event_id,partner_external_id")))
    out, _ = run("import", "activities", str(csv_file(tmp_path, *GOOD, header=HEADER)), "--dry-run")
    assert "would be created 4" in out and events() == {}
