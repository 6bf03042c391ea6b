"""Deal rollups: what deals add up to per partner, currency and UTC day (flows: ``DealDayRollup``), what
sits in each pipeline stage at a day (stocks: ``DealStageRollup``) and the days-to-close histogram
(``DealCloseDays``); read by the metric engine and the deal pages through :mod:`.read` and
:mod:`.summary` only.

Exact by construction: ``contributions.contributions`` says what one deal adds, from its state and
stage history; every deal write runs inside :func:`deals_tracked`, which applies what the deals it
touched add after the write minus what they added before, in the write's transaction;
:func:`rollups_rebuild` (``prm deals rollups-rebuild``) sums the contributions of every deal. The tests
check that increments equal a rebuild after random sequences of writes.

Modules: ``contributions`` (pure), ``store`` (reading deal states, writing rows), ``read`` (the reads),
``summary`` (the deal summary of the pages, on ``read``'s helpers).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction

from openprm.core.tasks import enqueue_after_commit
from openprm.deals.models import DealCloseDays, DealDayRollup, DealStageRollup
from openprm.deals.rollups.contributions import Contributions, DealState, delta
from openprm.deals.rollups.contributions import contributions as deal_contributions
from openprm.deals.rollups.store import (
    apply,
    clear,
    deal_states,
    insert,
    lock,
    partner_deal_states,
    stage_outcomes,
    table_rows,
)

__all__ = [
    "ROLLUP_MODELS",
    "Contributions",
    "DealState",
    "deal_contributions",
    "deals_tracked",
    "rollup_rows",
    "rollups_rebuild",
]


ROLLUP_MODELS = (DealDayRollup, DealStageRollup, DealCloseDays)
_tracking: ContextVar[tuple[int, set[int]] | None] = ContextVar("deal_rollups_tracking", default=None)


COMMISSIONS_JOB = "openprm.commissions.tasks.accrue_recent"  # a higher layer: named, not imported
COMMISSIONS_COALESCE = 5.0  # seconds: a burst of deal writes makes one accrual run (it takes all changes)


@contextmanager
def deals_tracked(workspace_id: int, deal_ids: Collection[int] = ()) -> Iterator[set[int]]:
    """Keep the rollups exact across a write of these deals: yields the set of tracked deal ids, to
    which the write adds the deals it creates. Must run inside the write's transaction; the deals' rows
    are locked from the start (PostgreSQL). Inside another tracked write that already tracks the same
    deals (a registration adding its co-sellers), it leaves the accounting to that one."""
    assert connection.in_atomic_block, "deals_tracked runs inside the write's transaction"
    ids = set(deal_ids)
    outer = _tracking.get()
    if outer is not None and outer[0] == workspace_id and ids <= outer[1]:
        yield outer[1]
        return
    before = deal_states(workspace_id, ids, for_update=True)
    token = _tracking.set((workspace_id, ids))
    try:
        yield ids
    finally:
        _tracking.reset(token)
    after = deal_states(workspace_id, ids)
    apply(workspace_id, delta(before.values(), after.values(), stage_outcomes(workspace_id)))
    if ids:  # commissions accrue (or reverse) what the write changed, after the commit
        enqueue_after_commit(COMMISSIONS_JOB, workspace_id=workspace_id, coalesce=COMMISSIONS_COALESCE)


def rollups_rebuild(*, workspace_id: int) -> int:
    """Recompute the workspace's deal rollups from its deals, in one transaction (a block of partners at
    a time: bounded memory); returns the rows written. VACUUM ANALYZEs the tables on PostgreSQL (outside
    a transaction; ANALYZE is left to the caller's bulk write otherwise)."""
    outermost = not connection.in_atomic_block
    written = 0
    with transaction.atomic():
        lock(workspace_id, exclusive=True)
        clear(workspace_id)
        outcomes = stage_outcomes(workspace_id)
        elsewhere = Contributions()  # co-sold wins credited to partners outside their deal's block
        for block, states in partner_deal_states(workspace_id):
            change = Contributions()
            for state in states:
                deal_contributions(state, outcomes, change)
            for cell in [cell for cell in change.flows if cell[0] not in block]:
                value = change.flows.pop(cell)
                elsewhere.flows[cell] = elsewhere.flows.get(cell, 0) + value
            written += insert(workspace_id, change)
        apply(workspace_id, elsewhere)
    if outermost and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in ROLLUP_MODELS:  # VACUUM too: the rows a rebuild replaced are dead weight for scans
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return written


def rollup_rows(*, workspace_id: int) -> dict[str, dict[tuple[object, ...], tuple[object, ...]]]:
    """Every row of the workspace's deal rollups, by table (the tests compare increments with a rebuild)."""
    return table_rows(workspace_id)  # type: ignore[return-value]
