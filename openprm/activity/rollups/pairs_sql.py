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


ITEMS = "items"
"""The pairing statement's materialized items (see ``_items_sql``), which every part reads."""

DIRECTIONS = ("inbound", "outbound")
"""The directions of messages as ``dn`` numbers (0, 1): in code point order, as ``pairing.pair`` sorts."""


def _codes(types: Sequence[str]) -> dict[str, int]:
    """Each paired type's number (``tn``): its place in code point order (``paired_types`` sorts them), so
    that ordering by the number orders by the type as ``pairing.pair`` does, comparing small integers."""
    return {type_key: i for i, type_key in enumerate(sorted(types))}


def _numbers(types: Sequence[str], codes: Mapping[str, int]) -> str:
    return ", ".join(str(codes[t]) for t in types) or "NULL"


def _items_sql(workspace_id: int, kinds: Mapping[str, EventKind]) -> tuple[str, list[Any]]:
    """The workspace's events of the paired types as items, from one scan: partner_id, ``tn`` (the type's
    number, ``_codes``), at, ``dn`` (the direction, given, else implied by the type: its number in
    ``DIRECTIONS``, NULL for none), thread (of messages; '' without), ref (of the types paired by ref;
    else ''), both compared by code point, and ``python``: whether the event leaves its partner to
    Python (a non-empty ``in_reply_to``, or a ref the database cannot tell: ``pairs._ref_sql``).
    Nothing else, and numbers where text is not needed: the parts sort millions of items. An event's id
    only breaks ties between items that are interchangeable here (same time, type and direction;
    without explicit replies, which Python pairs, no rule reads the id)."""
    types, ref_types = paired_types(kinds)
    codes = _codes(types)
    implied = [(k, kind.direction) for k, kind in sorted(kinds.items()) if kind.direction]
    implied_sql = f"CASE type {' '.join('WHEN %s THEN %s' for _ in implied)} ELSE '' END" if implied else "''"
    directions = " ".join(f"WHEN '{d}' THEN {i}" for i, d in enumerate(DIRECTIONS))
    by_ref = f"type IN ({_marks(ref_types)})" if ref_types else "FALSE"
    query = (
        f"SELECT partner_id, CASE type {' '.join('WHEN %s THEN %s' for _ in types)} END AS tn, "  # noqa: S608
        f"occurred_at AS at, CASE COALESCE(NULLIF(direction, ''), {implied_sql}) {directions} END AS dn, "
        f"(CASE WHEN {by_ref} THEN '' ELSE COALESCE({_json_text('thread_id')}, '') END) "
        f'COLLATE "C" AS thread, (CASE WHEN {by_ref} THEN {_ref_sql()} ELSE \'\' END) COLLATE "C" AS ref, '
        f"COALESCE({_json_text('in_reply_to')}, '') <> '' OR ({by_ref} AND ({_ref_sql()}) IS NULL) AS python "
        f"FROM {connection.ops.quote_name(Event._meta.db_table)} "
        f"WHERE workspace_id = %s AND type IN ({_marks(types)})"
    )
    params: list[Any] = [value for t in types for value in (t, codes[t])]
    params += [value for pair in implied for value in pair]
    return query, [*params, *ref_types, *ref_types, *ref_types, workspace_id, *types]


MESSAGE_ORDER = "at, tn, dn"
"""The order of ``pairing.pair`` for messages (time, then type and direction in code point order, as
Python compares strings: their numbers, ``_codes`` and ``DIRECTIONS``): their ref is always '', and
messages of the same time, type and direction are interchangeable."""

REF_ORDER = "at, tn"
"""The order of ``pairing.pair`` for the items paired by ref, within a ref: neither a ticket's nor a
deliverable's rule reads the direction, and items of the same time and type are interchangeable."""


