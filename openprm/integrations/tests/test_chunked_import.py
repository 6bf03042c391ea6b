"""Large validated imports commit in chunks (the runner's chunked commits, used by the activities import):
checked whole first, then written a chunk at a time, each committed; a stopped import is completed by
running it again, without duplicates. Small batches and chunks here, so that a file spans several.

The tests run inside the test's transaction, where each chunk's transaction is a savepoint: a failing
chunk rolls back alone and the chunks before it stay, as committed chunks do."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from openprm.activity.models import Event
from openprm.activity.rollups import rollup_cells, rollups_rebuild
from openprm.core.scoping import scope, unscoped
from openprm.integrations.services.activities import ActivityImport
from openprm.integrations.services.runner import ImportResult, import_run
from openprm.partners.models import Partner

pytestmark = pytest.mark.django_db

HEADER = "event_id,partner_external_id,type,occurred_at"
ROWS = 10  # 5 batches of 2, chunks of 4 rows: commits after rows 4, 8 and 10


class SmallChunks(ActivityImport):
    batch_size = 2
    commit_every = 4


def activities(count: int = ROWS, *, bad_line: int | None = None) -> io.BytesIO:
    lines = [HEADER]
    for n in range(1, count + 1):
        partner = "A-1" if n % 2 else "B-1"
        kind = "telepathy" if n + 1 == bad_line else "portal_login"  # line 1 is the header
        lines.append(f"ev-{n},{partner},{kind},2026-10-{n:02d}T08:00:00Z")
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def run(world: Any, stream: io.BytesIO, progress: Callable[[str, int], None] | None = None) -> ImportResult:
    with scope(world.system.access_scope()):
        fmt = SmallChunks(actor=world.system)
        return import_run(fmt=fmt, stream=stream, result=ImportResult(), on_progress=progress)


def stored() -> list[str]:
    with unscoped():
        return sorted(Event.objects.values_list("event_id", flat=True), key=lambda e: int(e[3:]))


def test_each_chunk_is_committed_and_counted_as_it_is_written(world):
    committed: list[tuple[int, int]] = []

    def progress(stage: str, done: int) -> None:
        if stage == "committed":
            committed.append((done, len(stored())))

    result = run(world, activities(), progress)

    assert (result.created, result.unchanged, result.rejected, result.committed) == (10, 0, 0, 10)
    assert committed == [(4, 4), (8, 8), (10, 10)]  # rows written so far, visible at each commit
    assert not result.refused and not result.interrupted


def test_a_crash_in_a_later_chunk_keeps_the_committed_ones_and_a_rerun_completes_without_duplicates(
    world, django_capture_on_commit_callbacks
):
    def crash(stage: str, done: int) -> None:
        if stage == "import" and len(stored()) >= 6:  # inside the second chunk, rows 5-6 written
            raise RuntimeError("the machine went down")

    with pytest.raises(RuntimeError, match="went down"):
        run(world, activities(), crash)
    assert stored() == [f"ev-{n}" for n in range(1, 5)]  # the first chunk only: the second rolled back

    with django_capture_on_commit_callbacks(execute=True):  # the rollup job runs after each commit
        result = run(world, activities())

    assert (result.created, result.unchanged, result.committed) == (6, 4, 10)
    assert stored() == [f"ev-{n}" for n in range(1, ROWS + 1)]  # every event once
    with unscoped():
        assert Event.objects.count() == ROWS
    cells = rollup_cells(workspace_id=world.workspace.pk)
    logins = sum(v for (_, _, metric), v in cells.items() if metric == "events.portal_login")
    assert logins == ROWS
    rollups_rebuild(workspace_id=world.workspace.pk)
    assert rollup_cells(workspace_id=world.workspace.pk) == cells  # the increments equal a rebuild


def test_a_bad_row_anywhere_writes_nothing(world):
    result = run(world, activities(bad_line=ROWS + 1))  # the very last row

    assert result.refused and result.committed == 0 and result.created == 0
    assert [str(e) for e in result.errors] == [
        f"line {ROWS + 1}, column type: Unknown event type 'telepathy'. "
        + result.errors[0].message.split(". ", 1)[1]
    ]
    assert stored() == []


def test_rows_that_turn_bad_during_the_write_stop_it_with_the_committed_rows_reported(world):
    def rename(stage: str, done: int) -> None:
        if stage == "import" and len(stored()) >= 4:  # partner B-1 changes its external id meanwhile
            with unscoped():
                Partner.objects.filter(external_id="B-1").update(external_id="B-2")

    result = run(world, activities(), rename)

    assert result.interrupted and not result.refused
    assert (result.created, result.committed) == (4, 4)
    messages = [str(e) for e in result.errors]
    assert "line 7, column partner_external_id: No partner with external id 'B-1'." in messages
    assert messages[-1].startswith("line 7: The import stopped at line 7: 4 row(s) before it were imported.")
    assert stored() == [f"ev-{n}" for n in range(1, 5)]
