"""The accrual's bookkeeping reads: which sources were evaluated already (their key stems in the ledger)
and which wait for an exchange rate (``AccrualWaiting``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.db import connection

from openprm.commissions.models import AccrualWaiting, LedgerEntry
from openprm.commissions.services import sources as src

KIND = LedgerEntry.Kind


def waiting_ids(workspace_id: int, kind: str) -> set[int]:
    rows = AccrualWaiting.objects.filter(workspace_id=workspace_id, source_kind=kind)
    return set(rows.values_list("source_id", flat=True).order_by())


def update_waiting(workspace_id: int, seen: list[src.Source], result: Any, now: datetime.datetime) -> None:
    """Sources evaluated now leave the waiting list; those skipped for a missing rate join it."""
    gone: dict[str, set[int]] = defaultdict(set)
    if not result.waiting and not AccrualWaiting.objects.filter(workspace_id=workspace_id).exists():
        return  # the usual case: nothing waits, nothing to clear (no delete over every id)
    for s in seen:
        if (s.kind, s.id) not in result.waiting:
            gone[s.kind].add(s.id)
    for kind, ids in gone.items():
        AccrualWaiting.objects.filter(workspace_id=workspace_id, source_kind=kind, source_id__in=ids).delete()
    if result.waiting:
        AccrualWaiting.objects.bulk_create(
            [
                AccrualWaiting(workspace_id=workspace_id, source_kind=k, source_id=i, reason=why, since=now)
                for (k, i), why in result.waiting.items()
            ],
            ignore_conflicts=True,
        )


def evaluated_keys(workspace_id: int, todo: list[src.Source]) -> set[tuple[str, int | None, str]]:
    by_kind: dict[str, set[int]] = defaultdict(set)
    for s in todo:
        by_kind[s.kind].add(s.id)
    done: set[tuple[str, int | None, str]] = set()
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    for kind, ids in by_kind.items():
        ordered = sorted(ids)
        for i in range(0, len(ordered), 50_000):
            part = ordered[i : i + 50_000]
            if connection.vendor == "postgresql":  # one array parameter, not thousands of placeholders
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT DISTINCT source_kind, source_id, source_event FROM {table}"  # noqa: S608
                        " JOIN unnest(%s::bigint[]) AS wanted(id) ON source_id = wanted.id"
                        " WHERE workspace_id = %s AND source_kind = %s"
                        " AND kind NOT IN ('reversal', 'clawback')",
                        [part, workspace_id, kind],
                    )
                    done.update(cursor.fetchall())
                continue
            done.update(
                LedgerEntry.objects.filter(workspace_id=workspace_id, source_kind=kind, source_id__in=part)
                .exclude(kind__in=[KIND.REVERSAL, KIND.CLAWBACK])
                .values_list("source_kind", "source_id", "source_event")
                .distinct()
                .order_by()
            )
    return done