def _replies_sql(kinds: Mapping[str, EventKind]) -> tuple[str, list[Any]]:
    """(partner_id, kind, start, end) of the replies among the ``ITEMS`` (see the module docstring). Each
    level carries only what the next reads (numbers but the thread): the sort of the messages is the
    statement's largest, and a narrow row keeps it in memory."""
    all_types = paired_types(kinds)[0]
    types = [t for t in all_types if not t.startswith(("support_", "campaign_"))]
    if not types:
        return "", []
    codes = _codes(all_types)
    silence = int(pairing.CONVERSATION_GAP.total_seconds())
    gap = f"(thread = '' AND at - prev_at > interval '{silence} seconds')"
    window = f"WINDOW w AS (PARTITION BY partner_id, thread ORDER BY {MESSAGE_ORDER})"
    # level 1: each message with the one before it in its thread (or among those without a thread)
    messages = (
        "SELECT partner_id, thread, at, tn, dn, lag(at) OVER w AS prev_at, lag(dn) OVER w AS prev_dn "  # noqa: S608
        f"FROM {ITEMS} WHERE dn IS NOT NULL AND tn IN ({_numbers(types, codes)}) {window}"
    )
    # level 2: the first message of each run, and whether it opens a conversation
    starts = (
        f"SELECT partner_id, thread, at, tn, dn, prev_at IS NULL OR {gap} AS opens "  # noqa: S608
        f"FROM ({messages}) AS m WHERE prev_at IS NULL OR dn <> prev_dn OR {gap}"
    )
    # level 3: each run's first message with the previous run's first message (the one it answers)
    answers = (
        f"SELECT partner_id, thread, at, opens, lag(at) OVER w AS start_at, lag(dn) OVER w AS start_dn "  # noqa: S608
        f"FROM ({starts}) AS s {window}"
    )
    thread_limit = int(pairing.MAX_REPLY_GAP.total_seconds())
    window_limit = int(pairing.REPLY_WINDOW.total_seconds())
    outbound = DIRECTIONS.index("outbound")
    query = (
        f"SELECT partner_id, CASE WHEN start_dn = {outbound} THEN 'reply.partner' ELSE 'reply.vendor' END "  # noqa: S608
        f"AS kind, start_at, at AS end_at FROM ({answers}) AS a WHERE NOT opens AND at - start_at <= "
        f"CASE WHEN thread = '' THEN interval '{window_limit} seconds' "
        f"ELSE interval '{thread_limit} seconds' END"
    )
    return query, []


def _refs_sql(kinds: Mapping[str, EventKind]) -> tuple[str, list[Any]]:
    """(partner_id, kind, start, end) of the ticket resolutions and the deliverables among the ``ITEMS``
    (see the module docstring): per partner, family (``ticket``) and ref, a ticket's items grouped by
    how many closing items came before them (``run``; a deliverable's items form one group), each
    group from its first opening (or due) item to its first other one."""
    all_types = paired_types(kinds)[0]
    types = [t for t in all_types if t.startswith(pairing.REF_PREFIXES)]
    if not types:
        return "", []
    codes = _codes(all_types)
    tickets = [t for t in types if t.startswith(pairing.TICKET)]
    ticket = f"tn IN ({_numbers(tickets, codes)})"
    firsts = _numbers([t for t in (OPENED, DUE) if t in codes], codes)
    numbered = (
        f"SELECT partner_id, {ticket} AS ticket, ref, tn, at, COUNT(*) FILTER (WHERE tn IS DISTINCT FROM "  # noqa: S608
        f"{codes.get(OPENED, 'NULL')}) OVER (PARTITION BY partner_id, {ticket}, ref ORDER BY {REF_ORDER} "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS run FROM {ITEMS} "
        f"WHERE tn IN ({_numbers(types, codes)}) AND ref <> ''"
    )
    query = (
        "SELECT partner_id, CASE WHEN ticket THEN 'ticket.resolved' ELSE 'deliverable' END AS kind, "  # noqa: S608
        f"MIN(at) FILTER (WHERE tn IN ({firsts})) AS start_at, "
        f"MIN(at) FILTER (WHERE tn NOT IN ({firsts})) AS end_at "
        f"FROM ({numbered}) AS t GROUP BY partner_id, ticket, ref, CASE WHEN ticket THEN run END"
    )
    query = f"SELECT * FROM ({query}) AS g WHERE start_at IS NOT NULL AND end_at IS NOT NULL"  # noqa: S608
    return query, []


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


