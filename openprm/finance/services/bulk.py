"""Batch writes of exchange rates: the ECB file import (``integrations.services.fx``), at the scale of the
full history (some 6,900 days × 41 currencies ≈ 212,000 rates).

The rules are those of ``services.fx`` (the one check, ``fx_rates_check``: all or nothing, a changed rate
refused unless overwrite, the same rates again change nothing); what differs is how they are written:

- each rate is checked once (``fx_rates_check`` plans the writes; ``fx_rates_write`` carries them out
  without checking again), against the stored rates read as plain values;
- new rates are appended with ``core.bulk.FastTable`` (COPY on PostgreSQL, ``executemany`` on SQLite),
  replaced ones updated by one ``executemany``; the runner ANALYZEs the table after a large import;
- the import has ONE audit entry (``fx_import_audit``), not one per rate: the counts, the days (first,
  last, how many), the currencies, and every replaced rate listed compactly by pair as ``[day, before,
  after]`` — so each changed rate stays auditable.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.bulk import FastTable, uuid4_hex
from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.finance.models import FxRate
from openprm.finance.services.fx import Planned, rate_text, rates_changed, require_fx_writer

IMPORT_OBJECT = "finance.fximport"
"""The audit entries' ``object_type`` of rate imports (each import its own ``object_id``)."""


@dataclass
class FxImportSummary:
    """What an import wrote, gathered batch by batch for its one audit entry."""

    source: str
    file: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    first_day: datetime.date | None = None
    last_day: datetime.date | None = None
    days: set[datetime.date] = field(default_factory=set)
    currencies: set[str] = field(default_factory=set)
    replaced: dict[str, list[list[str]]] = field(default_factory=dict)  # "EUR→GBP": [[day, before, after]]

    def add(
        self,
        planned: Sequence[Planned],
        *,
        unchanged: int,
        days: Iterable[datetime.date],
        currencies: Iterable[str],
    ) -> None:
        """A batch written: its writes, how many of its rates were already stored, its days and codes."""
        self.unchanged += unchanged
        self.days.update(days)
        self.currencies.update(currencies)
        for plan in planned:
            day, base, quote = plan.key
            if plan.stored is None:
                self.created += 1
            else:
                self.updated += 1
                self.replaced.setdefault(f"{base}→{quote}", []).append(
                    [day.isoformat(), rate_text(plan.stored.rate), rate_text(plan.rate)]
                )
        if self.days:
            self.first_day, self.last_day = min(self.days), max(self.days)


def fx_rates_write(*, actor: Actor, planned: Sequence[Planned], source: str) -> None:
    """Carry out writes planned by ``fx_rates_check`` (checked then, not again): appends by COPY or
    executemany, replacements by one executemany. Runs inside the caller's transaction; a rate another
    transaction stored meanwhile raises IntegrityError (the import is then refused, nothing written)."""
    require_fx_writer(actor)
    rates_changed(actor.workspace_id)
    now = timezone.now()
    creates = [p for p in planned if p.stored is None]
    updates = [p for p in planned if p.stored is not None]
    if creates:
        table = FastTable(
            FxRate,
            [
                "public_id",
                "workspace_id",
                "day",
                "base",
                "quote",
                "rate",
                "source",
                "created_by_id",
                "created_at",
                "updated_at",
            ],
        )
        workspace, user = actor.workspace_id, actor.user_id
        with unscoped():
            table.insert(
                [
                    [uuid4_hex(), workspace, p.key[0], p.key[1], p.key[2], p.rate, source, user, now, now]
                    for p in creates
                ]
            )
    if updates:
        quote = connection.ops.quote_name
        sql = (
            f"UPDATE {quote(FxRate._meta.db_table)} SET rate = %s, source = %s, updated_at = %s "  # noqa: S608
            "WHERE id = %s"
        )
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.executemany(
                sql, [[p.rate, source, stamp, p.stored.id] for p in updates if p.stored is not None]
            )


def fx_import_audit(*, actor: Actor, summary: FxImportSummary) -> AuditEntry | None:
    """The import's one audit entry (none when it changed nothing: re-importing a file is a no-op)."""
    if not (summary.created or summary.updated):
        return None
    days = len(summary.days)
    span = f"{summary.first_day}…{summary.last_day}" if days > 1 else f"{summary.first_day}"
    label = (
        f"{summary.source.upper()} rates import{f' {summary.file}' if summary.file else ''}: "
        f"{summary.created:,} added, {summary.updated:,} replaced, {summary.unchanged:,} unchanged "
        f"({days:,} days {span}, {len(summary.currencies)} currencies)"
    )
    after: dict[str, Any] = {
        "source": summary.source,
        "file": summary.file,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "days": {
            "count": days,
            "first": summary.first_day.isoformat() if summary.first_day else None,
            "last": summary.last_day.isoformat() if summary.last_day else None,
        },
        "currencies": sorted(summary.currencies),
        "replaced": {pair: sorted(rows) for pair, rows in sorted(summary.replaced.items())},
    }
    entry = AuditEntry(
        workspace_id=actor.workspace_id,
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=AuditEntry.Action.UPDATE if summary.updated else AuditEntry.Action.CREATE,
        object_type=IMPORT_OBJECT,
        object_id=uuid.uuid4(),
        object_repr=label[:300],
        changes={key: {"before": None, "after": value} for key, value in after.items()},
    )
    entry.save()
    return entry


__all__ = ["IMPORT_OBJECT", "FxImportSummary", "fx_import_audit", "fx_rates_write"]
