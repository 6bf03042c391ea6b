"""Each condition kind judged for a rule's partners or records: ``True`` (met), ``False``, or ``None`` (no
data), with the values that say why. Figures come only from the metric engine (``metrics.figures``),
read by :class:`Figures` — one ``metric_table`` per (period, partner set) for every rule of a cycle —
and the records (deals, agreements, conflicts) from their apps' models in one query per condition."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from openprm.alerts import conditions as c
from openprm.core.actors import Actor
from openprm.deals.models import ApprovalStatus, ConflictStatus, Deal, DealConflict
from openprm.deals.selectors.deals import IN_PIPELINE, open_stage_ids, stalled_q
from openprm.metrics import figures
from openprm.metrics.catalog import metric
from openprm.metrics.engine import Table, Value
from openprm.metrics.periods import Period
from openprm.partners.filters import PartnerFilters, partner_filter
from openprm.partners.models import AgreementStatus, Partner, PartnerProgram
from openprm.partners.selectors.agreements import agreement_list
from openprm.scorecards import scoring
from openprm.scorecards.filters import TargetFilters
from openprm.scorecards.selectors.targets import target_list

INACTIVITY_WINDOW = 365  # days of history an inactivity condition reads (older: "none in a year")
Result = tuple[bool | None, dict[str, Any]]


def plain(value: Any) -> Any:
    """JSON-safe: decimals as strings, dates as ISO days."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def number(value: Value) -> Decimal | None:
    raw = value.value
    if raw is None or isinstance(raw, datetime.date):
        return None
    return raw if isinstance(raw, Decimal) else Decimal(str(raw))


def filters_key(rule_filters: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in sorted((rule_filters or {}).items()) if v}, sort_keys=True)


def partner_filters(key: str) -> PartnerFilters:
    return PartnerFilters.from_mapping(json.loads(key))


# --------------------------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """The metric tables of one evaluation cycle: every (partner set, period) read once, for all the keys
    the cycle's rules need there (``want`` first, then ``fetch``)."""

    actor: Actor
    today: datetime.date
    wanted: dict[tuple[str, Period], set[str]] = field(default_factory=lambda: defaultdict(set))
    tables: dict[tuple[str, Period], Table] = field(default_factory=dict)
    partners: dict[str, list[int]] = field(default_factory=dict)
    calls: int = 0

    def want(self, fkey: str, conditions: c.Conditions) -> None:
        for cond in conditions.items:
            for period, key in periods_of(cond, self.today):
                self.wanted[(fkey, period)].add(key)
        if fkey not in self.partners:
            self.partners[fkey] = figures.partner_ids(actor=self.actor, filters=partner_filters(fkey))

    def fetch(self) -> None:
        for (fkey, period), keys in self.wanted.items():
            if (fkey, period) in self.tables:
                continue
            self.tables[(fkey, period)] = figures.metric_table(
                actor=self.actor,
                keys=sorted(keys),
                period=period,
                partners=self.partners[fkey],
                totals=False,
            )
            self.calls += 1

    def partner_query(self, fkey: str) -> QuerySet[Any]:
        """The ids of the partner set as a subquery (the same partners as ``partners[fkey]``): a filter
        on thousands of listed ids took longer to build and plan than the record queries to run."""
        found = partner_filter(Partner.objects.all(), actor=self.actor, filters=partner_filters(fkey))
        return found.order_by().values("pk")

    def value(self, fkey: str, period: Period, partner_id: int, key: str) -> Value:
        return self.tables[(fkey, period)].value(partner_id, key)


def periods_of(cond: Any, today: datetime.date) -> list[tuple[Period, str]]:
    """The (period, metric) pairs a metric condition reads; none for record conditions."""
    if isinstance(cond, c.Threshold):
        return [(c.current_period(cond.grain, cond.days, today), cond.metric)]
    if isinstance(cond, c.TargetDeviation):
        return [(c.current_period(cond.grain, 0, today), cond.metric)]
    if isinstance(cond, c.Change):
        base = cond.baseline_periods if cond.against == "baseline" else None
        current, earlier = c.change_periods(cond.grain, cond.days, today, base)
        return [(p, cond.metric) for p in (current, *earlier)]
    if isinstance(cond, c.Inactivity):
        return [(Period.last(INACTIVITY_WINDOW, end=today), cond.metric)]
    return []


# ------------------------------------------------------------------------------------- metric conditions

COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _head(cond: Any, period: Period) -> dict[str, Any]:
    return {
        "kind": cond.kind,
        "metric": cond.metric,
        "label": metric(cond.metric).label,
        "period": period.key,
    }


@dataclass(frozen=True, slots=True)
class Judge:
    """A metric condition judged for the partners of a rule's set, built once per rule and cycle
    (periods, tables, the values' fixed part): ``met`` answers alone — most partners of most rules
    neither meet the condition nor have an open alert, so their values are never built — and ``judged``
    gives the answer with the values that say why."""

    judged: Callable[[int], Result]
    fast: Callable[[int], bool | None] | None = None

    def met(self, pid: int) -> bool | None:
        return self.fast(pid) if self.fast is not None else self.judged(pid)[0]

    def values(self, pid: int) -> dict[str, Any]:
        met, values = self.judged(pid)
        return values | {"met": met}