def insert_pairs(workspace_id: int, kinds: Mapping[str, EventKind], *, into: str) -> list[int]:
    """Pair the events of the workspace in one statement, from one scan of them (``_items_sql``), and
    answer the partners left to Python (an explicit reply or a ref the database cannot tell; the
    rebuild pairs them with ``pairs.rebuild_pairs``), whose rows it leaves alone. For every other
    partner: its ``PairedInterval`` rows made equal to the intervals found — only a partner whose
    intervals differ from its stored rows (by a count and a sum of hashes) has its stored rows deleted
    and its intervals inserted (an insert next to the same keys just deleted costs the index several
    times a fresh one; a rebuild mostly finds the rows it would write) — and the figures of the
    intervals appended to the table ``into`` (see ``pairs.rebuild_pairs``)."""
    items, params = _items_sql(workspace_id, kinds)
    parts = [part for part in (_replies_sql(kinds), _refs_sql(kinds)) if part[0]]
    if not parts:
        return []
    found = " UNION ALL ".join(f"({query})" for query, _ in parts)
    params += [value for _, part_params in parts for value in part_params]
    kept = "SELECT 1 FROM left_out AS p WHERE p.partner_id = {}.partner_id"  # of a partner Python pairs
    # seconds: truncated toward zero, as ``int(timedelta.total_seconds())``; the day: UTC, of the end
    intervals = (
        "SELECT partner_id, kind, CAST((end_at AT TIME ZONE 'UTC') AS date) AS day, "  # noqa: S608
        "CAST(trunc(EXTRACT(EPOCH FROM end_at) - EXTRACT(EPOCH FROM start_at)) AS bigint) AS seconds "
        f"FROM ({found}) AS f WHERE NOT EXISTS ({kept.format('f')})"
    )
    table = connection.ops.quote_name(PairedInterval._meta.db_table)
    key = "partner_id, kind, day, seconds"
    # each partner's intervals and stored rows summed up: how many, and the sum of a 64-bit hash of each
    # (kind, day, seconds) — equal multisets give equal sums; 2,000 partners' sums, where comparing each
    # interval with its stored row hashed a million rows on either side
    hashed = "hashint8extended(seconds, hashtextextended(kind, day - DATE '2000-01-01'))"
    new = f"SELECT partner_id, COUNT(*) AS n, SUM({hashed}) AS h FROM intervals GROUP BY partner_id"  # noqa: S608
    old = (
        f"SELECT partner_id, COUNT(*) AS n, SUM({hashed}) AS h FROM {table} AS t "  # noqa: S608
        f"WHERE workspace_id = %s AND NOT EXISTS ({kept.format('t')}) "
        "GROUP BY partner_id"
    )
    figures = ", ".join(_figure(c) for c in columns.PAIRED_COLUMNS)
    query = (
        f"WITH {ITEMS} AS MATERIALIZED ({items}), "  # noqa: S608
        f"left_out AS MATERIALIZED (SELECT DISTINCT partner_id FROM {ITEMS} WHERE python), "
        f"intervals AS MATERIALIZED ({intervals}), "
        "diff AS MATERIALIZED (SELECT COALESCE(i.partner_id, o.partner_id) AS partner_id, "
        f"o.partner_id IS NOT NULL AS stored FROM ({new}) AS i FULL JOIN ({old}) AS o "
        "ON o.partner_id = i.partner_id WHERE (i.n, i.h) IS DISTINCT FROM (o.n, o.h)), "
        f"gone AS (DELETE FROM {table} AS t WHERE t.workspace_id = %s AND t.partner_id IN "
        "(SELECT partner_id FROM diff WHERE stored)), "
        f"added AS (INSERT INTO {table} (workspace_id, {key}) SELECT %s, {key} FROM intervals "
        f"WHERE partner_id IN (SELECT partner_id FROM diff) ORDER BY {key}), "
        f"figures AS (INSERT INTO {into} (partner_id, day, {', '.join(columns.PAIRED_COLUMNS)}) "
        f"SELECT partner_id, day, {figures} FROM intervals GROUP BY partner_id, day) "
        "SELECT partner_id FROM left_out ORDER BY partner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, workspace_id, workspace_id, workspace_id])
        return [partner_id for (partner_id,) in cursor.fetchall()]


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
