"""Period close: freeze a month's figures (and the quarter or year it ends) so they never change after.

Closing a month (``prm metrics close --period YYYY-MM``, the monthly job on the 1st, the API) computes every
formula of the catalog for every partner with the parameters in effect (``metrics.parameters``), and
stores per partner the values and the inputs they came from (``MetricSnapshot``), plus, on the
``PeriodClose`` row, the parameters, which inputs the workspace had, and the values and inputs of all
partners together. A month ending a quarter (or the year) closes that quarter (and year) too.

A closed period is then served from its snapshot (:func:`closed_table`, called by ``metrics.figures``):

* a partner's values are the stored ones;
* a set's values are the stored totals when the set is every snapshotted partner, else the formulas over
  the set's stored inputs, aggregated (sums; the latest day of ``last:`` inputs; the mean tenure; the
  workspace-level inputs as they are; a median over a subset cannot be rebuilt and reads as none);
* data arriving later (a deal won late, an event back-dated into the month) changes the live figures,
  not these: where the live value (with the period's own parameters) differs, it is returned next to the
  closed one as a late adjustment (``Value.late``), never folded in;
* an admin may reopen a period (audited, with a reason): it is then computed live again, and closing it
  once more takes the late data in. Reopening a month reopens the closed quarter and year holding it.

A parameter version effective in a closed period is refused (``metrics.services.parameter_add``) unless
the period is reopened first.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.audit import audit_record
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.metrics import engine
from openprm.metrics.engine import TOTAL, Raw, Source
from openprm.metrics.kpis import FORMULAS
from openprm.metrics.models import MetricSnapshot, PeriodClose, PeriodStatus
from openprm.metrics.parameters import params_at
from openprm.metrics.periods import Grain, Period, parse_period
from openprm.metrics.sources import SOURCES, WORKSPACE_LEVEL
from openprm.partners.filters import PartnerFilters, partner_filter
from openprm.partners.models import Partner

CLOSABLE = (Grain.MONTH, Grain.QUARTER, Grain.YEAR)
SAME_FOR_ALL = (*WORKSPACE_LEVEL, "csat.direct.sum", "csat.direct.count")


class PeriodError(ValueError):
    """A period that cannot be closed or reopened as asked (the message says why)."""


# --------------------------------------------------------------------------------------------- encoding


def encode(value: Raw) -> Any:
    """A value as stored in JSON: Decimals as strings, days as "@YYYY-MM-DD", numbers as they are."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return "@" + value.isoformat()
    return value


def decode(value: Any) -> Raw:
    if isinstance(value, str):
        if value.startswith("@"):
            return datetime.date.fromisoformat(value[1:])
        return Decimal(value)
    return value


def _encode_all(values: Mapping[str, Raw]) -> dict[str, Any]:
    return {name: encode(value) for name, value in values.items()}


def _decode_all(values: Mapping[str, Any]) -> dict[str, Raw]:
    return {name: decode(value) for name, value in values.items()}


def same(a: Raw, b: Raw) -> bool:
    """Whether two values are the same figure (1 and Decimal("1.00") are)."""
    if a is None or b is None:
        return a is b
    if isinstance(a, datetime.date) or isinstance(b, datetime.date):
        return a == b
    return Decimal(str(a)) == Decimal(str(b))


# --------------------------------------------------------------------------------------------- closing


def _periods_closed_with(month: Period) -> list[Period]:
    """The month, then the quarter and year it ends."""
    found = [month]
    quarter = Period.quarter_of(month.start)
    if quarter.end == month.end:
        found.append(quarter)
    if month.start.month == 12:
        found.append(Period.year(month.start.year))
    return found


def _containers(period: Period) -> list[Period]:
    """The longer closable periods holding ``period`` (its quarter and year)."""
    found = []
    if period.grain == Grain.MONTH:
        found.append(Period.quarter_of(period.start))
    if period.grain in (Grain.MONTH, Grain.QUARTER):
        found.append(Period.year(period.start.year))
    return found


def _all_partner_ids(actor: Actor) -> list[int]:
    queryset = partner_filter(Partner.objects.all(), actor=actor, filters=PartnerFilters())
    return sorted(queryset.order_by().values_list("pk", flat=True))


def _available(workspace_id: int, params: Mapping[str, Any]) -> set[str]:
    wanted: dict[Source, set[str]] = {}
    for formula in FORMULAS.values():
        for name in formula.names(params):
            wanted.setdefault(engine._source_of(name, SOURCES), set()).add(name)
    found: set[str] = set()
    for source, names in wanted.items():
        found |= set(source.available(workspace_id, names))
    return found