def _cells(figs: Figures, fkey: str, period: Period, key: str) -> Callable[[int], Value]:
    """A partner's value of ``key`` in the cycle's table for (partner set, period)."""
    rows, empty = figs.tables[(fkey, period)].rows, Value(None)

    def cell(pid: int) -> Value:
        return rows.get(pid, {}).get(key) or empty

    return cell


def threshold(cond: c.Threshold, figs: Figures, fkey: str) -> Judge:
    period = c.current_period(cond.grain, cond.days, figs.today)
    cell, compare, limit = _cells(figs, fkey, period, cond.metric), COMPARE[cond.op], cond.value
    head = {**_head(cond, period), "op": cond.op, "threshold": plain(cond.value)}

    def judge(pid: int) -> Result:
        found = cell(pid)
        value = number(found)
        if value is None:
            return None, {**head, "value": None, "missing": found.missing or "no value"}
        return compare(value, limit), {**head, "value": plain(value)}

    def met(pid: int) -> bool | None:
        value = number(cell(pid))
        return None if value is None else compare(value, limit)

    return Judge(judge, met)


def change(cond: c.Change, figs: Figures, fkey: str) -> Judge:
    base_n = cond.baseline_periods if cond.against == "baseline" else None
    current, earlier = c.change_periods(cond.grain, cond.days, figs.today, base_n)
    head = {
        **_head(cond, current),
        "direction": cond.direction,
        "percent": plain(cond.percent),
        "against": cond.against,
        "compared_with": [p.key for p in earlier],
    }
    now_cell = _cells(figs, fkey, current, cond.metric)
    before_cells = [_cells(figs, fkey, p, cond.metric) for p in earlier]
    drop = cond.direction == "drop"

    def judge(pid: int) -> Result:
        found = now_cell(pid)
        now_value = number(found)
        before = [v for cell in before_cells if (v := number(cell(pid))) is not None]
        if now_value is None or not before:
            return None, {**head, "value": plain(now_value), "missing": found.missing or "no value"}
        base = sum(before, Decimal(0)) / len(before)
        values = {**head, "value": plain(now_value), "baseline": plain(round(base, 4))}
        if base == 0:
            return False, values  # nothing before: no drop, and a rise from nothing has no percent
        moved = (now_value - base) / abs(base) * 100
        values["change_percent"] = plain(round(moved, 1))
        return (-moved >= cond.percent if drop else moved >= cond.percent), values

    return Judge(judge)


def inactivity(cond: c.Inactivity, figs: Figures, fkey: str) -> Judge:
    period = Period.last(INACTIVITY_WINDOW, end=figs.today)
    cell, today = _cells(figs, fkey, period, cond.metric), figs.today
    head = {**_head(cond, period), "days": cond.days}

    def judge(pid: int) -> Result:
        found = cell(pid)
        if found.missing:
            return None, {**head, "missing": found.missing}
        last = found.value
        if not isinstance(last, datetime.date):
            return True, {**head, "last": None, "days_since": f"over {INACTIVITY_WINDOW}"}
        since = (today - last).days
        return since >= cond.days, {**head, "last": last.isoformat(), "days_since": since}

    def met(pid: int) -> bool | None:
        found = cell(pid)
        if found.missing:
            return None
        last = found.value
        return not isinstance(last, datetime.date) or (today - last).days >= cond.days

    return Judge(judge, met)


def targets_by_partner(
    actor: Actor,
    cond: c.TargetDeviation,
    today: datetime.date,
    partner_ids: Iterable[int],
    partners: QuerySet[Any] | None = None,
) -> dict[int, Decimal]:
    """Each partner's effective target for the metric and period: its own, else its tier's, else its
    program's (as the scorecards read them). ``partners``: the same ids as a subquery, to filter on."""
    period = c.current_period(cond.grain, 0, today)
    found = list(target_list(actor=actor, filters=TargetFilters(metric=cond.metric, period=period.key)))
    if not found:
        return {}
    by_tier = {t.tier_id: t.value for t in found if t.tier_id}
    by_program = {t.program_id: t.value for t in found if t.program_id}
    out: dict[int, Decimal] = {}
    wanted = set(partner_ids)
    if by_tier or by_program:
        among = wanted if partners is None else partners
        for pid, program_id, tier_id in PartnerProgram.objects.filter(partner_id__in=among).values_list(
            "partner_id", "program_id", "tier_id"
        ):
            if tier_id in by_tier:
                out[pid] = by_tier[tier_id]
            elif program_id in by_program and pid not in out:
                out[pid] = by_program[program_id]
    out |= {t.partner_id: t.value for t in found if t.partner_id and t.partner_id in wanted}
    return out


