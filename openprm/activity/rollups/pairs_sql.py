"""The rebuild's pairing in SQL (PostgreSQL): the same intervals as ``pairing.pair`` over ``pairs._items``,
computed by the database with window functions over the events of the paired types and written with one
``INSERT … SELECT`` (the intervals into ``PairedInterval``, their figures per partner and day into the
rebuild's temporary table) — no event leaves the database.

Without explicit replies (``in_reply_to``) the rules of ``pairing`` come down to runs:

* **Messages** (a direction, given or implied by the type; not a ticket or deliverable type), in the
  order of ``pairing.pair`` — (time, type, direction, ref, event id), text compared by code point
  (``COLLATE "C"``) — form one conversation per thread id, and one per partner of those without a thread,
  split where more than ``CONVERSATION_GAP`` passed since the previous one. Inside a conversation the
  messages fall into runs of one direction; each run's first message answers the previous run's first
  message if it comes within ``MAX_REPLY_GAP`` (thread) or ``REPLY_WINDOW`` (no thread) of it.
* **Tickets**: per ref, an item that is not an opening closes the ticket when the item before it is an
  opening, from the first opening of that run (the items are grouped by how many closing items came
  before them: a group is openings, then at most one other item).
* **Deliverables**: per ref, the first due item to the first other one.

Partners with an explicit reply (a non-empty ``in_reply_to``) or an item whose ref the database cannot
tell (``pairs._ref_sql`` is NULL) are left to Python (``python_partners``; the rebuild pairs them with
``pairs.rebuild_pairs``). The property test ``test_rollups_pairs_sql`` compares both ways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from openprm.activity import pairing
from openprm.activity.catalog import EventKind
from openprm.activity.models import Event, PairedInterval
from openprm.activity.rollups import columns
from openprm.activity.rollups.pairs import _json_text, _ref_sql, paired_types

OPENED, DUE = "support_ticket_opened", "campaign_deliverable_due"


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


def python_partners(workspace_id: int, kinds: Mapping[str, EventKind]) -> list[int]:
    """The partners whose pairing stays in Python: an event of the paired types with a non-empty
    ``in_reply_to``, or of a type paired by ref whose ref the database cannot tell."""
    types, with_ref = paired_types(kinds)
    query = (
        f"SELECT DISTINCT partner_id FROM {connection.ops.quote_name(Event._meta.db_table)} "  # noqa: S608
        f"WHERE workspace_id = %s AND type IN ({_marks(types)}) AND ({_json_text('in_reply_to')} <> '' "
        f"OR (type IN ({_marks(with_ref)}) AND ({_ref_sql()}) IS NULL)) ORDER BY partner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [workspace_id, *types, *with_ref])
        return [partner_id for (partner_id,) in cursor.fetchall()]


def _items_sql(
    workspace_id: int, kinds: Mapping[str, EventKind], types: Sequence[str], skip: Sequence[int]
) -> tuple[str, list[Any]]:
    """The events of these types of the workspace, but of the ``skip`` partners, as items: partner_id,
    type, at, dir (given, else implied by the type), ref (of the types paired by ref; else ''),
    thread ('' without), event_id."""
    implied = [(k, kind.direction) for k, kind in sorted(kinds.items()) if kind.direction]
    dir_params: list[Any] = [value for pair in implied for value in pair]
    implied_sql = f"CASE type {' '.join('WHEN %s THEN %s' for _ in implied)} ELSE '' END" if implied else "''"
    ref_types = [t for t in types if t.startswith(pairing.REF_PREFIXES)]
    ref = f"CASE WHEN type IN ({_marks(ref_types)}) THEN {_ref_sql()} ELSE '' END" if ref_types else "''"
    query = (
        f"SELECT partner_id, type, occurred_at AS at, "  # noqa: S608
        f"COALESCE(NULLIF(direction, ''), {implied_sql}) AS dir, {ref} AS ref, "
        f"COALESCE({_json_text('thread_id')}, '') AS thread, event_id "
        f"FROM {connection.ops.quote_name(Event._meta.db_table)} "
        f"WHERE workspace_id = %s AND type IN ({_marks(types)}) AND NOT (partner_id = ANY(%s))"
    )
    return query, [*dir_params, *ref_types, workspace_id, *types, list(skip)]


ORDER = 'at, type COLLATE "C", dir COLLATE "C", ref COLLATE "C", event_id COLLATE "C"'
"""The order of ``pairing.pair`` (code point order for text, as Python compares strings)."""

MESSAGE_ORDER = ORDER.replace(' ref COLLATE "C",', "")
"""``ORDER`` for messages, whose ref is always '': the same order, and the sort below the second window
of ``_replies_sql`` is the one below the first (a constant key would not be known as one there)."""


def _replies_sql(
    workspace_id: int, kinds: Mapping[str, EventKind], skip: Sequence[int]
) -> tuple[str, list[Any]]:
    """(partner_id, kind, start, end) of the replies (see the module docstring)."""
    types = [t for t in paired_types(kinds)[0] if not t.startswith(("support_", "campaign_"))]
    if not types:
        return "", []
    items, params = _items_sql(workspace_id, kinds, types, skip)
    silence = int(pairing.CONVERSATION_GAP.total_seconds())
    gap = f"(thread = '' AND at - prev_at > interval '{silence} seconds')"
    window = f"WINDOW w AS (PARTITION BY partner_id, thread ORDER BY {MESSAGE_ORDER})"
    # level 1: each message with the one before it in its thread (or among those without a thread)
    messages = (
        f"SELECT *, lag(at) OVER w AS prev_at, lag(dir) OVER w AS prev_dir FROM ({items}) AS i "  # noqa: S608
        f"WHERE dir IN ('inbound', 'outbound') {window}"
    )
    # level 2: the first message of each run, and whether it opens a conversation
    starts = (
        f"SELECT partner_id, type, at, dir, ref, thread, event_id, prev_at IS NULL OR {gap} AS opens "  # noqa: S608
        f"FROM ({messages}) AS m WHERE prev_at IS NULL OR dir <> prev_dir OR {gap}"
    )
    # level 3: each run's first message with the previous run's first message (the one it answers)
    answers = (
        f"SELECT partner_id, thread, at, opens, lag(at) OVER w AS start_at, lag(dir) OVER w AS start_dir "  # noqa: S608
        f"FROM ({starts}) AS s {window}"
    )
    thread_limit = int(pairing.MAX_REPLY_GAP.total_seconds())
    window_limit = int(pairing.REPLY_WINDOW.total_seconds())
    query = (
        "SELECT partner_id, CASE WHEN start_dir = 'outbound' THEN 'reply.partner' ELSE 'reply.vendor' END "  # noqa: S608
        f"AS kind, start_at, at AS end_at FROM ({answers}) AS a WHERE NOT opens AND at - start_at <= "
        f"CASE WHEN thread = '' THEN interval '{window_limit} seconds' "
        f"ELSE interval '{thread_limit} seconds' END"
    )
    return query, params


def _refs_sql(
    workspace_id: int, kinds: Mapping[str, EventKind], skip: Sequence[int]
) -> tuple[str, list[Any]]:
    """(partner_id, kind, start, end) of the ticket resolutions and the deliverables, from one scan of
    their events (see the module docstring): per partner, family (``ticket``) and ref, a ticket's items
    grouped by how many closing items came before them (``run``; a deliverable's items form one
    group), each group from its first opening (or due) item to its first other one."""
    types = [t for t in paired_types(kinds)[0] if t.startswith(pairing.REF_PREFIXES)]
    items, params = _items_sql(workspace_id, kinds, types, skip)
    ticket = f"starts_with(type, '{pairing.TICKET}')"
    numbered = (
        f"SELECT partner_id, {ticket} AS ticket, ref, type, at, COUNT(*) FILTER (WHERE type <> %s) "  # noqa: S608
        f"OVER (PARTITION BY partner_id, {ticket}, ref ORDER BY {ORDER} ROWS BETWEEN UNBOUNDED PRECEDING "
        f"AND 1 PRECEDING) AS run FROM ({items}) AS i WHERE ref <> ''"
    )
    query = (
        "SELECT partner_id, CASE WHEN ticket THEN 'ticket.resolved' ELSE 'deliverable' END AS kind, "  # noqa: S608
        "MIN(at) FILTER (WHERE type IN (%s, %s)) AS start_at, "
        "MIN(at) FILTER (WHERE type NOT IN (%s, %s)) AS end_at "
        f"FROM ({numbered}) AS t GROUP BY partner_id, ticket, ref, CASE WHEN ticket THEN run END"
    )
    query = f"SELECT * FROM ({query}) AS g WHERE start_at IS NOT NULL AND end_at IS NOT NULL"  # noqa: S608
    return query, [OPENED, DUE, OPENED, DUE, OPENED, *params]


def _figure(column: str) -> str:
    """SQL for one of ``columns.PAIRED_COLUMNS`` over the intervals of a partner and day (0 as NULL)."""
    metric = columns.METRIC_OF[column]
    if metric == "deliverable.on_time":
        return "NULLIF(COUNT(*) FILTER (WHERE kind = 'deliverable' AND seconds <= 0), 0)"
    if metric == "deliverable.late":
        return "NULLIF(COUNT(*) FILTER (WHERE kind = 'deliverable' AND seconds > 0), 0)"
    kind, _, figure = metric.rpartition(".")
    if figure == "count":
        return f"NULLIF(COUNT(*) FILTER (WHERE kind = '{kind}'), 0)"
    if figure == "seconds":
        return f"NULLIF(SUM(seconds) FILTER (WHERE kind = '{kind}'), 0)"
    raise ValueError(f"no paired figure for the column {column!r}")


def insert_pairs(
    workspace_id: int, kinds: Mapping[str, EventKind], *, into: str, skip: Sequence[int] = ()
) -> None:
    """Pair the events of every partner but ``skip`` in one statement: their ``PairedInterval`` rows made
    equal to the intervals found — the intervals and the stored rows are counted per (partner, kind,
    day, seconds), and only where the counts differ are the stored rows deleted and the intervals
    inserted (an insert next to the same keys just deleted costs the index several times a fresh one; a
    rebuild mostly finds the rows it would write) — and the figures of the intervals appended to the
    table ``into`` (see ``pairs.rebuild_pairs``). The rows of the ``skip`` partners are left alone."""
    parts = [
        part
        for part in (
            _replies_sql(workspace_id, kinds, skip),
            _refs_sql(workspace_id, kinds, skip),
        )
        if part[0]
    ]
    found = " UNION ALL ".join(f"({query})" for query, _ in parts)
    params = [value for _, part_params in parts for value in part_params]
    # seconds: truncated toward zero, as ``int(timedelta.total_seconds())``; the day: UTC, of the end
    intervals = (
        "SELECT partner_id, kind, CAST((end_at AT TIME ZONE 'UTC') AS date) AS day, "  # noqa: S608
        "CAST(trunc(EXTRACT(EPOCH FROM end_at) - EXTRACT(EPOCH FROM start_at)) AS bigint) AS seconds "
        f"FROM ({found}) AS f"
    )
    table = connection.ops.quote_name(PairedInterval._meta.db_table)
    key = "partner_id, kind, day, seconds"
    # the intervals and the stored rows counted per key (an interval can occur more than once): hashed,
    # where numbering each among its equals sorted both sides twice
    new = f"SELECT {key}, COUNT(*) AS n FROM intervals GROUP BY {key}"  # noqa: S608
    old = (
        f"SELECT {key}, COUNT(*) AS n FROM {table} "  # noqa: S608
        f"WHERE workspace_id = %s AND NOT (partner_id = ANY(%s)) GROUP BY {key}"
    )
    same = " AND ".join(f"o.{c} = i.{c}" for c in key.split(", "))
    keys = ", ".join(f"COALESCE(i.{c}, o.{c}) AS {c}" for c in key.split(", "))
    stored = " AND ".join(f"t.{c} = d.{c}" for c in key.split(", "))
    figures = ", ".join(_figure(c) for c in columns.PAIRED_COLUMNS)
    # a key counted differently: its stored rows deleted and its intervals inserted (none of the others)
    query = (
        f"WITH intervals AS MATERIALIZED ({intervals}), "  # noqa: S608
        f"diff AS MATERIALIZED (SELECT {keys}, COALESCE(i.n, 0) AS new_n, COALESCE(o.n, 0) AS old_n "
        f"FROM ({new}) AS i FULL JOIN ({old}) AS o ON {same} WHERE i.n IS DISTINCT FROM o.n), "
        f"gone AS (DELETE FROM {table} AS t USING diff AS d WHERE t.workspace_id = %s AND {stored} "
        "AND d.old_n > 0), "
        f"added AS (INSERT INTO {table} (workspace_id, {key}) SELECT %s, {key} FROM diff "
        f"CROSS JOIN generate_series(1, new_n) ORDER BY {key}) "
        f"INSERT INTO {into} (partner_id, day, {', '.join(columns.PAIRED_COLUMNS)}) "
        f"SELECT partner_id, day, {figures} FROM intervals GROUP BY partner_id, day"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, workspace_id, list(skip), workspace_id, workspace_id])


def delete_intervals(workspace_id: int, partner_ids: Sequence[int]) -> None:
    """Delete the ``PairedInterval`` rows of these partners (the rebuild's Python path appends theirs)."""
    if not partner_ids:
        return
    table = connection.ops.quote_name(PairedInterval._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE workspace_id = %s AND partner_id = ANY(%s)",  # noqa: S608
            [workspace_id, list(partner_ids)],
        )