def _snapshot(actor: Actor, period: Period, record: PeriodClose) -> None:
    """Compute every formula for every partner over ``period`` and store it on ``record``."""
    workspace_id = actor.workspace_id
    params = dict(params_at(workspace_id, period.start))
    ids = _all_partner_ids(actor)
    table = engine.compute(
        workspace_id=workspace_id,
        formulas=FORMULAS,
        partner_ids=ids,
        period=period,
        params=params,
        sources=SOURCES,
    )
    record.params = params
    record.available = sorted(_available(workspace_id, params))
    record.totals = {key: encode(v.value) for key, v in table.rows[TOTAL].items()}
    record.total_inputs = _encode_all(table.inputs.get(TOTAL, {}))
    record.partners = len(ids)
    record.save()
    record.snapshots.all().delete()
    MetricSnapshot.objects.bulk_create(
        [
            MetricSnapshot(
                workspace_id=workspace_id,
                close=record,
                partner_id=partner_id,
                period=record.period,
                values={key: encode(v.value) for key, v in table.rows[partner_id].items()},
                inputs=_encode_all(table.inputs.get(partner_id, {})),
            )
            for partner_id in ids
        ],
        batch_size=1000,
    )


def _require_admin(actor: Actor) -> None:
    if not actor.can(Perm.WORKSPACE_ADMIN) or actor.is_partner_user or actor.owned_only:
        raise PermissionDenied("Only workspace admins close and reopen periods.")


def _month(text: str) -> Period:
    try:
        period = parse_period(text)
    except ValueError as error:
        raise PeriodError(str(error)) from None
    if period.grain != Grain.MONTH:
        raise PeriodError(f"{text!r}: close a month, written YYYY-MM (its quarter and year follow).")
    return period


def today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def period_close(*, actor: Actor, period: str, on: datetime.date | None = None) -> list[PeriodClose]:
    """Close the month ``period`` (YYYY-MM) once it has ended, with the quarter and year it ends and the
    containers reopened for it; a period already closed is left as it is (idempotent). Returns the
    periods closed now."""
    _require_admin(actor)
    month = _month(period)
    if month.end >= (on or today()):
        raise PeriodError(f"{month.key} has not ended yet: a month closes from the day after its end.")
    closed: list[PeriodClose] = []
    with transaction.atomic():
        existing = {
            c.period: c
            for c in PeriodClose.objects.select_for_update().filter(
                workspace_id=actor.workspace_id,
                period__in=[p.key for p in (month, *_containers(month))],
            )
        }
        candidates = _periods_closed_with(month)
        candidates += [
            p
            for p in _containers(month)
            if p not in candidates and p.key in existing and existing[p.key].status == PeriodStatus.REOPENED
        ]
        for target in candidates:
            record = existing.get(target.key)
            if record is not None and record.status == PeriodStatus.CLOSED:
                continue
            created = record is None
            if record is None:
                record = PeriodClose(workspace_id=actor.workspace_id, period=target.key)
            record.start, record.end = target.start, target.end
            record.status = PeriodStatus.CLOSED
            record.closed_at = timezone.now()
            record.closed_by_id = actor.user_id
            _snapshot(actor, target, record)
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
                instance=record,
                before=None if created else {"status": PeriodStatus.REOPENED},
                after={"status": PeriodStatus.CLOSED, "period": target.key, "partners": record.partners},
            )
            closed.append(record)
    return closed


def period_reopen(*, actor: Actor, period: str, reason: str) -> list[PeriodClose]:
    """Reopen a closed period (admins only, with a reason; audited), and the closed quarter and year that
    hold it: it is computed live again until closed once more. Returns the periods reopened."""
    _require_admin(actor)
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise PeriodError("Say why the period is reopened.")
    try:
        target = parse_period(period)
    except ValueError as error:
        raise PeriodError(str(error)) from None
    keys = [target.key, *(p.key for p in _containers(target))]
    with transaction.atomic():
        records = list(
            PeriodClose.objects.select_for_update().filter(
                workspace_id=actor.workspace_id, period__in=keys, status=PeriodStatus.CLOSED
            )
        )
        if target.key not in {r.period for r in records}:
            raise PeriodError(f"{target.key} is not closed.")
        for record in records:
            record.status = PeriodStatus.REOPENED
            record.reopened_at = timezone.now()
            record.reopened_by_id = actor.user_id
            record.reopen_reason = reason[:2000]
            record.save(update_fields=["status", "reopened_at", "reopened_by", "reopen_reason", "updated_at"])
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                instance=record,
                before={"status": PeriodStatus.CLOSED},
                after={"status": PeriodStatus.REOPENED, "reason": record.reopen_reason},
            )
    return records


