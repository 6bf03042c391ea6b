"""Reading deals as ``DealState`` and writing contributions into the rollup tables: additive upserts for
the increments (every level: day, month, since ever), plain inserts for a rebuild; the lock a rebuild
takes exclusively."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterator
from typing import Any

from django.db import connection, models

from openprm.core.scoping import unscoped
from openprm.deals.models import (
    ROLLUP_EVER,
    Deal,
    DealCloseDays,
    DealCoSeller,
    DealDayRollup,
    DealStageChange,
    DealStageRollup,
    PipelineStage,
    RollupGrain,
)
from openprm.deals.rollups.contributions import (
    FLOW_COLUMNS,
    STAGE_COLUMNS,
    Contributions,
    DealState,
    Number,
)

_STATE_FIELDS = (
    "id",
    "partner_id",
    "currency",
    "amount",
    "source",
    "approval_status",
    "registered_at",
    "closed_at",
    "stage_id",
    "stage_changed_at",
)
_LOCK_NAMESPACE = 7302  # PostgreSQL advisory locks: (namespace, workspace id); 7301 is the event rollups'


def stage_outcomes(workspace_id: int) -> dict[int, str]:
    with unscoped():
        return dict(PipelineStage.objects.filter(workspace_id=workspace_id).values_list("pk", "outcome"))


def deal_states(
    workspace_id: int, deal_ids: Collection[int], *, for_update: bool = False
) -> dict[int, DealState]:
    """The deals (of the workspace) with these ids as the rollups see them; ``for_update`` locks their
    rows until the transaction ends, so two writers of one deal apply their deltas one after the other."""
    if not deal_ids:
        return {}
    ids = sorted(deal_ids)
    with unscoped():
        deals = Deal.objects.filter(workspace_id=workspace_id, pk__in=ids).order_by("pk")
        if for_update and connection.features.has_select_for_update:
            deals = deals.select_for_update(of=("self",))
        rows = list(deals.values_list(*_STATE_FIELDS))
        history: dict[int, list[tuple[int, datetime.datetime]]] = {}
        changes = (
            DealStageChange.objects.filter(deal_id__in=ids)
            .order_by("deal_id", "changed_at", "pk")
            .values_list("deal_id", "to_stage_id", "changed_at")
        )
        for deal_id, stage_id, changed_at in changes:
            history.setdefault(deal_id, []).append((stage_id, changed_at))
        co_sellers: dict[int, list[int]] = {}
        pairs = DealCoSeller.objects.filter(deal_id__in=ids).order_by("deal_id", "partner_id")
        for deal_id, partner_id in pairs.values_list("deal_id", "partner_id"):
            co_sellers.setdefault(deal_id, []).append(partner_id)
    return {
        pk: DealState(
            partner_id=partner_id,
            currency=currency,
            amount=amount,
            source=source,
            approval_status=status,
            registered_at=registered_at,
            closed_at=closed_at,
            stage_id=stage_id,
            stage_changed_at=stage_changed_at,
            history=tuple(history.get(pk, ())),
            co_sellers=tuple(co_sellers.get(pk, ())),
        )
        for (
            pk,
            partner_id,
            currency,
            amount,
            source,
            status,
            registered_at,
            closed_at,
            stage_id,
            stage_changed_at,
        ) in rows
    }


def partner_deal_states(
    workspace_id: int, *, partners: int = 200, chunk: int = 5_000
) -> Iterator[tuple[set[int], list[DealState]]]:
    """Every deal of the workspace, a block of partners at a time: (the block's partner ids, their deals),
    the deals read ``chunk`` at a time (bounded memory)."""
    with unscoped():
        partner_ids = sorted(
            set(
                Deal.objects.filter(workspace_id=workspace_id)
                .order_by()
                .values_list("partner_id", flat=True)
                .distinct()
            )
        )
    for start in range(0, len(partner_ids), partners):
        block = partner_ids[start : start + partners]
        with unscoped():
            ids = list(
                Deal.objects.filter(workspace_id=workspace_id, partner_id__in=block)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        states: list[DealState] = []
        for first in range(0, len(ids), chunk):
            states.extend(deal_states(workspace_id, ids[first : first + chunk]).values())
        yield set(block), states


def lock(workspace_id: int, *, exclusive: bool = False) -> None:
    """Writers share a lock that a rebuild takes exclusively (PostgreSQL; on SQLite every write
    transaction already excludes the others). Held until the transaction ends."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [_LOCK_NAMESPACE, workspace_id])


def _month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


Rows = dict[tuple[Any, ...], list[Number]]


def rows_of(change: Contributions) -> tuple[Rows, Rows, Rows]:
    """The table rows of the cells: (flows, stages, closes), keyed by each table's primary key without
    the workspace, values in column order: every cell goes to its day, its month and "since ever"."""
    day_grain, month_grain, ever_grain = int(RollupGrain.DAY), int(RollupGrain.MONTH), int(RollupGrain.EVER)
    months: dict[datetime.date, datetime.date] = {}
    flows: Rows = {}
    width = len(FLOW_COLUMNS)
    for (partner, currency, day, column), value in change.flows.items():
        month = months.get(day) or months.setdefault(day, day.replace(day=1))
        for key in (
            (day_grain, day, partner, currency),
            (month_grain, month, partner, currency),
            (ever_grain, ROLLUP_EVER, partner, currency),
        ):
            row = flows.get(key)
            if row is None:
                row = flows[key] = [0] * width
            row[column] += value
    stages: Rows = {}
    for (partner, currency, stage, day, column), value in change.stages.items():
        month = months.get(day) or months.setdefault(day, day.replace(day=1))
        for stage_key in (
            (day_grain, day, partner, currency, stage),
            (month_grain, month, partner, currency, stage),
            (ever_grain, ROLLUP_EVER, partner, currency, stage),
        ):
            row = stages.get(stage_key)
            if row is None:
                row = stages[stage_key] = [0, 0, 0]
            row[column] += value
    closes: Rows = {
        (day, partner, currency, days): [n] for (partner, currency, day, days), n in change.closes.items()
    }
    return flows, stages, closes


_TABLES: tuple[tuple[type[models.Model], tuple[str, ...], tuple[str, ...]], ...] = (
    (DealDayRollup, ("grain", "day", "partner_id", "currency"), FLOW_COLUMNS),
    (DealStageRollup, ("grain", "day", "partner_id", "currency", "stage_id"), STAGE_COLUMNS),
    (DealCloseDays, ("day", "partner_id", "currency", "days"), ("count",)),
)


def _adapter() -> Any:
    """A converter of key and column values to what this database takes (dates and decimals as the
    ORM writes them on SQLite; PostgreSQL's driver takes them as they are)."""
    if connection.vendor == "postgresql":
        return lambda value: value
    ops = connection.ops
    adapt_day, adapt_decimal = ops.adapt_datefield_value, ops.adapt_decimalfield_value
    days: dict[datetime.date, Any] = {}

    def adapt(value: Any) -> Any:
        kind = type(value)
        if kind is int or kind is str:
            return value
        if kind is datetime.date:
            found = days.get(value)
            return found if found is not None else days.setdefault(value, adapt_day(value))
        return adapt_decimal(value, 20, 2)

    return adapt


def apply(workspace_id: int, change: Contributions) -> None:
    """Add the change to the rollups (inside the caller's transaction); rows left all zero are removed."""
    if not change:
        return
    lock(workspace_id)
    quote = connection.ops.quote_name
    for (model, keys, columns), rows in zip(_TABLES, rows_of(change), strict=True):
        rows = {key: values for key, values in rows.items() if any(values)}
        if not rows:
            continue
        table = quote(model._meta.db_table)
        names = ["workspace_id", *keys, *columns]
        key_sql = ", ".join(quote(n) for n in ["workspace_id", *keys])
        update = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in columns)
        query = (
            f"INSERT INTO {table} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(names))}) ON CONFLICT ({key_sql}) DO UPDATE SET {update}"
        )
        ordered = sorted(rows.items(), key=lambda item: tuple(map(str, item[0])))  # a fixed lock order
        adapt = _adapter()
        params = [[workspace_id, *map(adapt, key), *map(adapt, values)] for key, values in ordered]
        # Amounts: SQLite adds decimals as floats, whose sums of opposites may leave a residue.
        zero = " AND ".join(
            f"ABS({quote(c)}) < 0.005" if c.endswith("amount") else f"{quote(c)} = 0" for c in columns
        )
        days = sorted({adapt(key[keys.index("day")]) for key in rows})
        partners = sorted({key[keys.index("partner_id")] for key in rows})
        # The touched partners lead (the partner index): not a scan of the workspace's rows per write.
        where = f"workspace_id = %s AND partner_id IN ({', '.join(['%s'] * len(partners))})"
        where_params: list[Any] = [workspace_id, *partners]
        if "grain" in keys:
            grains = sorted({key[keys.index("grain")] for key in rows})
            where += f" AND grain IN ({', '.join(['%s'] * len(grains))})"
            where_params.extend(grains)
        with connection.cursor() as cursor:
            cursor.executemany(query, params)
            cursor.execute(
                f"DELETE FROM {table} WHERE {where} AND {zero} "  # noqa: S608
                f"AND day IN ({', '.join(['%s'] * len(days))})",
                [*where_params, *days],
            )


