"""Per-partner daily rollups: ``PartnerDay``, one row per (workspace, partner, UTC day) with the metrics
in columns (``columns`` maps metric names to them; the workspace's own event types go in its ``extra``
JSON). Everything reads them through ``read`` — sums per partner, month or day, stocks, last days,
gauge ends, interval medians — and nothing else.

Every write that feeds a metric gets its delta counted exactly once: a stored event batch or click queues
a ``RollupPending`` row that the job worker folds in (``rollups_fold``: the deltas of many batches summed
together, one upsert per cell), a conversion adds its delta in its own transaction (``rollups_add``).
Metrics that pair events with each other — reply times, ticket resolution times, on-time campaign
deliveries — depend on the order of events, not just on their sum, so events that pair mark their
partners *dirty* from the earliest day they touched and ``rollups_refresh_pairs`` (run by the job worker
right after the fold) recomputes them from there; other events leave the paired metrics alone.
``rollups_rebuild`` recomputes everything from the raw rows, the database doing the summing (one grouped
statement; on PostgreSQL it writes only the rows that differ from the stored ones); it gives the same
table as the increments.

``PartnerMonth`` holds the same columns (not ``extra``) per partner and calendar month, re-aggregated from
the days by every writer of ``PartnerDay`` (``months``: never by deltas, so a month equals its days);
``read.sums`` over whole months reads them plus the edge days instead of every day.

Metric names (days are UTC):

* ``events.<type>`` — number of events of the type; ``value.<type>`` — sum of their values;
  ``events.*`` — every event, whatever its type;
* ``contact``, ``contact.inbound``, ``contact.outbound`` — communication events (``catalog`` ``contact``);
* ``content.reach`` / ``content.impressions`` / ``content.engagements`` — sums over content posts;
  ``content.followers`` — the largest audience reported that day (a gauge: max, not sum);
* ``clicks``; ``conversions.<kind>`` and ``conversions.<kind>.amount`` (accepted conversions only);
* paired: ``reply.partner.count`` / ``.seconds`` (the partner answering us), ``reply.vendor.*`` (us
  answering the partner; paired within a conversation, see ``pairing``), ``ticket.resolved.count`` /
  ``.seconds``, ``deliverable.on_time`` / ``deliverable.late`` — on the day the pair completed; the
  individual intervals are kept in ``PairedInterval`` for exact medians;
* survey figures (NPS, satisfaction) from ``survey_response`` events with a value (a 0–10 score):
  ``survey.responses`` (their number), ``survey.score`` (the sum of their scores), ``survey.promoters``
  (scores of 9 or more), ``survey.detractors`` (6 or less).

Modules: ``deltas`` (what a row adds: pure), ``columns`` (metric names ↔ columns), ``store`` (raw reads,
row upserts, the lock, the fill state), ``fold`` (the queue and its fold), ``pairs`` (paired metrics),
``pairs_sql`` (the rebuild's pairing in SQL), ``rebuild``, ``rebuild_sql`` and ``rebuild_pg`` (its
statements), ``months`` (the monthly level), ``read`` (every read). The package sits below the task layer:
``activity.tasks`` imports it, never the other way round.
"""

from __future__ import annotations

from openprm.activity.rollups.deltas import (
    GAUGES,
    PAIRED_TYPES,
    Cell,
    Counts,
    Sums,
    click_deltas,
    conversion_deltas,
    day_deltas,
    event_deltas,
    workspace_kinds,
)
from openprm.activity.rollups.fold import (
    FOLD_BATCHES,
    FOLD_DELAY,
    FOLD_EVENTS,
    FOLD_JOB,
    rollups_fold,
    rollups_fold_soon,
    rollups_queue,
    rollups_queue_state,
    rollups_workspaces_behind,
)
from openprm.activity.rollups.pairs import rollups_refresh_pairs
from openprm.activity.rollups.rebuild import rollup_cells, rollups_rebuild
from openprm.activity.rollups.store import rollups_add, rollups_filled

__all__ = [
    "FOLD_BATCHES",
    "FOLD_DELAY",
    "FOLD_EVENTS",
    "FOLD_JOB",
    "GAUGES",
    "PAIRED_TYPES",
    "Cell",
    "Counts",
    "Sums",
    "click_deltas",
    "conversion_deltas",
    "day_deltas",
    "event_deltas",
    "rollup_cells",
    "rollups_add",
    "rollups_filled",
    "rollups_fold",
    "rollups_fold_soon",
    "rollups_queue",
    "rollups_queue_state",
    "rollups_rebuild",
    "rollups_refresh_pairs",
    "rollups_workspaces_behind",
    "workspace_kinds",
]