def close_previous_month(workspace_id: int, *, on: datetime.date | None = None) -> int:
    """The monthly job: close last month unless it was ever closed (a reopened month stays open until an
    admin closes it again). Returns how many periods it closed."""
    day = on or today()
    month = Period.month_of(day.replace(day=1) - datetime.timedelta(days=1))
    if PeriodClose.objects.filter(workspace_id=workspace_id, period=month.key).exists():
        return 0
    return len(
        period_close(actor=Actor.system(workspace_id, label="monthly close"), period=month.key, on=day)
    )


# --------------------------------------------------------------------------------------------- reading


def closed_record(workspace_id: int, period: Period) -> PeriodClose | None:
    """The closed period ``period`` is, if any (a month, quarter or year only)."""
    if period.grain not in CLOSABLE:
        return None
    return PeriodClose.objects.filter(
        workspace_id=workspace_id, period=period.key, status=PeriodStatus.CLOSED
    ).first()


def closed_keys(workspace_id: int, periods: Iterable[Period]) -> set[str]:
    keys = [p.key for p in periods if p.grain in CLOSABLE]
    return set(
        PeriodClose.objects.filter(
            workspace_id=workspace_id, period__in=keys, status=PeriodStatus.CLOSED
        ).values_list("period", flat=True)
    )


def _aggregate_inputs(rows: Sequence[Mapping[str, Raw]], stored_total: Mapping[str, Raw]) -> dict[str, Raw]:
    """The inputs of a subset of partners from theirs, as the sources aggregate them."""
    names = {name for row in rows for name in row}
    total: dict[str, Raw] = {}
    for name in names:
        values = [row[name] for row in rows if row.get(name) is not None]
        if name in SAME_FOR_ALL:
            total[name] = stored_total.get(name)
        elif name.startswith("median:"):
            total[name] = None
        elif name.startswith("last:"):
            days = [v for v in values if isinstance(v, datetime.date)]
            total[name] = max(days, default=None)
        elif name == "partner.tenure_days":
            numbers = [Decimal(str(v)) for v in values]
            total[name] = statistics.mean(numbers) if numbers else None
        else:
            total[name] = sum((Decimal(str(v)) for v in values), Decimal(0))
    return total


def closed_table(
    *,
    record: PeriodClose,
    formulas: Mapping[str, engine.Formula],
    partner_ids: Sequence[int],
    period: Period,
    totals: bool = True,
) -> engine.Table:
    """The values of ``formulas`` for ``partner_ids`` over closed ``period`` from its snapshot, each with
    the late adjustment (the live value with the period's parameters) where late data changed it."""
    workspace_id = record.workspace_id
    snapshots = {
        s.partner_id: s
        for s in MetricSnapshot.objects.filter(
            workspace_id=workspace_id, close=record, partner_id__in=list(partner_ids)
        ).only("partner_id", "values", "inputs")
    }
    stored_inputs = {pid: _decode_all(s.inputs) for pid, s in snapshots.items()}
    stored_total = _decode_all(record.total_inputs)
    every = set(partner_ids) == set(snapshots) and len(snapshots) == record.partners

    def fetch(
        ws: int, ids: Sequence[int], p: Period, names: set[str], params: Mapping[str, Any]
    ) -> dict[int, dict[str, Raw]]:
        out: dict[int, dict[str, Raw]] = {pid: dict(values) for pid, values in stored_inputs.items()}
        out[TOTAL] = (
            dict(stored_total) if every else _aggregate_inputs(list(stored_inputs.values()), stored_total)
        )
        return out

    available = set(record.available)
    source = Source("snapshot", ("",), fetch, lambda ws, names: names & available)
    frozen = engine.compute(
        workspace_id=workspace_id,
        formulas=formulas,
        partner_ids=partner_ids,
        period=period,
        params=record.params,
        sources=[source],
        totals=totals,
    )
    for partner_id, snapshot in snapshots.items():
        row = frozen.rows[partner_id]
        for key in formulas:
            if key in snapshot.values and row[key].available:
                row[key] = replace(row[key], value=decode(snapshot.values[key]))
    if totals and every:
        for key in formulas:
            value = frozen.rows[TOTAL][key]
            if key in record.totals and value.available:
                frozen.rows[TOTAL][key] = replace(value, value=decode(record.totals[key]))
    live = engine.compute(
        workspace_id=workspace_id,
        formulas=formulas,
        partner_ids=partner_ids,
        period=period,
        params=record.params,
        sources=SOURCES,
        totals=totals,
    )
    for key_id, row in frozen.rows.items():
        for key, value in row.items():
            now = live.value(key_id, key)
            if not same(value.value, now.value):
                row[key] = replace(value, late=now.value, adjusted=True)
    return frozen
