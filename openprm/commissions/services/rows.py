"""The ledger row layout of the accrual's bulk writes: ``[id, *COLUMNS]`` lists (plain, no ORM objects),
their JSON columns encoded once per value, and whether a write left the planner's statistics behind."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from openprm.commissions.models import LedgerEntry
from openprm.core.bulk import ANALYZE_MIN_ROWS

COLUMNS = (
    "public_id",
    "workspace_id",
    "partner_id",
    "kind",
    "state",
    "source_kind",
    "source_id",
    "source_event",
    "idempotency_key",
    "plan_id",
    "plan_version_id",
    "rule_key",
    "occurred_at",
    "period",
    "base_amount",
    "base_currency",
    "fx_rate",
    "fx_date",
    "amount",
    "currency",
    "rate",
    "caps",
    "explanation",
    "hold_until",
    "reverses_id",
    "derived_from_id",
    "note",
    "created_at",
    "approved_at",
)
POS = {name: i + 1 for i, name in enumerate(COLUMNS)}  # + 1: the id comes first


def row(**values: Any) -> list[Any]:
    out: list[Any] = [None] * (len(COLUMNS) + 1)
    for name, value in values.items():
        out[POS[name]] = value
    return out


JSON_COLUMNS = ("caps", "explanation")
_JSON_AT = tuple(POS[name] for name in JSON_COLUMNS)


class Json(str):
    """A JSON column's value already encoded (the text the driver sends): the accrual encodes an event's
    explanation as soon as it is complete, so a batch's rows hold text, not trees of dicts and lists."""

    __slots__ = ()


EMPTY_LIST = Json("[]")


def as_json(value: Any) -> Json:
    return Json(json.dumps(value)) if value != [] else EMPTY_LIST


def encode_json(rows: list[list[Any]]) -> None:
    """The JSON columns of ``rows`` as text, in place (what the driver would send); values already
    :class:`Json` are kept, any other is encoded once (the rows of one event share its explanation)."""
    done: dict[int, Json] = {}
    for r in rows:
        for at in _JSON_AT:
            value = r[at]
            if value is None or type(value) is Json:
                continue
            text = done.get(id(value))
            if text is None:
                text = done[id(value)] = as_json(value)
            r[at] = text


def statistics_behind(rows: list[list[Any]]) -> bool:
    """Whether PostgreSQL's planner believes a workspace of ``rows`` has fewer ledger rows than this write
    alone added: statistics gathered before the workspace's ledger was there (its first large accrual, a
    new workspace in a large table). The next reads of the ledger in the same transaction (evaluated keys,
    period state) would be planned as if it were empty, e.g. a nested loop scanning it once per key.
    Statistics that already count the workspace's ledger stay: the estimate grows with the table's size,
    and a full ANALYZE after every month of a long accrual cost more than the month's writes."""
    if connection.vendor != "postgresql" or len(rows) < ANALYZE_MIN_ROWS:
        return False
    written: dict[int, int] = {}
    for r in rows:
        written[r[POS["workspace_id"]]] = written.get(r[POS["workspace_id"]], 0) + 1
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    with connection.cursor() as cursor:
        for workspace_id, count in written.items():
            cursor.execute(
                f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table} WHERE workspace_id = %s",  # noqa: S608
                [workspace_id],
            )
            plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            if plan[0]["Plan"]["Plan Rows"] < count:
                return True
    return False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused: a batch's evaluation and write allocate a few objects per row
    and no cycles, and the collector's passes over the growing heap (every object of the batch, again and
    again as they age) found nothing and took a third of a large accrual. Memory is still freed as usual
    (reference counting); the collector runs again afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