def insert(workspace_id: int, change: Contributions) -> int:
    """Write the rows of ``change`` into empty rollups (a rebuild): COPY on PostgreSQL, ``executemany``
    on SQLite. Returns the rows written."""
    quote = connection.ops.quote_name
    written = 0
    for (model, keys, columns), rows in zip(_TABLES, rows_of(change), strict=True):
        table = quote(model._meta.db_table)
        names = ["workspace_id", *keys, *columns]
        data = [[workspace_id, *key, *values] for key, values in sorted(rows.items()) if any(values)]
        written += len(data)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(
                    f"COPY {table} ({', '.join(quote(n) for n in names)}) FROM STDIN"
                ) as copy:
                    for row in data:
                        copy.write_row(row)
            else:
                adapt = _adapter()
                marks = ", ".join(["%s"] * len(names))
                query = f"INSERT INTO {table} ({', '.join(quote(n) for n in names)}) VALUES ({marks})"  # noqa: S608
                for start in range(0, len(data), 10_000):
                    cursor.executemany(query, [[*map(adapt, row)] for row in data[start : start + 10_000]])
    return written


def clear(workspace_id: int) -> None:
    """Delete the workspace's rollup rows (one statement per table)."""
    with connection.cursor() as cursor:
        for model, _, _ in _TABLES:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace_id])  # noqa: S608


def table_rows(workspace_id: int) -> dict[str, dict[tuple[Any, ...], tuple[Number, ...]]]:
    """Every row of the workspace's rollups by table (for comparing increments with a rebuild)."""
    out: dict[str, dict[tuple[Any, ...], tuple[Number, ...]]] = {}
    with unscoped():
        for model, keys, columns in _TABLES:
            values = model._default_manager.filter(workspace_id=workspace_id).values_list(*keys, *columns)
            out[model._meta.model_name or ""] = {
                tuple(row[: len(keys)]): tuple(row[len(keys) :]) for row in values
            }
    return out