def target(cond: c.TargetDeviation, figs: Figures, fkey: str, goals: dict[int, Decimal]) -> Judge:
    period = c.current_period(cond.grain, 0, figs.today)
    cell = _cells(figs, fkey, period, cond.metric)
    head = {**_head(cond, period), "measure": cond.measure, "behind_percent": plain(cond.behind_percent)}
    lower, elapsed = scoring.lower_is_better(cond.metric), period.elapsed(figs.today)

    def judge(pid: int) -> Result:
        goal = goals.get(pid)
        if goal is None:
            return False, {**head, "target": None}  # no target: nothing to be behind
        value = number(cell(pid))
        values = {**head, "target": plain(goal), "value": plain(value)}
        if cond.measure == "attainment":
            reached = scoring.attainment(value, goal, lower=lower)
            if reached is None:
                return None, {**values, "missing": "no attainment"}
            behind = Decimal(100) - reached
            return behind >= cond.behind_percent, {**values, "attainment": plain(reached)}
        step = scoring.pace(value, goal, key=cond.metric, elapsed=elapsed)
        values |= {"pace": step.text, "expected": plain(step.expected)}
        if step.status == "no_value":
            return None, {**values, "missing": "no value yet"}
        return step.status == "behind" and (step.by or 0) >= cond.behind_percent, values

    return Judge(judge)


# ------------------------------------------------------------------------------------- record conditions


@dataclass(frozen=True)
class Record:
    partner_id: int
    subject: str  # "deal:<uuid>", "agreement:<uuid>", "conflict:<uuid>"
    label: str
    values: dict[str, Any]


def records(
    cond: Any, *, actor: Actor, now: datetime.datetime, partner_ids: Iterable[int] | QuerySet[Any]
) -> list[Record]:
    """The records a record condition finds now, among the rule's partners (ids, or a subquery of them;
    read as plain rows: a rule over every partner finds tens of thousands of deals)."""
    ids = partner_ids if isinstance(partner_ids, QuerySet) else set(partner_ids)
    out: list[Record] = []
    if isinstance(cond, c.AgreementExpiring):
        today = now.date()
        rows = agreement_list(actor=actor).filter(
            status__in=[AgreementStatus.ACTIVE, AgreementStatus.EXPIRING],
            auto_renew=False,
            end_date__gte=today,
            end_date__lte=today + datetime.timedelta(days=cond.days),
            partner_id__in=ids,
        )
        for public_id, title, end_date, partner_id, partner_name in rows.values_list(
            "public_id", "title", "end_date", "partner_id", "partner__name"
        ):
            assert end_date is not None  # filtered on it
            left = (end_date - today).days
            values = {"kind": cond.kind, "end_date": end_date.isoformat(), "days_left": left}
            values["within_days"] = cond.days
            out.append(Record(partner_id, f"agreement:{public_id}", f"{title} ({partner_name})", values))
        return out
    if isinstance(cond, c.ConflictWaiting):
        cutoff = now - datetime.timedelta(hours=cond.hours)
        conflicts = DealConflict.objects.filter(
            status=ConflictStatus.OPEN, detected_at__lte=cutoff, deal__partner_id__in=ids
        )
        for (
            public_id,
            detected_at,
            score,
            customer,
            partner_id,
            partner_name,
            other_name,
        ) in conflicts.values_list(
            "public_id",
            "detected_at",
            "score",
            "deal__customer_name",
            "deal__partner_id",
            "deal__partner__name",
            "other__partner__name",
        ):
            hours = int((now - detected_at).total_seconds() // 3600)
            values = {"kind": cond.kind, "detected_at": detected_at.isoformat(), "hours_waiting": hours}
            values |= {"limit_hours": cond.hours, "score": str(score)}
            label = f"{customer}: {partner_name} vs {other_name}"
            out.append(Record(partner_id, f"conflict:{public_id}", label, values))
        return out
    deals = Deal.objects.filter(partner_id__in=ids)
    if isinstance(cond, c.RegistrationPending):
        deals = deals.filter(approval_status=ApprovalStatus.SUBMITTED)
    elif isinstance(cond, c.RegistrationSla):
        deals = deals.filter(approval_status=ApprovalStatus.SUBMITTED, approval_due_at__lt=now)
    elif isinstance(cond, c.DealStalled):
        if cond.days:
            cutoff = now - datetime.timedelta(days=cond.days)
            deals = deals.filter(
                stage_id__in=open_stage_ids(), approval_status__in=IN_PIPELINE, stage_changed_at__lte=cutoff
            )
        else:
            deals = deals.filter(stalled_q(now))
    else:
        return out
    stalled = isinstance(cond, c.DealStalled)
    fields = ["public_id", "customer_name", "amount", "currency", "registered_at", "approval_due_at"]
    fields += ["stage_changed_at", "partner_id", "partner__name", "stage__name"]
    for (
        public_id,
        customer,
        amount,
        currency,
        registered_at,
        due_at,
        changed_at,
        pid,
        name,
        stage,
    ) in deals.order_by("registered_at", "id").values_list(*fields):
        values = {"kind": cond.kind, "customer": customer, "amount": str(amount)}
        values |= {"currency": currency, "registered_at": registered_at.isoformat()}
        if due_at:
            values["approval_due_at"] = due_at.isoformat()
        if stalled:
            values |= {"stage": stage, "days_in_stage": (now - changed_at).days}
        out.append(Record(pid, f"deal:{public_id}", f"{customer} ({name})", values))
    return out
