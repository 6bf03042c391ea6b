"""What every deal read needs to know of the workspace (its reporting currency and pipeline stages, in
one query), how summed amounts are read back as cents on either database, and the pure helpers of the
reads (a histogram's median, the periods of a series)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.db import connection

from openprm.core.models import Workspace
from openprm.deals.models import PipelineStage

CENT = Decimal("0.01")
PROBABILITY = Decimal("0.0001")  # PipelineStage.win_probability's places
Grain = Literal["month", "week", "day"]
Value = Decimal | int | float | None


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: Any) -> str:
    return _quote(model._meta.db_table)


def _cents(value: Any) -> Decimal:
    """A summed amount: exact on PostgreSQL; SQLite sums decimals as floats, rounded back to cents."""
    return Decimal(value or 0).quantize(CENT, ROUND_HALF_UP)


ZERO_CENTS = Decimal("0.00")


def _summed_cents(value: Any) -> Decimal:
    """:func:`_cents` of a PostgreSQL sum of ``numeric(20, 2)`` (already exact, with two places)."""
    return ZERO_CENTS if value is None else value


def _cents_reader() -> Any:
    return _summed_cents if connection.vendor == "postgresql" else _cents


def _converters(columns: list[str]) -> list[Any]:
    """How to read each summed column back: amounts (``*.amount``) as cents, the rest as counts."""
    cents = _cents_reader()
    return [cents if name.endswith(".amount") else _count for name in columns]


def _count(value: Any) -> int:
    return int(value or 0)


@dataclasses.dataclass(frozen=True)
class _Stage:
    key: str
    outcome: str
    probability: Decimal


@dataclasses.dataclass(frozen=True)
class _Workspace:
    """What every read needs to know of the workspace: its reporting currency and pipeline stages."""

    currency: str
    stages: dict[int, _Stage]


def _workspace(workspace_id: int) -> _Workspace:
    """The reporting currency and the stages, in one query."""
    query = (
        f"SELECT w.currency, s.id, s.{_quote('key')}, s.outcome, s.win_probability "  # noqa: S608
        f"FROM {_table(Workspace)} w LEFT JOIN {_table(PipelineStage)} s ON s.workspace_id = w.id "
        "WHERE w.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [workspace_id])
        rows = cursor.fetchall()
    if not rows:
        raise Workspace.DoesNotExist(workspace_id)
    stages = {
        pk: _Stage(key, outcome, _probability(probability))
        for _, pk, key, outcome, probability in rows
        if pk is not None
    }
    return _Workspace(str(rows[0][0]), stages)


def _probability(value: Any) -> Decimal:
    """A win probability as the ORM reads it (SQLite hands back a float: through its shortest repr)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(PROBABILITY)


def histogram_median(histogram: Mapping[int, int]) -> float | None:
    """The median of the values a histogram (value → how many) describes, as ``statistics.median``."""
    count = sum(histogram.values())
    if not count:
        return None
    ordered = sorted(histogram.items())

    def nth(index: int) -> int:
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        raise IndexError(index)

    if count % 2:
        return float(nth(count // 2))
    return (nth(count // 2 - 1) + nth(count // 2)) / 2


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def periods(
    start: datetime.date, end: datetime.date, grain: Grain
) -> list[tuple[datetime.date, datetime.date]]:
    """The periods of ``grain`` covering ``start``..``end`` (weeks start on Monday), each clipped to it."""
    result: list[tuple[datetime.date, datetime.date]] = []
    day = start
    while day <= end:
        if grain == "day":
            following = day + datetime.timedelta(days=1)
        elif grain == "week":
            following = day + datetime.timedelta(days=7 - day.weekday())
        else:
            following = _next_month(day)
        result.append((day, min(end, following - datetime.timedelta(days=1))))
        day = following
    return result


def stocks(
    context: _Workspace,
    rows: Iterable[tuple[int, int, int, Decimal, int]],
    at: datetime.date,
    names: set[str],
) -> tuple[dict[int, dict[str, Value]], Decimal]:
    """The stocks of each partner at the end of ``at`` from its (partner, stage, deals, amount,
    registration days) rows, and the weighted pipeline of them all (rounded once, on the total)."""
    by_stage = {  # (count name, amount name, open, win probability) of each stage
        pk: (
            f"pipeline.stage.{stage.key}.count",
            f"pipeline.stage.{stage.key}.amount",
            stage.outcome == "open",
            stage.probability,
        )
        for pk, stage in context.stages.items()
    }
    raw: dict[int, dict[str, Any]] = {}
    today = at.toordinal()
    weighted_total = Decimal(0)
    # Every stage is read: a partner with deals only in closed stages still answers (weighted 0.00).
    for partner_id, stage_id, count, amount, reg_days in rows:
        stage = by_stage.get(stage_id)
        if stage is None:
            continue
        count_name, amount_name, is_open, probability = stage
        entry = raw.get(partner_id)
        if entry is None:
            entry = raw[partner_id] = {}
        if count_name in names:
            entry[count_name] = entry.get(count_name, 0) + count
        if amount_name in names:
            entry[amount_name] = entry.get(amount_name, 0) + amount
        if is_open:
            weighted = amount * probability
            weighted_total += weighted
            entry["pipeline.open"] = entry.get("pipeline.open", 0) + count
            entry["pipeline.open.amount"] = entry.get("pipeline.open.amount", Decimal(0)) + amount
            entry["weighted"] = entry.get("weighted", 0) + weighted
            entry["pipeline.open.age_days"] = (
                entry.get("pipeline.open.age_days", 0) + count * today - reg_days
            )
    out: dict[int, dict[str, Value]] = {}
    for partner_id, entry in raw.items():
        values: dict[str, Value] = {k: v for k, v in entry.items() if k in names}
        if "pipeline.open.weighted" in names:
            values["pipeline.open.weighted"] = Decimal(entry.get("weighted", 0)).quantize(CENT, ROUND_HALF_UP)
        out[partner_id] = values
    return out, weighted_total.quantize(CENT, ROUND_HALF_UP)
